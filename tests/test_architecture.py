"""The shape of the code: imports run one way, no circle, small modules, documented packages.

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a
circle that only closes at call time is still a circle a reader must untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kagman"

# Lower layers never import higher ones. Within one rank, packages import each other only
# as SAME_RANK_ALLOWED says; inside one package anything goes (but no circle).
RANKS = {
    "kagman.__main__": 7,
    "kagman.cli": 6,
    "kagman": 5,
    "kagman.api": 4,
    "kagman.resolvers": 3,
    "kagman.images": 3,
    "kagman.tables": 3,
    "kagman.diagnostics": 3,
    "kagman.remote": 2,
    "kagman.cache": 2,
    "kagman.archive": 2,
    "kagman.credentials": 2,
    "kagman.ui": 1,
    "kagman.platforms": 1,
    "kagman.errors": 0,
    "kagman.settings": 0,
    "kagman.fs": 0,
}
SAME_RANK_ALLOWED = {
    ("kagman.fs", "kagman.errors"),  # errors is the leaf of the leaves
    ("kagman.settings", "kagman.errors"),  # a bad KAGMAN_* value is a ConfigError
    ("kagman.remote", "kagman.credentials"),  # the client authenticates
    ("kagman.cache", "kagman.remote"),  # refs name the cache folders (refs only, see below)
    ("kagman.ui", "kagman.platforms"),  # progress bars ask whether this is a Jupyter kernel
}
CACHE_MAY_USE_FROM_REMOTE = {"kagman.remote.refs"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The kagman modules ``name`` imports anywhere in its source."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule when there is one
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        for dotted in targets:
            target = dotted
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def layer_of(name: str) -> str:
    best = ""
    for prefix in RANKS:
        if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return best


def test_the_graph_sees_imports_inside_functions() -> None:
    # kagman.api.pulling imports the resolvers only inside pull(): the graph must still see it.
    assert "kagman.resolvers" in GRAPH["kagman.api.pulling"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if not layer_of(m)] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_one_way(name: str) -> None:
    mine = layer_of(name)
    wrong = []
    for target in GRAPH[name]:
        theirs = layer_of(target)
        if theirs == mine:
            continue
        if RANKS[theirs] > RANKS[mine]:
            wrong.append(f"{target} (a higher layer)")
        elif RANKS[theirs] == RANKS[mine] and (mine, theirs) not in SAME_RANK_ALLOWED:
            wrong.append(f"{target} (a sibling package)")
        elif (mine, theirs) == ("kagman.cache", "kagman.remote") and (
            target not in CACHE_MAY_USE_FROM_REMOTE
        ):
            wrong.append(f"{target} (the cache never talks to Kaggle)")
    assert wrong == [], f"{name} imports {', '.join(sorted(wrong))}"


def test_images_take_folders_not_refs() -> None:
    reach = set()
    todo = [m for m in MODULES if layer_of(m) == "kagman.images"]
    while todo:
        m = todo.pop()
        for t in GRAPH[m]:
            if t not in reach:
                reach.add(t)
                todo.append(t)
    assert not any(layer_of(m) in ("kagman.resolvers", "kagman.remote") for m in reach)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    lines = MODULES[name].read_text().count("\n")
    assert lines <= 450, f"{name} has {lines} lines; split it by idea"


def test_few_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")))
def test_each_package_says_what_it_owns(package: Path) -> None:
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert doc, f"{package.name}/__init__.py needs a docstring"
    assert len(doc) > 80, f"{package.name}/__init__.py: say what the package owns"
    if package != PACKAGE:
        assert "May import" in doc or "imports" in doc, f"{package.name}: say what it may import"


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.glob("*/__init__.py")))
def test_the_readme_names_every_module(package: Path) -> None:
    # the Development table is the map of the tree: a module it does not name is hidden
    readme = (PACKAGE.parent / "README.md").read_text()
    rows = [line for line in readme.splitlines() if f"`kagman/{package.name}/`" in line]
    assert rows, f"README's Development table has no row for kagman/{package.name}/"
    modules = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    missing = [m for m in modules if f"`{m}`" not in rows[0]]
    if package.name == "api":  # its row names the public functions; its modules in ()
        missing = [m for m in missing if f"`{m}`" not in readme]
    assert not missing, f"kagman/{package.name}/: the README's table does not name {missing}"
