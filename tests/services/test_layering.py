"""The one shape of the three services (issues 15 and 24, ARCHITECTURE.md), checked on the source with `ast`.

Pure: it parses files and imports nothing of the services, so it runs in well under a second and
names the file and line that breaks a rule. The rules are the ones a newcomer relies on: the same
top-level modules everywhere, a pure domain, a service layer that sees adapters only through
ports -- transitively: what `service_layer/` and `domain/` load, following the imports through
the libraries, holds no driver (MongoDB, Kafka, HTTP, the NetSuite client) --, all SuiteQL in
adapters (in `libs/` as in `services/`), `app.py` wiring only, the shared ports defined once in
`om_platform.ports`, and three services that never import each other. One subprocess test checks
the loaded modules for real (`sys.modules`).
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
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


SOURCE_ROOTS = tuple(
    sorted(p for group in ("libs", "services", "tools") for p in ROOT.glob(f"{group}/*/src"))
)
# What a service layer or domain may not load, directly or through any library it imports.
DRIVERS = ("pymongo", "motor", "aiokafka", "faststream", "httpx", "httpx2", "om_netsuite")
# The project's packages a service layer or domain may reach once the platform is split (issue 24):
# the contracts, the driver-free core, the transaction mapping and its own service.
ALLOWED_LIBRARIES = ("om_contracts", "om_platform.core", "om_transactions")


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
    return _parse(path.read_text(encoding="utf-8"), str(path))


@functools.cache
def _parse(text: str, filename: str) -> ast.Module:
    """One tree per file content: the checks walk the same modules many times."""
    return ast.parse(text, filename=filename)


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


def type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:` (never run: they load nothing)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def runtime_imports(path: Path, module: str) -> tuple[str, ...]:
    """The modules importing `module` (the file `path`) loads, with each one's parent packages.

    `from x import name` yields `x.name` too: it is a module when `name` is one (a name that is
    not a module is not found among the sources and goes no further)."""
    return _runtime_imports(path, module, path.read_text(encoding="utf-8"))


@functools.cache
def _runtime_imports(path: Path, module: str, text: str) -> tuple[str, ...]:
    tree = parse(path)
    skipped = type_checking_only(tree)
    lines = {node.lineno for node in ast.walk(tree) if id(node) in skipped}
    return tuple(
        name for line, target, _ in imported(path, module) if line not in lines for name in parents(target)
    )


def parents(module: str) -> list[str]:
    """`a.b.c` -> `a`, `a.b`, `a.b.c`: importing a module runs its packages' `__init__` first."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def locate(module: str, roots: Sequence[Path]) -> Path | None:
    """The source file of a project module (a package's `__init__.py`), or None (stdlib, third party)."""
    relative = Path(*module.split("."))
    for root in roots:
        for candidate in (root / relative / "__init__.py", root / relative.parent / f"{relative.name}.py"):
            if candidate.is_file():
                return candidate
    return None


def closure(start: str, roots: Sequence[Path] = SOURCE_ROOTS) -> dict[str, list[str]]:
    """Every module that importing `start` loads, following the project's own modules (libraries
    and services) through their imports; each with the chain of imports that reaches it."""
    names = parents(start)
    chains = {name: names[: n + 1] for n, name in enumerate(names)}
    queue = list(chains)
    while queue:
        module = queue.pop()
        path = locate(module, roots)
        if path is None:
            continue
        for target in runtime_imports(path, module):
            if target not in chains:
                chains[target] = [*chains[module], target]
                queue.append(target)
    return chains


def driver_breaches(start: str, roots: Sequence[Path] = SOURCE_ROOTS) -> list[str]:
    """`start -> ... -> driver` for every driver module importing `start` loads."""
    return sorted(
        " -> ".join(chain)
        for name, chain in closure(start, roots).items()
        if any(under(name, driver) for driver in DRIVERS)
    )


def layer_modules() -> Iterator[tuple[str, Path, str]]:
    """(service, file, module) of every service layer and domain module."""
    for service in SERVICES:
        for layer in ("service_layer", "domain"):
            for path, module in modules(service, layer):
                yield service, path, module


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


SUITEQL = re.compile(r"\bselect\b.+?\bfrom\b", re.IGNORECASE | re.DOTALL)


def suiteql(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal holding a query (`select ... from`, any case;
    docstrings are prose)."""
    tree = parse(path)
    prose = docstrings(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in prose:
            continue
        if isinstance(node.value, str) and SUITEQL.search(node.value):
            yield node.lineno, node.value.strip()[:60]


def sources_outside_adapters() -> Iterator[Path]:
    """Every module of `libs/` and `services/` outside an `adapters` package. The NetSuite
    simulator is left out: it is NetSuite's side (its SQLite text runs SuiteQL, it sends none)."""
    for root in SOURCE_ROOTS:
        if root.parent.parent.name not in ("libs", "services") or root.parent.name == "netsuite_simulator":
            continue
        for path in sorted(root.rglob("*.py")):
            if "adapters" not in path.relative_to(root).parts:
                yield path


def test_no_suiteql_outside_adapters() -> None:
    breaches = [
        f"{where(path, line)}: {text!r}"
        for path in sources_outside_adapters()
        for line, text in suiteql(path)
    ]
    assert not breaches, "\n".join(breaches)


def test_the_suiteql_rule_covers_the_services() -> None:
    """The rule reads every service module outside adapters (and none inside)."""
    read = set(sources_outside_adapters())
    for service in SERVICES:
        assert package(service) / "service_layer" / "ports.py" in read
        assert not any("adapters" in p.parts for p in read if p.is_relative_to(package(service)))


@pytest.mark.parametrize("service", SERVICES)
def test_service_layer_and_domain_load_no_driver_transitively(service: str) -> None:
    breaches = [
        f"{where(path, 1)}: {chain}"
        for svc, path, module in layer_modules()
        if svc == service
        for chain in driver_breaches(module)
    ]
    assert not breaches, "\n".join(breaches)


@pytest.mark.parametrize("service", SERVICES)
def test_service_layer_and_domain_reach_only_the_contracts_the_core_and_their_service(service: str) -> None:
    project = ("om_", *SERVICES)
    allowed = (*ALLOWED_LIBRARIES, service)
    breaches = [
        f"{where(path, 1)}: {' -> '.join(chain)}"
        for svc, path, module in layer_modules()
        if svc == service
        for name, chain in closure(module).items()
        if (
            name.startswith(project)
            and name != "om_platform"  # the parent package of om_platform.core
            and not any(under(name, prefix) for prefix in allowed)
        )
        or under(name, f"{service}.adapters")
    ]
    assert not breaches, "\n".join(sorted(set(breaches)))


USE_CASE_MODULES = {
    "order_sync": (
        "order_sync.service_layer.sync",
        "order_sync.service_layer.heal",
        "order_sync.service_layer.catalog",
    ),
    "stock_sync": ("stock_sync.service_layer.runs", "stock_sync.service_layer.sync"),
    "finance_sync": (
        "finance_sync.service_layer.reconcile",
        "finance_sync.service_layer.hourly_runs",
        "finance_sync.service_layer.feature_runs",
    ),
}


@pytest.mark.parametrize("service", SERVICES)
def test_importing_the_use_cases_loads_neither_pymongo_nor_aiokafka(service: str) -> None:
    """For real: a fresh interpreter imports the use cases and lists the drivers in `sys.modules`."""
    imports = "; ".join(f"import {module}" for module in USE_CASE_MODULES[service])
    probe = f"{imports}; import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in {DRIVERS!r}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_the_transitive_check_finds_a_driver_behind_a_library(tmp_path: Path) -> None:
    """The test of the test: a service layer importing a core module that imports a helper that
    imports pymongo is a breach, named with its chain; a TYPE_CHECKING import is not."""
    files = {
        "svc/__init__.py": "",
        "svc/service_layer/__init__.py": "",
        "svc/service_layer/use.py": "from om_fake.core import ports\nfrom . import clean\n",
        "svc/service_layer/clean.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import aiokafka\n",
        "om_fake/__init__.py": "",
        "om_fake/core/__init__.py": "",
        "om_fake/core/ports.py": "from ..helpers import write\n",
        "om_fake/helpers.py": "import pymongo.errors\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert driver_breaches("svc.service_layer.use", [tmp_path]) == [
        "svc -> svc.service_layer -> svc.service_layer.use -> om_fake.core.ports -> om_fake.helpers -> pymongo",
        "svc -> svc.service_layer -> svc.service_layer.use -> om_fake.core.ports -> om_fake.helpers -> pymongo.errors",
    ]
    assert driver_breaches("svc.service_layer.clean", [tmp_path]) == []
    (tmp_path / "om_fake/helpers.py").write_text("import json\n")
    assert driver_breaches("svc.service_layer.use", [tmp_path]) == []


def test_the_transitive_check_follows_package_inits(tmp_path: Path) -> None:
    """Importing `lib.core.x` runs `lib/__init__.py`: a driver imported there is loaded too."""
    for name, text in {
        "lib/__init__.py": "from lib import drivers\n",
        "lib/drivers.py": "import aiokafka\n",
        "lib/core/__init__.py": "",
        "lib/core/x.py": "",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert driver_breaches("lib.core.x", [tmp_path]) == ["lib -> lib.drivers -> aiokafka"]


WIRING_ONLY = (ast.Try, ast.While, ast.Raise, ast.With, ast.AsyncWith, ast.If, ast.Match)


@pytest.mark.parametrize("service", SERVICES)
def test_app_is_wiring_only(service: str) -> None:
    """`app.py` builds adapters, use cases and entry points and registers them: no decision (no
    if/while/try/raise/with), no query, and every public function it defines forwards
    to one call (`a if flag else b` choosing what to register is wiring)."""
    path = package(service) / "app.py"
    tree = parse(path)
    breaches = [
        f"{where(path, node.lineno)}: {type(node).__name__}"
        for node in ast.walk(tree)
        if isinstance(node, WIRING_ONLY) and not _settings_flag(node)
    ]
    breaches += [f"{where(path, line)}: query {text!r}" for line, text in suiteql(path)]
    breaches += [
        f"{where(path, node.lineno)}: {node.name} does more than forward one call"
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and node.name not in {"wire", "build"}
        and not node.name.startswith("_")
        and len([stmt for stmt in node.body if not _is_docstring(stmt)]) > 1
    ]
    assert not breaches, "\n".join(breaches)


def _settings_flag(node: ast.AST) -> bool:
    """`if settings.<flag>:` registering a part or not is wiring."""
    return isinstance(node, ast.If) and ast.unparse(node.test).startswith("settings.")


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


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
