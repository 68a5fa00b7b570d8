"""The plugin contract: Kassa's pluggy hook specifications (and nothing else).

Hooks are called with keyword arguments; an implementation may accept any subset of them.
See docs/plugin_hooks.md for every hook with an example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from app.config import Settings
    from app.models import Event, Payment
    from app.networks import Network, PriceSource, Token

hookspec = pluggy.HookspecMarker("kassa")
hookimpl = pluggy.HookimplMarker("kassa")


# ---- startup: registration (called once, results collected from every plugin) ----


@hookspec
def register_networks(settings: Settings) -> list[Network] | None:
    """Return the networks this plugin provides that the operator enabled in `settings`.

    Called once at startup. Each item satisfies `app.networks.Network`. Two networks with
    the same key or chain id (from any plugins) are a startup error.
    """


@hookspec
def register_tokens(network: Network, settings: Settings) -> list[Token] | None:
    """Return the tokens payable on `network` (the native coin is added by the core).

    Called once per registered network at startup. Two different tokens with the same
    symbol on one network are a startup error.
    """


@hookspec
def register_price_sources(settings: Settings) -> list[PriceSource] | None:
    """Return price sources (`app.networks.PriceSource`), asked in registration order.

    Called once at startup. The first source that quotes a pair wins; a failing source is
    skipped, and the core falls back to a cached rate young enough.
    """


# ---- payments (firstresult hooks: synchronous, the first non-None result wins) ----


@hookspec(firstresult=True)
def min_confirmations(network: Network, token: Token, amount: int) -> int | None:
    """Return how many confirmations a payment of `amount` base units of `token` needs.

    firstresult: stops at the first non-None result. Network plugins implement the default
    as `trylast`; an operator override is `tryfirst`. Called when a payment is created; the
    value is stored on the payment. Must be synchronous.
    """


@hookspec(firstresult=True)
def build_payment_request(payment: Payment, network: Network, token: Token) -> Any | None:
    """Return what a wallet needs to pay `payment`, or None if this plugin cannot.

    firstresult: stops at the first non-None result. The result is a mapping with `to`,
    `data`, `value` (int), `eip681_uri` and, for tokens, `approve` (`{token, spender,
    amount}`). `payment` already carries its signed intent (`intent_*` fields). Called
    when a payment is created. Must be synchronous.
    """


# ---- notifications ----


@hookspec
def payment_status_changed(payment: Payment, event: Event) -> Any:
    """Called after a payment event (`payment.*`) committed; the return value is ignored.

    May return an awaitable, which the core awaits. Exceptions are logged, never raised:
    the change already happened.
    """
