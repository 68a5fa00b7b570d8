"""The checkout's languages: which locales exist, choosing one for a shopper, translating and
formatting amounts in it.

English is the source language: the texts in templates and code are the English page, and
app/translations holds one Babel catalog per other locale (`make catalogs` extracts, updates
and compiles them; the compiled .mo files are committed, see docs/operations.md). The locale
of the text being rendered lives in a context variable: the checkout sets it per request
(`use_locale`), and the live status stream sets it around each render, so one Jinja
environment serves every language.
"""

from __future__ import annotations

import contextlib
import functools
import gettext as gettext_module
import re
from collections.abc import Iterator
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.numbers import format_currency, get_decimal_symbol, get_group_symbol
from babel.support import LazyProxy, Translations
from jinja2 import Environment

from app.money import FiatAmount, currency_exponent
from app.resources import translations_folder

# Locales a session may name (`locale`), besides "auto" (the shopper's Accept-Language).
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "de", "fr", "es", "pt", "it")
DEFAULT_LOCALE = "en"
AUTO_LOCALE = "auto"
# One message catalog for the core and the plugins' templates (docs/plugin_hooks.md).
DOMAIN = "messages"

# A header is the client's text: only this many language ranges are read, each a plain tag.
_MAX_ACCEPT_LANGUAGE_RANGES = 20
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_QUALITY = re.compile(r"^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")

_current_locale: ContextVar[str] = ContextVar("kassa_locale", default=DEFAULT_LOCALE)


# ----------------------------------------------------------------------------- choosing


def supported_locale(value: str | None) -> str | None:
    """The supported locale a code names ("de", "de-CH", "pt_BR" -> its language), else None."""
    if not value:
        return None
    tag = value.strip().replace("_", "-")
    if not _LANGUAGE_TAG.match(tag):
        return None
    language = tag.split("-", 1)[0].lower()
    return language if language in SUPPORTED_LOCALES else None


def accepted_languages(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, best first (q-values, then order)."""
    ranked: list[tuple[Decimal, int, str]] = []
    for position, item in enumerate((header or "").split(",")[:_MAX_ACCEPT_LANGUAGE_RANGES]):
        tag, *parameters = (part.strip() for part in item.split(";"))
        if not _LANGUAGE_TAG.match(tag):
            continue  # "*", blanks and garbage choose nothing
        quality = Decimal(1)
        for parameter in parameters:
            match = _QUALITY.match(parameter.replace(" ", ""))
            if match:
                quality = Decimal(match.group(1))
        if quality > 0:  # q=0 means "not this language"
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an Accept-Language header; English when none fits."""
    preferred = [tag.replace("_", "-") for tag in accepted_languages(accept_language)]
    # Babel matches "de-AT" to "de" (the language alone) once the exact tag is not offered.
    chosen = negotiate_locale(preferred, SUPPORTED_LOCALES, sep="-", aliases={})
    return chosen or DEFAULT_LOCALE


def session_locale(locale: str | None, accept_language: str | None) -> str:
    """A session's page language: its fixed `locale` wins; "auto" (or none) asks the header."""
    if locale and locale != AUTO_LOCALE:
        fixed = supported_locale(locale)
        if fixed is not None:
            return fixed
    return negotiate(accept_language)


# ----------------------------------------------------------------------------- translating


@functools.cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The compiled catalog of `locale` (English, the source language, needs none)."""
    if locale == DEFAULT_LOCALE or locale not in SUPPORTED_LOCALES:
        return gettext_module.NullTranslations()
    loaded = Translations.load(str(translations_folder()), [locale], DOMAIN)
    if not isinstance(loaded, Translations):
        # Babel answers a NullTranslations when the .mo file is missing: a broken install.
        raise FileNotFoundError(
            f"app/translations/{locale}/LC_MESSAGES/{DOMAIN}.mo is missing from this Kassa "
            "installation: reinstall Kassa (from a checkout: make catalogs)"
        )
    return loaded


def current_locale() -> str:
    return _current_locale.get()


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Render in `locale` inside the block (the previous locale comes back after it)."""
    token = _current_locale.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)
    try:
        yield _current_locale.get()
    finally:
        _current_locale.reset(token)


def set_locale(locale: str) -> str:
    """Render in `locale` from here to the end of the current task (one request)."""
    _current_locale.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)
    return _current_locale.get()


def _translate(message: str) -> str:
    return translations(_current_locale.get()).gettext(message)


def _translate_plural(singular: str, plural: str, n: int) -> str:
    return translations(_current_locale.get()).ngettext(singular, plural, n)


def gettext(message: str, **variables: Any) -> str:
    """`message` in the current locale, with `%(name)s` placeholders filled from `variables`."""
    text = _translate(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The singular or plural form for `n` in the current locale; `%(num)d` is `n`."""
    return _translate_plural(singular, plural, n) % {"num": n, **variables}


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """A text translated when it is shown (module constants are made before any request)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def install_gettext(env: Environment) -> None:
    """`_()`, `gettext()` and `ngettext()` in every template, reading the current locale.

    New-style gettext: `_("Pay %(name)s", name=x)` fills and escapes the placeholders itself,
    and a translation may carry the same inline HTML as its English text.
    """
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _translate, _translate_plural, newstyle=True
    )
    env.globals["current_locale"] = current_locale
    env.filters["fiat_amount"] = format_fiat
    env.filters["crypto_amount"] = format_crypto


# ----------------------------------------------------------------------------- formatting


def format_fiat(amount: FiatAmount, locale: str | None = None) -> str:
    """The amount with its currency as the locale writes it: "€50.00" (en), "50,00 €" (de)."""
    value = Decimal(amount.minor_units).scaleb(-currency_exponent(amount.currency))
    return format_currency(value, amount.currency, locale=locale or _current_locale.get())


def format_crypto(amount: str, locale: str | None = None) -> str:
    """An exact decimal string ("1234.027028") with the locale's separators ("1.234,027028").

    Every digit stays: the text is regrouped, never parsed into a number (18-decimal amounts
    have more digits than Babel's decimal context keeps). Anything else comes back unchanged.
    """
    whole, point, fraction = str(amount).partition(".")
    if not whole.isascii() or not whole.isdigit() or (point and not fraction.isdigit()):
        return str(amount)
    chosen = _babel_locale(locale or _current_locale.get())
    groups: list[str] = []
    while len(whole) > 3:
        whole, group = whole[:-3], whole[-3:]
        groups.insert(0, group)
    text = get_group_symbol(chosen).join([whole, *groups])
    return f"{text}{get_decimal_symbol(chosen)}{fraction}" if point else text


@functools.cache
def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)
