"""What a shopper may pay with: (network, token) pairs allowed, enabled and payable.

A pair is offered when the session allows it and `app.payments.payable_network` accepts the
network (enabled, in the session's mode, with a valid payout address of the merchant): the
same check payment creation makes, so the page never offers what Pay would refuse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.models import CheckoutSession, Merchant
from app.networks import Network, PluginError, Token, current_registry
from app.payments import PaymentRefused, payable_network

log = logging.getLogger("kassa.checkout")


@dataclass(frozen=True, slots=True)
class PaymentOption:
    """One choice on the page; `value` is what the form posts (`network:SYMBOL`)."""

    network: Network
    token: Token

    @property
    def value(self) -> str:
        return f"{self.network.key}:{self.token.symbol.upper()}"

    @property
    def label(self) -> str:
        return f"{self.token.symbol} on {self.network.name}"


def payment_options(session: CheckoutSession, merchant: Merchant) -> list[PaymentOption]:
    """The pairs this session can be paid with, in the session's order of networks."""
    try:
        registry = current_registry()
    except PluginError:
        return []
    allowed_symbols = [s.upper() for s in session.allowed_crypto_currencies]
    options: list[PaymentOption] = []
    for key in session.allowed_networks:
        try:
            network, _ = payable_network(
                registry, session.livemode, key, merchant.payout_addresses, "network"
            )
        except PaymentRefused:
            continue
        for symbol in allowed_symbols:
            token = registry.token(key, symbol)
            if token is not None:
                options.append(PaymentOption(network, token))
    return options


def find_option(options: list[PaymentOption], value: str | None) -> PaymentOption | None:
    if not value:
        return None
    for option in options:
        if option.value == value:
            return option
    return None
