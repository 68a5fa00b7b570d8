"""The plugin manager: built-in plugins load exactly like third-party ones (entry points).

`default_plugins()` names the entry points Kassa itself ships (group `kassa` in
pyproject.toml); the operator's `plugins` setting is an allow-list over every installed
entry point. The core works with any of them disabled.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from app import hookspecs
from app.hookspecs import hookimpl
from app.networks import PluginError, Registry, build_registry, install_registry

if TYPE_CHECKING:
    from app.config import Settings
    from app.models import Event, Payment
    from app.networks import Network

log = logging.getLogger("kassa.plugins")

ENTRY_POINT_GROUP = "kassa"


def default_plugins() -> tuple[str, ...]:
    """The entry points Kassa's own distribution declares (its built-in plugins)."""
    from importlib.metadata import distribution

    return tuple(
        sorted(ep.name for ep in distribution("kassa").entry_points if ep.group == "kassa")
    )


async def await_me_maybe(value: Any) -> Any:
    """Hook results may be plain values or awaitables; await the latter."""
    if inspect.isawaitable(value):
        return await value
    return value


class OperatorOverrides:
    """The operator's settings, applied ahead of every plugin default (`tryfirst`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl(tryfirst=True)
    def min_confirmations(self, network: Network) -> int | None:
        config = self.settings.networks.get(network.key)
        return None if config is None else config.confirmations


class NetworkDefaults:
    """The network's own policy, asked after every plugin (`trylast`)."""

    @hookimpl(trylast=True)
    def min_confirmations(self, network: Network) -> int | None:
        return network.finality.confirmations


def make_plugin_manager(
    settings: Settings, extra_plugins: Iterable[object] = ()
) -> pluggy.PluginManager:
    """Hookspecs, the allowed entry-point plugins, operator overrides, then `extra_plugins`.

    `check_pending()` runs last, so a misspelt hook implementation fails at startup.
    """
    pm = pluggy.PluginManager("kassa")
    pm.add_hookspecs(hookspecs)
    allowed = None if settings.plugins is None else set(settings.plugins)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and entry_point.name not in allowed:
            continue
        if pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:
            raise PluginError(f"plugin {entry_point.name!r} failed to load: {error}") from error
        pm.register(plugin, name=entry_point.name)
    if allowed is not None:
        missing = allowed - {name for name, _ in pm.list_name_plugin()}
        if missing:
            raise PluginError(f"plugins not installed: {', '.join(sorted(missing))}")
    pm.register(OperatorOverrides(settings), name="kassa.operator")
    pm.register(NetworkDefaults(), name="kassa.network_defaults")
    from app import quotes  # registers the operator's fixed rates

    pm.register(quotes, name="kassa.quotes")
    for plugin in extra_plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(str(error)) from error
    return pm


def start_registry(settings: Settings, extra_plugins: Iterable[object] = ()) -> Registry:
    """Load plugins, build the registry with its quote book, and install it for the process."""
    from app.quotes import QuoteBook

    registry = build_registry(settings, make_plugin_manager(settings, extra_plugins))
    registry.quote_book = QuoteBook(registry.price_sources, settings.quote_cache_max_age_seconds)
    install_registry(registry)
    return registry


# Notifications held back until an enclosing transaction commits (`held_until_commit`).
_held: ContextVar[list[tuple[pluggy.PluginManager, Payment, Event]] | None] = ContextVar(
    "kassa_held_notifications", default=None
)


@asynccontextmanager
async def held_until_commit() -> AsyncIterator[None]:
    """Wrap a transaction that encloses services (an Idempotency-Key's, whose handler's
    commits are only savepoints): `payment_status_changed` calls made inside wait until the
    block ends without an exception, and are dropped if it raises (nothing was committed)."""
    held: list[tuple[pluggy.PluginManager, Payment, Event]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    for pm, payment, event in held:
        await notify_payment_status_changed(pm, payment, event)


async def notify_payment_status_changed(
    pm: pluggy.PluginManager, payment: Payment, event: Event
) -> None:
    """Run `payment_status_changed` after commit, each implementation on its own: one
    failing listener is logged and never keeps the others from hearing about it."""
    held = _held.get()
    if held is not None:
        held.append((pm, payment, event))  # an enclosing transaction has not committed yet
        return
    arguments = {"payment": payment, "event": event}
    # pluggy calls the most recently registered implementation first; keep that order.
    for impl in reversed(pm.hook.payment_status_changed.get_hookimpls()):
        try:
            await await_me_maybe(impl.function(**{n: arguments[n] for n in impl.argnames}))
        except Exception:
            log.exception(
                "plugin %s failed in payment_status_changed for %s", impl.plugin_name, payment.id
            )


def hook_names() -> list[str]:
    """Every hook of the contract (the docs and test-coverage checks use this)."""
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, "kassa_spec")
    )
