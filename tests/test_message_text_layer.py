"""Message text sits below the services: dispatch/sms/*text*.py formats what it is given and never calls a
service (nor is handed one to call). Read from the source, so a function-level import is caught too."""
from __future__ import annotations

import ast
from pathlib import Path

from dispatch import ROOT

TEXT_MODULES = sorted((ROOT / "dispatch" / "sms").glob("*text*.py"))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_there_are_message_text_modules_to_check():
    assert {p.name for p in TEXT_MODULES} >= {"text.py", "incident_text.py"}


def test_message_text_imports_no_service_and_no_model_query():
    for path in TEXT_MODULES:
        bad = {name for name in imported_modules(path)
               if name.startswith(("dispatch.services", "models")) or name in ("sqlalchemy", "flask_sqlalchemy")}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_no_service_hands_a_service_function_to_the_text_layer():
    """`sms_text.for_user(person, make, ...)`: `make` is a text function, never a service's (which would query)."""
    for path in sorted((ROOT / "dispatch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "for_user" and len(node.args) >= 2:
                make = node.args[1]
                assert not isinstance(make, ast.Lambda), f"{path}:{node.lineno} passes a lambda to for_user"
                if isinstance(make, ast.Attribute) and isinstance(make.value, ast.Name):
                    assert make.value.id in ("sms_text", "incident_text", "text"), \
                        f"{path}:{node.lineno} passes {make.value.id}.{make.attr} to for_user"
