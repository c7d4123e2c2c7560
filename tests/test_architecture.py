"""The shape of the code: one-way dependencies, no import cycle, small documented modules.

The import graph is read with `ast` from every module of `tracker/` and `integrations/`,
including imports inside functions and at the bottom of a file (only `if TYPE_CHECKING:` blocks,
which never run, are left out). Importing ``a.b.c`` also runs ``a`` and ``a.b``, so those count
as edges too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("tracker", "integrations")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    edges: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            # (a module's own parent packages are already being imported when it runs)
            if name in MODULES and name != module and not module.startswith(name + "."):
                edges.add(name)
    return edges


GRAPH = {name: _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
         for name, path in MODULES.items()}


def test_no_import_cycle() -> None:
    """Every import, at any depth of a module, points one way."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            walk(name)


#: The layers, lowest first: a module may import its own package and any lower layer, never a
#: higher one (docs/development.md explains each). Top-level modules of `tracker` are named
#: one by one; a new subpackage must be given its place here.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("tracker._attributes", "tracker._internal_errors", "tracker._isotime", "tracker._text",
     "tracker._usage", "tracker._version", "tracker.exceptions"),
    ("tracker.model",),
    ("tracker.grid",),
    ("tracker.measure",),
    ("tracker.config",),
    ("tracker.export",),
    ("tracker.recording",),
    ("tracker.reduce",),
    ("tracker.instrumentation",),
    ("tracker.footprint",),
    ("tracker.render",),
    ("tracker.setup",),
    ("tracker.demo",),
    ("tracker.cli",),
    ("tracker", "tracker.__main__", "tracker.integration", "tracker.testing"),
    ("integrations",),
)


def _layer(module: str) -> int:
    best, rank = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, rank = len(name), index
    return rank


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_has_a_layer(name: str) -> None:
    assert _layer(name) >= 0, f"{name} belongs to no layer of LAYERS"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_follow_the_layers(name: str) -> None:
    """No import runs upward, at any depth of a module (function-level imports included)."""
    own = _layer(name)
    upward = sorted(edge for edge in GRAPH[name]
                    if _layer(edge) > own and edge not in ("tracker",))
    assert not upward, f"{name} (layer {own}) imports higher layers: {upward}"


def test_the_core_never_imports_an_integration() -> None:
    for name, edges in GRAPH.items():
        if name.startswith("tracker"):
            assert not [e for e in edges if e.startswith("integrations")], name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small_and_says_what_it_holds(name: str) -> None:
    path = MODULES[name]
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES, f"{name} has {len(text.splitlines())} lines"
    assert ast.get_docstring(ast.parse(text)), f"{name} has no module docstring"


def test_private_modules_are_underscored() -> None:
    """Below the subpackages, only documented public modules drop the underscore."""
    public = {"tracker", "tracker.exceptions", "tracker.integration", "tracker.testing",
              "tracker.__main__"}
    for name in MODULES:
        if not name.startswith("tracker") or name in public:
            continue
        leaf = name.rsplit(".", 1)[-1]
        is_package = MODULES[name].name == "__init__.py"
        assert is_package or leaf.startswith("_"), name
