"""The core's import layers: no cycles, no import from a lower layer up to a higher one.

Every module under app/ is read with `ast` (imports inside functions and under
TYPE_CHECKING count too: a lazy import still couples two modules). A module may import
modules of its own layer or below. A new module must be given a layer in LAYERS.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2] / "app"

FOUNDATIONS, DOMAIN, DELIVERY, ENTRY_POINTS = 0, 1, 2, 3
LAYER_NAMES = {
    FOUNDATIONS: "foundations",
    DOMAIN: "domain",
    DELIVERY: "delivery",
    ENTRY_POINTS: "entry points",
}

# Module -> layer. "pkg.*" is the package and everything in it. A module sits in the lowest
# layer whose imports allow it, so the layers above may use it.
LAYERS: dict[str, int] = {
    # 0 foundations: vocabulary and infrastructure; no business decisions, no services.
    "app.config": FOUNDATIONS,  # settings, read everywhere
    "app.money": FOUNDATIONS,  # units and rounding: pure values
    "app.i18n": FOUNDATIONS,  # the checkout's locales, catalogs and number formats
    "app.logs": FOUNDATIONS,  # logging setup and secret redaction
    "app.secretbox": FOUNDATIONS,  # encryption at rest, used by webhooks and idempotency
    "app.models": FOUNDATIONS,  # the schema every layer reads and writes
    "app.resources.*": FOUNDATIONS,  # finds templates, static files, migrations (installed)
    "app.db": FOUNDATIONS,  # ORM wiring and migrations (found through app.resources)
    "app.ssrf": FOUNDATIONS,  # outbound URL policy, used by app.http
    "app.http": FOUNDATIONS,  # the one outbound HTTP client factory
    "app.proxies": FOUNDATIONS,  # who the client is behind trusted proxies: pure functions
    "app.ratelimit": FOUNDATIONS,  # token buckets in the database; imports only app.models
    # New rows and a rate-limit token in one trip to the database: models and ratelimit only.
    "app.inserts": FOUNDATIONS,
    "app.networks": FOUNDATIONS,  # the chain-neutral protocols plugins implement
    "app.hookspecs": FOUNDATIONS,  # the plugin contract: types from config, models, networks
    # Runner and signals only; the watcher (domain) starts its loops on a BackgroundLoops.
    "app.loops": FOUNDATIONS,
    # Wake-ups between processes (PostgreSQL LISTEN/NOTIFY) and within one: no decisions.
    "app.notify": FOUNDATIONS,
    "app.refusals": FOUNDATIONS,  # the one shape of a service's refusal (the API renders it)
    # 1 domain: the rules and the services the delivery layer calls.
    "app.states": DOMAIN,  # transition(), the only status writer, and the event vocabulary
    "app.objects": DOMAIN,  # API object snapshots, stored with events by transition()
    "app.line_items": DOMAIN,  # line items' API objects and page rows (beside app.objects)
    "app.quotes": DOMAIN,  # price quotes from price-source plugins
    "app.plugins": DOMAIN,  # plugin manager and startup registry (uses quotes' built-ins)
    "app.keys": DOMAIN,  # API key issuing and lookup
    "app.sessions": DOMAIN,  # checkout-session services
    "app.payments": DOMAIN,  # payment services
    "app.watcher": DOMAIN,  # reports chain facts through states and payments
    "app.observations": DOMAIN,  # stores what networks report, for the watcher and deposits
    "app.deposits": DOMAIN,  # credits deposit-address transfers; the watcher calls it
    "app.webhooks.*": DOMAIN,  # outbox, signing, delivery: driven by events
    # `kassa doctor`'s checks: reads what the watcher and the delivery workers leave behind.
    "app.doctor": DOMAIN,
    "app.audit": DOMAIN,  # who did what: written beside the change it records
    "app.refunds": DOMAIN,  # non-custodial refunds: claim links, statuses, chain recognition
    "app.exports": DOMAIN,  # CSV exports of payments and sessions, streamed
    "app.payouts": DOMAIN,  # payout addresses: validated, with their event and audit entry
    # Watchers' status (the doctor's checks) and resuming a halt: the CLI and dashboard share it.
    "app.network_status": DOMAIN,
    # The filters and search the dashboard lists, the exports and the API share.
    "app.search": DOMAIN,
    # 2 delivery: how the outside reaches the domain (HTTP, pages, background loops).
    "app.api.*": DELIVERY,
    "app.checkout.*": DELIVERY,
    "app.dashboard.*": DELIVERY,  # the merchant dashboard: sign-in, pages, forms
    "app.workers": DELIVERY,  # which loops run; uses api.idempotency's pruning
    # 3 entry points: build and run the whole thing.
    "app": ENTRY_POINTS,  # the package __init__: create_app wires every blueprint and loop
    "app.server": ENTRY_POINTS,  # hypercorn around create_app
    "app.cli": ENTRY_POINTS,  # `kassa ...` commands
    "app.dev": ENTRY_POINTS,  # chain-neutral `kassa dev`: runs the server
    # The suite network plugins' tests subclass; it imports pytest, so no running code may
    # import it: the top layer, although its own imports (app.networks) would allow layer 0.
    "app.conformance": ENTRY_POINTS,
}


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(APP_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP_DIR.rglob("*.py"))}


def imports_of(module: str, path: Path) -> Iterator[Import]:
    """Every `import` statement of the module, anywhere in it, as absolute module names."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                # `from app import objects` imports the module app.objects, not app itself.
                submodule = f"{base}.{alias.name}"
                yield Import(module, submodule if submodule in app_modules() else base, node.lineno)


def is_app_module(name: str) -> bool:
    return name == "app" or name.startswith("app.")


@cache
def app_imports() -> tuple[Import, ...]:
    """Imports between app modules. A parent package run by Python before its submodule is
    not an edge: `import app.models` does not make models depend on create_app."""
    found: dict[tuple[str, str], Import] = {}
    for module, path in app_modules().items():
        for imp in imports_of(module, path):
            if is_app_module(imp.imported) and imp.imported != module:
                found.setdefault((imp.importer, imp.imported), imp)
    return tuple(found.values())


def layer_of(module: str) -> int | None:
    if module in LAYERS:
        return LAYERS[module]
    for pattern, layer in LAYERS.items():
        package = pattern.removesuffix(".*")
        if pattern.endswith(".*") and (module == package or module.startswith(f"{package}.")):
            return layer
    return None


def describe(module: str) -> str:
    layer = layer_of(module)
    return f"{module} ({layer} {LAYER_NAMES[layer]})" if layer is not None else module


def test_every_module_has_a_layer() -> None:
    missing = sorted(module for module in app_modules() if layer_of(module) is None)
    assert not missing, (
        f"no layer for {', '.join(missing)}: add each to LAYERS in tests/core/test_layers.py, "
        "in the lowest layer its imports allow, with a comment saying why"
    )


def test_no_import_reaches_up() -> None:
    upward = [
        f"{describe(imp.importer)} imports {describe(imp.imported)} "
        f"(app/{app_modules()[imp.importer].relative_to(APP_DIR)}:{imp.line})"
        for imp in app_imports()
        if (low := layer_of(imp.importer)) is not None
        and (high := layer_of(imp.imported)) is not None
        and high > low
    ]
    assert not upward, (
        "a lower layer never reaches up; move the code down, or pass it in from above:\n"
        + "\n".join(sorted(upward))
    )


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), as a path back to its start."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [shortest_cycle(min(group), group, edges) for group in groups]


def shortest_cycle(start: str, group: set[str], edges: dict[str, set[str]]) -> list[str]:
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges.get(node, set()) & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a cycle group but on no cycle")


def test_find_cycles_reports_each_cycle_as_a_path() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(find_cycles(edges)) == [["a", "b", "c", "a"], ["d", "e", "d"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = {}
    for imp in app_imports():
        edges.setdefault(imp.importer, set()).add(imp.imported)
    cycles = [" -> ".join(cycle) for cycle in find_cycles(edges)]
    assert not cycles, "import cycles (lazy and TYPE_CHECKING imports count):\n" + "\n".join(cycles)


def test_the_core_never_imports_a_plugin() -> None:
    offenders = [
        f"app/{path.relative_to(APP_DIR)}:{imp.line} imports {imp.imported}"
        for module, path in app_modules().items()
        for imp in imports_of(module, path)
        if imp.imported == "plugins" or imp.imported.startswith("plugins.")
    ]
    assert not offenders, "the core reaches plugins only through pluggy:\n" + "\n".join(offenders)


def test_the_checker_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.loops import BackgroundLoops\n"
        "def later():\n"
        "    import app.server\n"
        "    from app import objects, create_app\n"
    )
    found = {(imp.imported, imp.line) for imp in imports_of("app.sample", source)}
    assert {("app.loops", 3), ("app.server", 5), ("app.objects", 6), ("app", 6)} <= found
