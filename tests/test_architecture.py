"""The shape of the code, read from dispatch/ with ast: private helpers stay private, the services' imports
point one way, no import hides inside a function to dodge a cycle, and only the ticket engine writes a
ticket's state."""
from __future__ import annotations

import ast
from pathlib import Path

DISPATCH = Path(__file__).resolve().parent.parent / "dispatch"


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in DISPATCH.rglob("*.py"):
        parts = path.relative_to(DISPATCH.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def imported(module: str, node: ast.ImportFrom | ast.Import, known: dict) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for one import statement."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    if node.level:  # relative: resolve against the importing package
        base = module.split(".")[:-node.level] if not module.endswith("__init__") else module.split(".")
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [((f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source), alias.name)
            for alias in node.names]


def function_level(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [inner for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))]


def service_graph(known: dict) -> dict[str, set[str]]:
    services = {name for name in known if name.startswith("dispatch.services.")}
    graph = {name: set() for name in services}
    for name in services:
        for node in ast.walk(known[name]):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= {target for target, _name in imported(name, node, known) if target in services}
    return graph


def cyclic(graph: dict[str, set[str]]) -> set[str]:
    """Modules on some import cycle (a strongly connected part with more than one module, or a self-import)."""
    def reaches(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return seen
    return {name for name in graph if name in reaches(name)}


def test_no_private_name_is_imported_from_another_module():
    known = modules()
    offenders = [f"{name}: {source}.{taken}" for name, tree in known.items() for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)
                 for source, taken in imported(name, node, known)
                 if taken and taken.startswith("_") and taken != "__future__" and source.startswith("dispatch")
                 and source != name]
    assert offenders == []


def test_the_services_import_graph_has_no_cycle():
    assert cyclic(service_graph(modules())) == set()


def test_no_function_level_import_of_a_project_module_in_services():
    known = modules()
    found = [f"{name}:{node.lineno}" for name, tree in known.items() if name.startswith("dispatch.services.")
             for node in function_level(tree)
             if any(source.startswith(("dispatch", "models")) for source, _taken in imported(name, node, known))]
    assert found == []


def test_the_engine_imports_no_policy():
    """The engine is at the bottom: the policies react through hooks (policies.py), never by being imported."""
    graph = service_graph(modules())
    policies = {f"dispatch.services.{name}" for name in
                ("assignment", "escalation", "incidents", "emergency_plans", "costs", "stock", "checklists", "notify",
                 "unreached", "tickets", "policies")}
    below = graph["dispatch.services.engine"] | graph["dispatch.services.sla"]
    assert below & policies == set()


def test_only_the_engine_and_the_breach_sweep_open_the_door_to_a_tickets_state():
    users = sorted(name for name, tree in modules().items() for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.module == "dispatch.services.engine_guard"
                   and any(alias.name == "engine_writing" for alias in node.names))
    assert users == ["dispatch.services.engine", "dispatch.services.sla"]


def test_the_checks_see_a_cycle_and_a_private_import():
    """The detectors themselves: a made-up two-module cycle is found, a chain is not."""
    assert cyclic({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == {"a", "b"}
    assert cyclic({"a": {"b"}, "b": set()}) == set()
    tree = ast.parse("def f():\n    from dispatch.services.tickets import _event\n")
    node = function_level(tree)[0]
    assert imported("dispatch.services.x", node, {}) == [("dispatch.services.tickets", "_event")]
