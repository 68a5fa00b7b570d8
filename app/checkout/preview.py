"""The crypto amount shown before Pay: the same quote and rounding the payment will lock."""

from __future__ import annotations

from app.checkout.options import PaymentOption
from app.i18n import gettext
from app.models import CheckoutSession
from app.money import FiatAmount, base_units_to_decimal
from app.networks import PluginError, Registry, current_registry
from app.quotes import QuoteBook, QuoteUnavailable, token_units_for

# Rates this old may still be shown in a preview when every source is down; the payment
# itself locks a fresh quote (or the payments module's own fallback) when Pay is pressed.
PREVIEW_MAX_RATE_AGE_SECONDS = 300.0
# Previews are unauthenticated: within this long, every preview of a pair shares one ask of
# the price sources (300 previews in a burst make one upstream call, not 300).
PREVIEW_QUOTE_REUSE_SECONDS = 5.0


class PreviewUnavailable(RuntimeError):
    """No price for the pair right now; the page says so instead of guessing."""


_books: dict[int, QuoteBook] = {}


def _quote_book(registry: Registry) -> QuoteBook:
    """The registry's book (shared with payment creation), else one kept per registry."""
    if isinstance(registry.quote_book, QuoteBook):
        return registry.quote_book
    book = _books.get(id(registry))
    if book is None:
        _books.clear()
        book = QuoteBook(registry.price_sources, PREVIEW_MAX_RATE_AGE_SECONDS)
        _books[id(registry)] = book
    return book


async def preview_amount(session: CheckoutSession, option: PaymentOption) -> str:
    """The crypto amount for `option`, as an exact decimal string (rounded up)."""
    try:
        registry = current_registry()
    except PluginError:
        raise PreviewUnavailable(gettext("No networks are enabled.")) from None
    try:
        quote = await _quote_book(registry).quote(
            option.token.symbol,
            session.fiat_currency,
            reuse_seconds=PREVIEW_QUOTE_REUSE_SECONDS,
        )
    except QuoteUnavailable:
        raise PreviewUnavailable(
            gettext("No %(symbol)s price is available right now.", symbol=option.token.symbol)
        ) from None
    fiat = FiatAmount(session.amount_fiat_cents, session.fiat_currency)
    units = token_units_for(fiat, quote.rate, option.token)
    return base_units_to_decimal(units, option.token.decimals)
