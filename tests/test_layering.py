"""The layering of spec/architecture.md and the supply-chain guard."""

from __future__ import annotations

import re
import site
import subprocess
import sys
from importlib import metadata
from pathlib import Path

WATCH = """
import sys
hits = set()
class Watch:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("textual", "litellm"):
            hits.add(top)
sys.meta_path.insert(0, Watch())
import {module}
{extra}
print(" ".join(sorted(hits)))
"""


def _imports(module: str, extra: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", WATCH.format(module=module, extra=extra)],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_core_loads_neither_textual_nor_litellm():
    assert _imports("ftd_tui.core") == ""
    extra = ("from ftd_tui.core.project.project import Project\nfrom ftd_tui.core.rules.checks import check_project\n"
             "from ftd_tui.core.rules.gates import compute_gates\n"
             "p = Project.load('sample_projects/math-tutoring'); compute_gates(p, check_project(p))")
    assert _imports("ftd_tui.core", extra) == ""


def test_cli_check_never_imports_the_ui_or_litellm():
    extra = "from ftd_tui.cli import main\nimport contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()): main(['check', 'sample_projects/math-tutoring'])"
    assert _imports("ftd_tui.cli", extra) == ""


def test_core_sources_do_not_import_upper_layers():
    core = Path(__file__).resolve().parent.parent / "ftd_tui" / "core"
    for f in core.rglob("*.py"):
        text = f.read_text()
        assert not re.search(r"^\s*(from|import)\s+(textual|litellm|ftd_tui\.(tui|llm|critique|baseline))\b", text, re.M), f


# The litellm compromise of 2026 ran from a .pth file, which Python executes at start-up.
ALLOWED_PTH = {"distutils-precedence.pth"}


def test_no_unexpected_pth_files():
    found = []
    for folder in {*site.getsitepackages(), site.getusersitepackages()}:
        p = Path(folder)
        if p.is_dir():
            found += [x.name for x in p.glob("*.pth")]
    unexpected = [n for n in found if n not in ALLOWED_PTH and not re.fullmatch(r"__editable__\.ftd_tui-[\w.]+\.pth", n)]
    assert unexpected == [], f"unexpected .pth files in the environment: {unexpected}"


def test_litellm_is_the_pinned_release():
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    pinned = re.search(r'"litellm==([\d.]+)"', pyproject).group(1)
    assert metadata.version("litellm") == pinned
    assert pinned not in ("1.82.7", "1.82.8") and not pinned.startswith("1.107.")
    lock = (Path(__file__).resolve().parent.parent / "requirements.lock").read_text()
    assert f"litellm=={pinned} \\" in lock
    # every pinned requirement in the lock carries hashes
    entries = re.findall(r"^([A-Za-z0-9_.-]+==[^\s;]+).*?(?=^\S|\Z)", lock, re.M | re.S)
    assert entries
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        if "==" in block.split("\n")[0]:
            assert "--hash=sha256:" in block, block.split("\n")[0]


def test_readme_lists_every_rule_and_keeps_the_two_commands():
    from ftd_tui.core.rules.diagnostics import RULES

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.severity} |" in readme, rule.id
    listed = set(re.findall(r"\| `([A-Z]{3}\d{3})` \|", readme))
    assert listed == set(RULES)
    assert "make run " in readme and "make test " in readme
    makefile = (root / "Makefile").read_text()
    assert "\nrun: " in makefile and "\ntest: " in makefile
    assert "make test" in (root / ".ci" / "run").read_text()


def test_the_app_never_imports_litellm_or_pydantic_before_its_first_frame():
    out = _imports("ftd_tui.tui.app")
    assert "litellm" not in out
    probe = subprocess.run([sys.executable, "-c", "import sys, ftd_tui.tui.app; print('pydantic' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"
