"""The engine knows nothing of billing, and billing sees neither queues nor callouts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import asyncgate

PACKAGE = Path(asyncgate.__file__).parent
DOMAIN = ("billing", "crud")
ENGINE = ("asyncreq", "notifications")


def imported_packages(package: str) -> dict[str, set[str]]:
    """Per module of ``asyncgate.<package>``, the ``asyncgate`` packages it imports from."""
    found: dict[str, set[str]] = {}
    for path in (PACKAGE / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(PACKAGE))] = {
            name.split(".")[1] for name in names if name.startswith("asyncgate.")
        }
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"), [*[(p, ENGINE) for p in DOMAIN], *[(p, DOMAIN) for p in ENGINE]]
)
def test_the_domain_and_the_engine_do_not_import_each_other(
    package: str, forbidden: tuple[str, ...]
) -> None:
    modules = imported_packages(package)
    assert modules, f"no modules found in asyncgate.{package}"
    crossing = {
        module: sorted(imported & set(forbidden))
        for module, imported in modules.items()
        if imported & set(forbidden)
    }
    assert crossing == {}
