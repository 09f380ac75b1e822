"""Theme files: loading, one message per bad file, and contrast that holds at 256 colours.

Contrast is WCAG 2.x: (L1 + 0.05) / (L2 + 0.05) on relative luminance. Body text must
reach 7:1 on the background (AAA) and everything that carries text 4.5:1 (AA), in
truecolor and again after rich reduces both colours to the 256-colour palette (SSH does
not forward COLORTERM, so many users see exactly that).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.color import Color as RichColor
from rich.color import ColorSystem as RichColorSystem
from textual.app import App
from textual.color import Color
from textual.theme import Theme
from textual.widgets import Footer, Input, Markdown, OptionList, Static

from ftd_tui.tui.themes import DEFAULT_THEME, builtin_theme_dir, load_themes, user_theme_dir

REPO = Path(__file__).resolve().parents[1]
# each built-in file is named after its theme
BUILTIN = sorted(p.stem for p in (REPO / "themes").glob("*.yaml"))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("FTD_CONFIG_DIR", str(tmp_path / "config"))


def _builtins() -> dict[str, Theme]:
    themes, problems = load_themes()
    assert problems == []
    return {t.name: t for t in themes}


def write_theme(name: str, text: str) -> Path:
    folder = user_theme_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "name: mine\nprimary: '#336699'\nbackground: '#101010'\n"

# --------------------------------------------------------------------------- loading


def test_every_builtin_theme_loads():
    assert builtin_theme_dir() == REPO / "themes"
    themes = _builtins()
    assert set(themes) == set(BUILTIN) == {"ftd-dark", "ftd-light", "ftd-ansi-dark", "ftd-ansi-light"}
    assert DEFAULT_THEME in themes
    for name, theme in themes.items():
        assert isinstance(theme, Theme)
        theme.to_color_system().generate()  # Textual can derive every variable from it
    assert themes["ftd-ansi-dark"].ansi and themes["ftd-ansi-light"].ansi
    assert not themes["ftd-light"].dark


def test_bad_files_are_skipped_with_one_located_message_each():
    write_theme("good.yaml", GOOD)
    malformed = write_theme("malformed.yaml", "name: broken\nprimary: [#336699\n")
    bad_colour = write_theme("colour.yaml", "name: colour\nprimary: '#336699'\nerror: not-a-colour\n")
    unknown = write_theme("unknown.yaml", "name: unknown\nprimary: '#336699'\nbackgroud: '#000000'\n")
    themes, problems = load_themes()
    names = {t.name for t in themes}
    assert "mine" in names and set(BUILTIN) <= names
    assert not names & {"broken", "colour", "unknown"}
    assert len(problems) == 3
    by_file = {p.split(":")[0]: p for p in problems}
    assert by_file[str(malformed)].startswith(f"{malformed}:3:1: ")
    assert by_file[str(bad_colour)] == (
        f"{bad_colour}:3:8: error: 'not-a-colour' is not a colour (use #rrggbb, rgb(r,g,b), a CSS name or ansi_*)"
    )
    assert by_file[str(unknown)] == (
        f"{unknown}:3:1: unknown key 'backgroud' in the top level (did you mean 'background'?)"
    )


def test_several_problems_in_one_file_make_one_message():
    path = write_theme("many.yaml", "name: many\nprimary: nope\nsuccess: nah\nwarning: 3\n")
    _, problems = load_themes()
    assert problems == [f"{path}:2:10: primary: 'nope' is not a colour (use #rrggbb, rgb(r,g,b), "
                        "a CSS name or ansi_*) (+2 more in this file)"]


def test_missing_required_keys_and_wrong_shapes():
    a = write_theme("a.yaml", "primary: '#336699'\n")
    b = write_theme("b.yaml", "- name\n")
    c = write_theme("c.yaml", "")
    _, problems = load_themes()
    assert sorted(problems) == sorted([
        f"{a}:1:1: name is required",
        f"{b}:1:1: expected a mapping of keys to values at the top level",
        f"{c}:1:1: is empty; a theme needs at least a name and a primary colour",
    ])


def test_bad_variables_are_located():
    path = write_theme("v.yaml", GOOD + "variables:\n  text-muted: '#808080 40%'\n  border: 'blue 2 3'\n"
                                        "  input-cursor-text-style: shiny\n")
    _, problems = load_themes()
    assert problems == [f"{path}:6:11: variables.border: 'blue 2 3' is not a colour with an optional percentage "
                        "(+1 more in this file)"]


def test_user_theme_replaces_builtin_and_duplicates_are_reported():
    write_theme("a.yaml", "name: ftd-dark\nprimary: '#ff0000'\n")
    dup = write_theme("b.yaml", "name: ftd-dark\nprimary: '#00ff00'\n")
    themes, problems = load_themes()
    assert [t.primary for t in themes if t.name == "ftd-dark"] == ["#ff0000"]
    assert problems == [f"{dup}:1:1: theme 'ftd-dark' is already defined by a.yaml; this file is skipped"]


def test_messages_never_carry_terminal_escapes():
    write_theme("esc.yaml", 'name: x\nprimary: "\\e]52;c;aGk=\\a"\n"\\e[2J": 1\n')
    _, problems = load_themes()
    assert len(problems) == 1 and "\x1b" not in problems[0] and "\x07" not in problems[0]


class Showcase(App):
    def compose(self):
        yield Input("text")
        yield OptionList("one", "two")
        yield Markdown("# Title\n\nBody with a [link](https://example.com).")
        yield Static("[$error]error[/] [$text-muted]muted[/] [$success]ok[/]")
        yield Footer()


def test_every_theme_applies_in_a_running_app_and_switches_both_ways():
    # Textual's CSS reads $ansi-background, which it only generates for non-ANSI
    # themes: a user ANSI theme without it must still apply (the loader fills it in).
    write_theme("my-ansi.yaml", "name: my-ansi\nansi: true\nprimary: ansi_blue\n")
    themes, problems = load_themes()
    assert problems == []

    async def go():
        app = Showcase()
        async with app.run_test(size=(80, 24)) as pilot:
            for theme in themes:
                app.register_theme(theme)
            order = [t.name for t in themes]
            for name in order + order[::-1]:
                app.theme = name
                await pilot.pause()
                assert app.theme == name
                assert app.native_ansi_color == app.current_theme.ansi

    asyncio.run(go())


# --------------------------------------------------------------------------- contrast


def luminance(c: Color) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def ratio(a: Color, b: Color) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def to_256(c: Color) -> Color:
    r, g, b = RichColor.parse(c.hex[:7]).downgrade(RichColorSystem.EIGHT_BIT).get_truecolor()
    return Color(r, g, b)


def resolve(value: str, under: Color) -> Color:
    """What the terminal receives for a CSS colour value drawn on ``under``:
    "auto 87%" is Textual's contrast text, "#rrggbbaa" and "name 50%" blend."""
    words = value.split()
    alpha = float(words[1].rstrip("%")) / 100 if len(words) > 1 else 1.0
    if words[0] == "auto":
        return under + under.get_contrast_text(alpha)
    colour = Color.parse(words[0])
    return under + colour.multiply_alpha(alpha)


TRUE_COLOUR = [n for n in BUILTIN if "ansi" not in n]
ANSI = [n for n in BUILTIN if "ansi" in n]


def pairs(theme: Theme) -> list[tuple[str, Color, Color, float]]:
    """(label, text, background, minimum) for everything a theme draws text with."""
    v = theme.to_color_system().generate()
    grounds = {k: Color.parse(v[k]) for k in ("background", "surface", "panel")}
    out = []
    for g, under in grounds.items():
        body = 7.0 if g == "background" else 4.5
        out.append((f"foreground/{g}", resolve(v["foreground"], under), under, body))
        out.append((f"$text/{g}", resolve(v["text"], under), under, body))
        for name in ("text-muted", "text-primary", "text-secondary", "text-accent",
                     "text-warning", "text-error", "text-success"):
            out.append((f"${name}/{g}", resolve(v[name], under), under, 4.5))
    # markup such as [$error] uses the raw colours on the screen background
    bg = grounds["background"]
    for name in ("primary", "secondary", "accent", "warning", "error", "success"):
        out.append((f"${name}/background", resolve(v[name], bg), bg, 4.5))
    cursor = Color.parse(v["block-cursor-background"])
    out.append(("block cursor", resolve(v["block-cursor-foreground"], cursor), cursor, 4.5))
    return out


@pytest.mark.parametrize("name", TRUE_COLOUR)
def test_contrast_truecolor_and_256(name):
    failures = []
    for label, fg, bg, minimum in pairs(_builtins()[name]):
        for system, (a, b) in (("truecolor", (fg, bg)), ("256", (to_256(fg), to_256(bg)))):
            r = ratio(a, b)
            if r < minimum:
                failures.append(f"{label} [{system}] {a.hex}/{b.hex} = {r:.2f} < {minimum}")
    assert failures == []


@pytest.mark.parametrize("name", TRUE_COLOUR)
def test_backgrounds_stay_distinct_at_256_colours(name):
    theme = _builtins()[name]
    grounds = [to_256(Color.parse(getattr(theme, k))) for k in ("background", "surface", "panel")]
    assert len({g.hex for g in grounds}) == 3


# The ANSI themes send palette indexes, so their real colours are the viewer's own.
# As a reference we use the stock xterm palette (xterm's 256colres.h / XTerm-col.ad),
# with ansi_default as xterm white-on-black for the dark theme and black-on-white for
# the light one.
XTERM = {
    "black": "#000000", "red": "#cd0000", "green": "#00cd00", "yellow": "#cdcd00",
    "blue": "#0000ee", "magenta": "#cd00cd", "cyan": "#00cdcd", "white": "#e5e5e5",
    "bright_black": "#7f7f7f", "bright_red": "#ff0000", "bright_green": "#00ff00",
    "bright_yellow": "#ffff00", "bright_blue": "#5c5cff", "bright_magenta": "#ff00ff",
    "bright_cyan": "#00ffff", "bright_white": "#ffffff",
}
# On white, stock xterm's green (2.2:1) and bright red (4.0:1) fall short, and no ANSI
# name carries "success" or "warning" and reads on white in every palette. The light ANSI
# theme keeps their meaning; the viewer's palette decides how well they read.
XTERM_SHORTFALLS = {("ftd-ansi-light", "success"), ("ftd-ansi-light", "warning")}


def xterm(value: str, dark: bool, role: str) -> Color:
    name = value.removeprefix("ansi_")
    if name == "default":
        fg, bg = ("#e5e5e5", "#000000") if dark else ("#000000", "#ffffff")
        return Color.parse(fg if role == "fg" else bg)
    return Color.parse(XTERM[name])


def ansi_pairs(theme: Theme) -> list[tuple[str, str, str]]:
    out = [("foreground/background", "foreground", "background")]
    out += [(f"{r}/background", r, "background") for r in ("primary", "secondary", "accent", "warning", "error", "success")]
    for key in theme.variables:
        if key.endswith("-foreground") and key.removesuffix("-foreground") + "-background" in theme.variables:
            stem = key.removesuffix("-foreground")
            out.append((stem, key, stem + "-background"))
    return out


@pytest.mark.parametrize("name", ANSI)
def test_ansi_contrast_in_the_xterm_palette(name):
    theme = _builtins()[name]
    assert theme.ansi
    values = {**{k: getattr(theme, k) for k in ("foreground", "background", "primary", "secondary",
                                                 "accent", "warning", "error", "success")},
              **theme.variables}
    for k, v in values.items():
        assert isinstance(v, str)
        if k.endswith("-style"):
            continue
        assert v.startswith("ansi_"), f"{k}: {v} is not a palette colour"
    failures = []
    for label, fg_key, bg_key in ansi_pairs(theme):
        if (name, fg_key) in XTERM_SHORTFALLS:
            continue
        fg = xterm(values[fg_key], theme.dark, "fg")
        bg = xterm(values[bg_key], theme.dark, "bg")
        minimum = 7.0 if label == "foreground/background" else 4.5
        if ratio(fg, bg) < minimum:
            failures.append(f"{label}: {values[fg_key]} on {values[bg_key]} = {ratio(fg, bg):.2f} < {minimum}")
    assert failures == []


def test_xterm_shortfalls_are_still_real():
    """If a palette change fixes a documented shortfall, drop it from the list."""
    themes = _builtins()
    for name, role in XTERM_SHORTFALLS:
        theme = themes[name]
        fg = xterm(getattr(theme, role), theme.dark, "fg")
        assert ratio(fg, xterm("ansi_default", theme.dark, "bg")) < 4.5


def test_builtin_themes_pass_full_validation():
    """Start-up reads the built-in themes without pydantic; this is what makes that safe."""
    from ftd_tui.tui.themes import load_theme_file

    files = sorted(builtin_theme_dir().glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        theme, problem = load_theme_file(f)
        assert problem is None and theme is not None, (f.name, problem)
