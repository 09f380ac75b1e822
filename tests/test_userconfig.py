"""The user's config file and folders: defaults, and a clear line for every mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ftd_tui.core.user.config import (
    UserConfig,
    cache_dir,
    config_dir,
    config_file,
    load_user_config,
    locations,
    state_dir,
)

ENV = ("FTD_CONFIG_DIR", "FTD_STATE_DIR", "FTD_CACHE_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """Point ftd at an empty config folder; returns a writer for config.yaml."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv("FTD_CONFIG_DIR", str(folder))

    def write(text: str) -> Path:
        path = folder / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --------------------------------------------------------------------------- folders


def test_folders_follow_ftd_variables_then_xdg_then_home(tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home/.config/ftd"
    assert state_dir() == tmp_path / "home/.local/state/ftd"
    assert cache_dir() == tmp_path / "home/.cache/ftd"

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xc"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xs"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xk"))
    assert (config_dir(), state_dir(), cache_dir()) == (tmp_path / "xc/ftd", tmp_path / "xs/ftd", tmp_path / "xk/ftd")

    monkeypatch.setenv("FTD_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("FTD_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("FTD_CACHE_DIR", str(tmp_path / "k"))
    assert (config_dir(), state_dir(), cache_dir()) == (tmp_path / "c", tmp_path / "s", tmp_path / "k")
    assert config_file() == tmp_path / "c/config.yaml"


def test_relative_or_empty_xdg_values_are_ignored(tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/path")  # the XDG spec says: invalid, ignore
    monkeypatch.setenv("XDG_STATE_HOME", "")
    assert config_dir() == tmp_path / ".config/ftd"
    assert state_dir() == tmp_path / ".local/state/ftd"


def test_locations(tmp_path, monkeypatch):
    monkeypatch.setenv("FTD_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("FTD_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("FTD_CACHE_DIR", str(tmp_path / "k"))
    assert locations() == {
        "config file": tmp_path / "c/config.yaml",
        "themes (user)": tmp_path / "c/themes",
        "state": tmp_path / "s",
        "drafts": tmp_path / "s/drafts",
        "crash reports": tmp_path / "s/crashes",
        "cache": tmp_path / "k",
    }


def test_module_is_pure():
    code = "import sys, ftd_tui.core.user.config; assert 'textual' not in sys.modules and 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# --------------------------------------------------------------------------- loading


def test_missing_file_gives_defaults_and_no_problems(cfg):
    assert load_user_config() == (UserConfig(), [])


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~\n"])
def test_empty_file_gives_defaults(cfg, text):
    cfg(text)
    assert load_user_config() == (UserConfig(), [])


def test_a_good_file(cfg):
    cfg(
        "# mine\n"
        "theme: ftd-light\n"
        "keymap:\n"
        "  save-artifact: \"ctrl+s, f2\"\n"
        "editor: nvim -p\n"
        "drafts: false\n"
        "draft_interval_s: 2.5\n"
        "review_theme: ftd-ansi-dark\n"
    )
    config, problems = load_user_config()
    assert problems == []
    assert config == UserConfig(theme="ftd-light", keymap={"save-artifact": "ctrl+s,f2"}, editor="nvim -p",
                                drafts=False, draft_interval_s=2.5, review_theme="ftd-ansi-dark")


def test_a_wrong_type_is_reported_with_line_and_column_and_the_rest_kept(cfg):
    path = cfg("editor: vim\ndrafts: false\ntheme: 3\n")
    config, problems = load_user_config()
    assert problems == [f"{path}:3:8: theme: Input should be a valid string"]
    assert config.theme is None  # the default
    assert config.editor == "vim" and config.drafts is False  # valid fields survive


def test_an_unknown_key_gets_a_did_you_mean(cfg):
    path = cfg("editor: vim\nthme: ftd-light\n")
    config, problems = load_user_config()
    assert problems == [f"{path}:2:1: unknown key 'thme' in the top level (did you mean 'theme'?)"]
    assert config.editor == "vim" and config.theme is None


def test_malformed_yaml_gives_a_located_message_and_defaults(cfg):
    path = cfg("theme: ftd-dark\nkeymap: {save-artifact: ctrl+s\n")
    config, problems = load_user_config()
    assert config == UserConfig()
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:3:1: ")


def test_a_keymap_entry_that_is_not_a_string(cfg):
    path = cfg("keymap:\n  save-artifact: ctrl+s\n  quit: 5\n  run-baseline: [f5]\n")
    config, problems = load_user_config()
    assert problems == [
        f"{path}:3:9: keymap.quit: Input should be a valid string",
        f"{path}:4:17: keymap.run-baseline: Input should be a valid string",
    ]
    assert config.keymap == {"save-artifact": "ctrl+s"}


def test_a_keymap_entry_that_is_not_a_key_list(cfg):
    path = cfg('keymap:\n  quit: "ctrl q"\n  save-artifact: "ctrl+s,,f2"\n')
    config, problems = load_user_config()
    assert problems[0] == f"{path}:2:9: keymap.quit: 'ctrl q' is not a key name; write keys like \"ctrl+s,f2\""
    assert problems[1].startswith(f"{path}:3:18: keymap.save-artifact: '' is not a key name")
    assert config.keymap == {}


def test_a_value_out_of_range(cfg):
    path = cfg("draft_interval_s: 0.01\n")
    config, problems = load_user_config()
    assert problems == [f"{path}:1:19: draft_interval_s: Input should be greater than or equal to 0.2"]
    assert config.draft_interval_s == 1.0


def test_top_level_must_be_a_mapping(cfg):
    path = cfg("- theme\n- ftd-dark\n")
    config, problems = load_user_config()
    assert config == UserConfig()
    assert problems == [f"{path}:1:1: expected a mapping of keys to values at the top level"]


def test_text_echoed_from_the_file_is_terminal_safe(cfg):
    # an OSC 52 sequence in a key would rewrite the clipboard if printed raw
    cfg('"\\e]52;c;aGk=\\a": 1\ntheme: "ftd\\e[31m-dark"\n')
    config, problems = load_user_config()
    assert len(problems) == 2
    assert all("\x1b" not in p and "\x07" not in p for p in problems)
    assert "theme: must not contain control characters" in problems[1]
    assert config.theme is None


def test_an_unreadable_file_is_a_message_not_a_crash(cfg, tmp_path):
    path = Path(cfg("theme: x\n"))
    path.unlink()
    path.mkdir()  # a folder where the file should be
    config, problems = load_user_config()
    assert config == UserConfig()
    assert problems == [f"{path}:1:1: is not a regular file; ignored"]


def test_not_utf8(cfg):
    path = Path(cfg(""))
    path.write_bytes(b"theme: caf\xe9\n")
    config, problems = load_user_config()
    assert config == UserConfig()
    assert problems[0].startswith(f"{path}:1:")
    assert "not UTF-8" in problems[0]
