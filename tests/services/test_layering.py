"""The one shape of the three services (issue 15, ARCHITECTURE.md), checked on the source with `ast`.

Pure: it parses files and imports nothing of the services, so it runs in well under a second and
names the file and line that breaks a rule. The rules are the ones a newcomer relies on: the same
top-level modules everywhere, a pure domain, a service layer that sees adapters only through
ports, all SuiteQL in `adapters/`, the shared ports defined once in `om_platform.ports`, and three
services that never import each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("order_sync", "stock_sync", "finance_sync")
TOP_LEVEL = {
    "__init__",
    "__main__",
    "app",
    "entrypoints",
    "settings",
    "domain/",
    "service_layer/",
    "adapters/",
}
# What a pure domain may not touch: drivers, the broker, HTTP, and the NetSuite session/client.
IMPURE = (
    "pymongo",
    "motor",
    "httpx",
    "httpx2",
    "aiokafka",
    "faststream",
    "om_netsuite._session",
    "om_netsuite._client",
)
IMPURE_NAMES = {"om_netsuite": {"NetSuiteSession", "NetSuiteClient", "PreparedRequest"}}
SHARED_PORTS = {"Integrations", "Leases", "Cursors", "Publish", "LeaseCheck"}


def package(service: str) -> Path:
    return ROOT / "services" / service / "src" / service


def modules(service: str, layer: str | None = None) -> Iterator[tuple[Path, str]]:
    """(file, dotted module name) of every module of the service, or of one of its layers."""
    top = package(service)
    base = top / layer if layer else top
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(top.parent).with_suffix("").parts
        yield path, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(path: Path, module: str) -> Iterator[tuple[int, str, set[str]]]:
    """(line, absolute module, names taken from it) of every import in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, set()
        elif isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                target = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                target = node.module or ""
            yield node.lineno, target, names
            # `from svc import adapters` imports the module svc.adapters.
            for name in names:
                yield node.lineno, f"{target}.{name}", set()


def under(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants: prose, not queries."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_every_service_has_the_same_top_level_modules() -> None:
    shapes = {}
    for service in SERVICES:
        shapes[service] = {
            f"{entry.name}/" if entry.is_dir() else entry.stem
            for entry in package(service).iterdir()
            if entry.name != "__pycache__" and (entry.is_dir() or entry.suffix == ".py")
        }
    differences = [
        f"{service}: missing {sorted(TOP_LEVEL - shape)}, extra {sorted(shape - TOP_LEVEL)}"
        for service, shape in shapes.items()
        if shape != TOP_LEVEL
    ]
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize("service", SERVICES)
def test_service_layer_and_domain_never_import_adapters(service: str) -> None:
    breaches = [
        f"{where(path, line)} imports {target}"
        for layer in ("service_layer", "domain")
        for path, module in modules(service, layer)
        for line, target, _ in imported(path, module)
        if under(target, f"{service}.adapters")
    ]
    assert not breaches, "\n".join(breaches)


@pytest.mark.parametrize("service", SERVICES)
def test_domain_does_no_io(service: str) -> None:
    breaches = []
    for path, module in modules(service, "domain"):
        for line, target, names in imported(path, module):
            if any(under(target, impure) for impure in IMPURE):
                breaches.append(f"{where(path, line)} imports {target}")
            elif taken := names & IMPURE_NAMES.get(target, set()):
                breaches.append(f"{where(path, line)} imports {', '.join(sorted(taken))} from {target}")
    assert not breaches, "\n".join(breaches)


def suiteql(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal holding a SuiteQL `SELECT ` (docstrings are prose)."""
    tree = parse(path)
    prose = docstrings(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in prose:
            continue
        if isinstance(node.value, str) and "SELECT " in node.value:
            yield node.lineno, node.value.strip()[:60]


@pytest.mark.parametrize("service", SERVICES)
def test_no_suiteql_outside_adapters(service: str) -> None:
    breaches = [
        f"{where(path, line)}: {text!r}"
        for path, _ in modules(service)
        if "adapters" not in path.relative_to(package(service)).parts
        for line, text in suiteql(path)
    ]
    assert not breaches, "\n".join(breaches)


def test_no_service_defines_a_shared_port() -> None:
    """Integrations, Leases, LeaseCheck, Cursors and Publish are om_platform.ports' alone."""
    breaches = [
        f"{where(path, node.lineno)} defines {node.name}"
        for path in sorted((ROOT / "services").rglob("*.py"))
        for node in ast.walk(parse(path))
        if isinstance(node, ast.ClassDef) and node.name in SHARED_PORTS
    ]
    assert not breaches, "\n".join(breaches)


@pytest.mark.parametrize("service", SERVICES)
def test_services_never_import_each_other(service: str) -> None:
    others = [other for other in SERVICES if other != service]
    breaches = [
        f"{where(path, line)} imports {target}"
        for path, module in modules(service)
        for line, target, _ in imported(path, module)
        if any(under(target, other) for other in others)
    ]
    assert not breaches, "\n".join(breaches)


def test_the_import_reader_resolves_relative_and_from_imports(tmp_path: Path) -> None:
    """The checks above are only as good as this reader: relative imports and `from x import mod`."""
    source = tmp_path / "sync.py"
    source.write_text("from ..adapters import mongo\nfrom . import ports\nimport pymongo.errors\n")
    found = {target for _, target, _ in imported(source, "svc.service_layer.sync")}
    assert {"svc.adapters", "svc.adapters.mongo", "svc.service_layer.ports", "pymongo.errors"} <= found
    assert under("svc.adapters.mongo", "svc.adapters")
    assert not under("svc.adapters_x", "svc.adapters")


def test_the_suiteql_finder_skips_docstrings(tmp_path: Path) -> None:
    source = tmp_path / "runs.py"
    source.write_text('"""Runs a SELECT over items."""\n\nQUERY = "SELECT id FROM item"\n')
    assert list(suiteql(source)) == [(3, "SELECT id FROM item")]
