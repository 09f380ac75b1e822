"""The layering of spec/architecture.md and the supply-chain guard."""

from __future__ import annotations

import ast
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


PACKAGE = Path(__file__).resolve().parent.parent / "ftd_tui"
# Data flows one way (spec/architecture.md): a layer imports only from those below it.
LAYER = {"core": 0, "services": 1, "cli": 2, "tui": 2}
MAX_LINES = 600
# `ftd` with no command opens the app, and `ftd --where` names the built-in theme folder: the one
# place a shell reaches into the other, and only to these two modules.
CLI_MAY_OPEN = {"ftd_tui.tui.app", "ftd_tui.tui.themes"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of import nodes under `if TYPE_CHECKING:`: annotations, never run."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            out.update(id(n) for b in node.body for n in ast.walk(b))
    return out


def import_graph() -> dict[str, set[str]]:
    """Every ftd_tui module -> the modules it imports, at any depth (a lazy import inside a function
    counts: it runs), relative imports resolved, TYPE_CHECKING blocks left out; plus the
    third-party tops (textual, litellm, pydantic …) it imports."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        skip = _type_checking_only(tree)
        out: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    out.add(full if full in modules else target)
            elif isinstance(node, ast.Import):
                out.update(alias.name for alias in node.names)
        out.discard(name)
        graph[name] = {m if m in modules or m.startswith("ftd_tui") else m.split(".")[0] for m in out}
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYER.get(parts[1]) if len(parts) > 1 and parts[0] == "ftd_tui" else None


def test_the_graph_sees_relative_imports():
    # the old scan matched only absolute `from ftd_tui.tui …` lines; a relative one must count too
    graph = import_graph()
    assert "ftd_tui.core.project.storage" in graph["ftd_tui.core.evaluation.runs"]
    assert "ftd_tui.core.rules.diagnostics" in graph["ftd_tui.core.project.project"]


def test_no_layer_imports_one_above_it_and_core_imports_neither_textual_nor_litellm():
    bad = []
    for module, deps in import_graph().items():
        mine = _layer(module)
        for dep in deps:
            theirs = _layer(dep)
            if mine is not None and theirs is not None and theirs > mine and not (
                    module.startswith("ftd_tui.cli") and dep in CLI_MAY_OPEN):
                bad.append(f"{module} -> {dep}")
            if mine == LAYER["core"] and dep in ("textual", "litellm", "rich"):
                bad.append(f"{module} -> {dep}")
            if module.startswith("ftd_tui.cli") and dep.startswith("ftd_tui.tui") and dep not in CLI_MAY_OPEN:
                bad.append(f"{module} -> {dep}")
    assert bad == []


def test_there_is_no_import_cycle():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_no_module_is_too_long_to_find_ones_way_in():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_broad_catch_says_why():
    # `except Exception` hides bugs unless it is the one error route or a boundary; each says which
    bare = []
    for p in PACKAGE.rglob("*.py"):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"except\s*(\(|)\s*(Exception|BaseException)\b", line) and "#" not in line.split("except", 1)[1]:
                bare.append(f"{p.relative_to(PACKAGE)}:{i}")
    assert bare == []


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
