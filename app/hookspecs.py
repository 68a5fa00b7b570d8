"""The plugin contract: Kassa's pluggy hook specifications (and nothing else).

Hooks are called with keyword arguments; an implementation may accept any subset of them.
docs/plugin_hooks.md is the plugin author's guide: every hook, the `Network` protocol and a
worked non-EVM example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from app.config import Settings
    from app.models import Event, Payment
    from app.networks import Network, PriceSource, Token

hookspec = pluggy.HookspecMarker("kassa")
hookimpl = pluggy.HookimplMarker("kassa")


# ---- startup: registration (called once, results collected from every plugin) ----


@hookspec
def register_networks(settings: Settings) -> list[Network] | None:
    """Return the networks this plugin provides that the operator enabled in `settings`.

    Called once at startup. Each item satisfies `app.networks.Network`. Validate your part of
    `settings.networks[KEY]` here (raise `app.networks.PluginError` with a clear message).
    Two networks with the same key or `chain_ref` (from any plugins) are a startup error.
    """


@hookspec
def register_tokens(network: Network, settings: Settings) -> list[Token] | None:
    """Return the tokens payable on `network` (the native coin is added by the core).

    Called once per registered network at startup; return None for networks you do not know.
    Two different tokens with the same symbol on one network are a startup error.
    """


@hookspec
def register_price_sources(settings: Settings) -> list[PriceSource] | None:
    """Return price sources (`app.networks.PriceSource`), asked in registration order.

    Called once at startup. The first source that quotes a pair wins; a failing source is
    skipped, and the core falls back to a cached rate young enough.
    """


@hookspec
def register_blueprints(settings: Settings) -> list[Any] | None:
    """Return Quart blueprints: extra routes, templates and static files of this plugin.

    A network's `pay_template` and `checkout_scripts` name files these blueprints serve
    (templates by name; static files under `/static/plugins/NAME/`, where NAME is the
    blueprint's name). Called once when the app is created.
    """


@hookspec
def register_commands(subcommands: argparse._SubParsersAction[Any], command: Any) -> None:
    """Add `kassa` subcommands. `command(subcommands, name, handler, help)` adds one (with
    `--json`) and returns its parser; `handler(args, settings)` is async and raises
    `app.cli.CliError` for problems the operator can fix. Called when the CLI starts; add a
    command only if `subcommands.choices` does not have it yet (plugins may share one).
    """


@hookspec(firstresult=True)
def dev_network(state_dir: Path, settings: Settings) -> Any:
    """For `kassa dev`: start a local chain and return an awaitable of `app.dev.DevNetwork`.

    firstresult: the first plugin that can run a local chain answers; return None otherwise.
    State that must survive a restart goes in `state_dir`.
    """


# ---- payments (firstresult hooks: synchronous, the first non-None result wins) ----


@hookspec(firstresult=True)
def min_confirmations(network: Network, token: Token, amount: int) -> int | None:
    """Return how many confirmations a payment of `amount` base units of `token` needs.

    firstresult: stops at the first non-None result. The operator's override runs first
    (`tryfirst`), the network's own `finality.confirmations` last (`trylast`); a plugin may
    add a policy in between (e.g. more confirmations for large amounts). Called when a payment
    is created; the value is stored on the payment. Must be synchronous.
    """


# ---- notifications ----


@hookspec
def payment_status_changed(payment: Payment, event: Event) -> Any:
    """Called after a payment event (`payment.*`) committed; the return value is ignored.

    May return an awaitable, which the core awaits. Exceptions are logged, never raised:
    the change already happened.
    """
