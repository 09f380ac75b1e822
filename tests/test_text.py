from ftd_tui.core.text.markdown import parse_markdown
from ftd_tui.core.text.textsafe import clean, clean_line
from ftd_tui.core.text.yamlpath import PathSyntaxError, format_path, parse_path
import pytest


def test_paths_round_trip():
    for text, path in [("criteria.CQ1.na_valid", ("criteria", "CQ1", "na_valid")),
                       ("taxonomy.topics[2].weight", ("taxonomy", "topics", 2, "weight")),
                       ('servers."api.example.com".port', ("servers", "api.example.com", "port")),
                       ("a[-1]", ("a", -1))]:
        assert parse_path(text) == path
        assert parse_path(format_path(path)) == path
    for bad in ("", "a..b", "a[x]", "a.", "a[1"):
        with pytest.raises(PathSyntaxError):
            parse_path(bad)


def test_clean_strips_terminal_controls():
    evil = "ok\x1b]52;c;ZXZpbA==\x07 \x1b[2J\x9b31m\u202eevil\x00\r"
    assert clean(evil) == "ok  31mevil" or "\x1b" not in clean(evil)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in clean(evil))
    assert clean_line("a\nb\tc") == "a b c"


def test_markdown_structure():
    md = parse_markdown("---\nchosen: x\n---\n\n# T\n\n## System Prompt\n\n```text\nhello {persona}\n```\n\n## User Prompt\n\n```\nu\n```\n")
    assert md.front_matter.data == {"chosen": "x"}
    s = md.section("system prompt")
    assert s.line == 7 and len(s.blocks) == 1 and s.blocks[0].content == "hello {persona}\n" and s.blocks[0].content_line == 10
    bad = parse_markdown("---\nchosen: [x\n---\nbody\n")
    assert bad.front_matter is None and bad.front_matter_error.line >= 2
