"""The shape the code keeps (ARCHITECTURE.md part A): dependencies point one way, the engine knows no
case type, and the entry points under web/ translate only."""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "workflows", "usecases", "notifications", "web")
CASE_TYPE_WORDS = re.compile(r"mediation|petition|subsidy|leader", re.IGNORECASE)
ROLE_NAMES = ("intake", "mediator", "court_liaison", "petition_officer", "leader", "justice_officer", "auditor",
              "admin")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, anywhere in it (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_module_imports_a_module_that_imports_it_back():
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    # A package's __init__ importing its own modules is how a package is assembled, not a loop.
    for name in graph:
        graph[name] = {t for t in graph[name] if not (t.startswith(name + ".") and known[name].name == "__init__.py")}
    index, low, stack, on_stack, loops, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert loops == []


def test_dependencies_point_one_way():
    known = modules()
    layer = {"web": 4, "usecases": 3, "workflows": 2, "engine": 1, "notifications": 1}
    wrong = []
    for name, path in known.items():
        for target in imports_of(name, path, known):
            mine, theirs = name.split(".")[0], target.split(".")[0]
            if theirs == "web" and mine != "web":
                wrong.append(f"{name} imports {target}: nothing imports web")
            elif mine == "engine" and theirs not in ("engine",):
                wrong.append(f"{name} imports {target}: the engine imports no other package")
            elif layer[theirs] > layer[mine] and not (mine == "notifications" and theirs == "engine"):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def _code_outside_docstrings(path: Path):
    """(line, text) of every name and string in the file that is not a docstring or a comment."""
    source = path.read_text(encoding="utf-8")
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING) and tok.start[0] not in docstrings:
            yield tok.start[0], tok.string


def test_the_engine_names_no_case_type_outside_its_docstrings():
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for path in sorted((ROOT / "engine").glob("*.py"))
             for line, text in _code_outside_docstrings(path) if CASE_TYPE_WORDS.search(text)]
    assert found == []


def _role_decisions(path: Path):
    """Where code compares against role codes: a collection of them, or `== "admin"`-style tests."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Set, ast.List, ast.Tuple)) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            if all(e.value in ROLE_NAMES for e in node.elts):  # field names such as "mediators" are not roles
                yield node.lineno, "a collection of role codes"
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and side.value in ROLE_NAMES:
                    yield node.lineno, f"a comparison with the role {side.value!r}"


def test_the_entry_points_open_no_database_session_and_decide_no_permission():
    found = []
    for path in sorted((ROOT / "web").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\bdb\.read\(", r"\bdb\.write\(", r"\bSession\b", r"^\s*from sqlalchemy(\.orm)? import",
                        r"^\s*import sqlalchemy", r"\.has_role\(", r"\.roles\s*[&|]", r"\bin\s+[\w.]+\.roles\b",
                        r"services\(\)\.engine\b", r"\.extensions\[[^\]]+\]\.engine\b"):
            for match in re.finditer(pattern, text, re.MULTILINE):
                found.append(f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}: {match.group(0)}")
        if path.name != "openapi.py":  # the document lists the contract's field names, "mediator" and "leader" among them
            found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _role_decisions(path)]
    assert found == []
