"""The checkout in the shopper's language: catalogs complete and compiled, the locale chosen
per session and per request (pages, fragments, the live status stream), amounts per locale.

The catalog tests extract the messages in-process with Babel over the same folders and
babel.cfg `make catalogs` uses, so a text added to a template or to the checkout's code
without a translation fails here, not in front of a shopper.
"""

from __future__ import annotations

import asyncio
import contextlib
import gettext
import html as html_module
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from quart.typing import TestClientProtocol as Client

from app.i18n import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    accepted_languages,
    format_crypto,
    format_fiat,
    negotiate,
    session_locale,
    translations,
)
from app.models import CheckoutSession, Payment
from app.money import FiatAmount
from app.quotes import FixedRateSource, QuoteBook
from app.resources import translations_folder
from tests.checkout.conftest import create_session
from tests.conftest import MerchantKeys

REPO = Path(__file__).resolve().parents[2]
# The folders `make catalogs` extracts from, with its keywords (Makefile: `-k lazy_gettext`).
SOURCES = ("app", "plugins", "templates")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
TRANSLATED = [locale for locale in SUPPORTED_LOCALES if locale != DEFAULT_LOCALE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TAG = re.compile(r"</?\w+[^>]*>")
HTMX = {"HX-Request": "true"}
NBSP = {"\xa0": " ", "\u202f": " "}


def plain(text: str) -> str:
    """Text with no-break spaces as plain spaces (CLDR puts them inside amounts)."""
    for space, replacement in NBSP.items():
        text = text.replace(space, replacement)
    return text


# ----------------------------------------------------------------------------- catalogs


def extracted_messages() -> dict[str | tuple[str, str], str]:
    """Every translatable text in the sources now -> where it is (file:line)."""
    with open(REPO / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, str], str] = {}
    for folder in SOURCES:
        for filename, line, message, _, _ in extract_from_dir(
            str(REPO / folder), method_map, options_map, keywords=KEYWORDS
        ):
            key = message if isinstance(message, str) else (message[0], message[1])
            found.setdefault(key, f"{folder}/{filename}:{line}")
    return found


def catalog(locale: str) -> Catalog:
    with open(translations_folder() / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def test_extraction_finds_the_page_texts() -> None:
    """The extraction sees templates, plugin templates and Python (else the next test is void)."""
    messages = extracted_messages()
    assert "Send exactly" in messages  # templates/_pay.html
    assert "Pay with browser wallet" in messages  # plugins/evm/templates/evm/pay.html
    assert "Choose a currency to pay with." in messages  # app/checkout/routes.py, gettext
    assert "No networks are enabled." in messages  # app/checkout/preview.py
    assert any("price requests" in str(key) for key in messages)  # lazy_gettext
    assert any(isinstance(key, tuple) for key in messages)  # ngettext


WALLET_SCRIPT = REPO / "plugins" / "evm" / "static" / "wallet.js"
WALLET_TEMPLATE = REPO / "plugins" / "evm" / "templates" / "evm" / "pay.html"
STRING = r'"((?:[^"\\]|\\.)*)"'


def test_wallet_script_asks_for_every_message_the_template_translates() -> None:
    """wallet.js says nothing of its own: each text goes through `text(key, english)`, and
    evm/pay.html renders the same key with the same English text through `_()` (so the
    extraction above, and with it the catalog check, sees every message the script shows)."""
    script = WALLET_SCRIPT.read_text()
    asked = dict(re.findall(r'\btext\(\s*"(\w+)",\s*' + STRING, script))
    rendered = dict(re.findall(r'"(\w+)":\s*_\(\s*' + STRING, WALLET_TEMPLATE.read_text()))
    assert len(asked) >= 25
    assert asked == rendered
    # No English sentence bypasses the catalog: status lines, errors, labels, the retry button.
    assert not re.search(r'\b(?:say|fail)\(\s*["\']', script)
    assert not re.search(r'textContent\s*=\s*["\']\w', script)
    assert set(asked.values()) <= set(extracted_messages())


def catalog_problems(translated: Catalog, messages: dict[str | tuple[str, str], str]) -> list[str]:
    """What is wrong with a locale's catalog for these messages: a translation missing, empty
    or fuzzy, or not the same placeholders and HTML tags (it may move them, never drop or add
    one)."""
    problems = []
    for key, where in sorted(messages.items(), key=str):
        message = translated.get(key[0] if isinstance(key, tuple) else key)
        if message is None or not message.string:
            problems.append(f"missing: {key!r} ({where})")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {key!r} ({where})")
        source = key[-1] if isinstance(key, tuple) else key
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            if not form:
                problems.append(f"a plural form is empty: {key!r} ({where})")
            elif set(PLACEHOLDER.findall(form)) != set(PLACEHOLDER.findall(source)):
                problems.append(f"placeholders differ: {key!r} -> {form!r}")
            elif sorted(TAG.findall(form)) != sorted(TAG.findall(source)):
                problems.append(f"HTML tags differ: {key!r} -> {form!r}")
    return problems


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale: str) -> None:
    problems = catalog_problems(catalog(locale), extracted_messages())
    assert not problems, f"{locale}: run `make catalogs` and translate:\n" + "\n".join(problems)


def test_the_check_fails_on_a_missing_or_broken_message() -> None:
    """The check above is real: a message dropped, made fuzzy, or with a placeholder or a tag
    lost is reported."""
    messages = extracted_messages()
    translated = catalog("de")
    assert catalog_problems(translated, messages) == []
    del translated["Send exactly"]
    translated["Pay %(merchant)s"].string = "Bezahlen"
    translated["Amount due:"].flags.add("fuzzy")
    key = "Send exactly <strong>%(amount)s %(symbol)s</strong> on %(network)s to this address:"
    translated[key].string = "Senden Sie genau %(amount)s %(symbol)s im Netzwerk %(network)s:"
    new_text = {"A text added to a template without a translation": "templates/x.html:1"}
    problems = catalog_problems(translated, {**messages, **new_text})
    assert len(problems) == 5, problems
    assert any(problem.startswith("missing: 'Send exactly'") for problem in problems)
    assert any("A text added" in problem for problem in problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_compiled_catalogs_match_their_po_files(locale: str) -> None:
    """The committed .mo (what Kassa reads) says exactly what the .po says: `make catalogs`."""
    with open(translations_folder() / locale / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for message in catalog(locale):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            for index, form in enumerate(message.string):
                expected[(message.id[0], index)] = form
        else:
            expected[message.id] = message.string
    assert {key: value for key, value in compiled.items() if key != ""} == expected, (
        f"app/translations/{locale}/LC_MESSAGES/messages.mo is stale: run `make catalogs`"
    )


def test_every_supported_locale_loads() -> None:
    assert translations("de").gettext("Pay with") == "Bezahlen mit"
    assert translations("fr").gettext("Pay with") == "Payer avec"
    assert translations("en").gettext("Pay with") == "Pay with"


# ----------------------------------------------------------------------------- choosing


def test_accept_language_is_ranked_by_quality_then_order() -> None:
    assert accepted_languages("fr;q=0.5, de-AT;q=0.9, it") == ["it", "de-AT", "fr"]
    assert accepted_languages("es, pt;q=1.0") == ["es", "pt"]
    assert accepted_languages("de;q=0, *;q=0.1, ;q=, x" * 3) == ["x"]
    assert accepted_languages(None) == [] and accepted_languages("") == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("ja, fr;q=0.3", "fr"),  # the first supported one, after an unsupported favourite
        ("pt-BR", "pt"),
        ("fr;q=0.2, it;q=0.7", "it"),
        ("ja, zh-CN", "en"),  # nothing supported: English
        ("de;q=0", "en"),  # "not German"
        ("*", "en"),
        ("", "en"),
        (None, "en"),
        ("\x00\xff;;;q=2,,,", "en"),
        ("de;q=abc", "de"),  # an unreadable quality is the default, 1
        ("x" * 10_000, "en"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_a_fixed_session_locale_wins_over_the_header() -> None:
    assert session_locale("fr", "de") == "fr"
    assert session_locale("auto", "de") == "de"
    assert session_locale("auto", None) == "en"
    assert session_locale("pt-BR", "it") == "pt"
    assert session_locale("tlh", "es") == "es"  # an unknown stored value asks the header


# ----------------------------------------------------------------------------- formatting


def test_fiat_totals_per_locale() -> None:
    fifty_euros = FiatAmount(5000, "EUR")
    assert format_fiat(fifty_euros, "en") == "€50.00"
    assert plain(format_fiat(fifty_euros, "de")) == "50,00 €"
    assert plain(format_fiat(fifty_euros, "fr")) == "50,00 €"
    assert plain(format_fiat(FiatAmount(1050, "JPY"), "de")) == "1.050 ¥"  # no minor units
    assert format_fiat(FiatAmount(123456789, "USD"), "en") == "$1,234,567.89"


def test_crypto_amounts_keep_every_digit() -> None:
    """Separators change; digits never do (no float, no rounding, no Decimal context)."""
    assert format_crypto("0.027028", "en") == "0.027028"
    assert format_crypto("0.027028", "de") == "0,027028"
    assert format_crypto("1234.027027027027027028", "de") == "1.234,027027027027027028"
    assert plain(format_crypto("1234567.5", "fr")) == "1 234 567,5"
    huge = "123456789012345678901234567890.000000000000000001"
    assert format_crypto(huge, "it").replace(".", "").replace(",", ".") == huge
    assert format_crypto("12", "de") == "12"
    assert format_crypto("not a number", "de") == "not a number"
    assert Decimal(format_crypto("0.1", "en")) == Decimal("0.1")


# ----------------------------------------------------------------------------- pages


@pytest.fixture
def euro_rates(registry: Any) -> None:
    """The fake registry prices ETH and USDC in euros too (a EUR session is refused without)."""
    registry.quote_book = QuoteBook(
        [
            FixedRateSource(
                {
                    "ETH/USD": Decimal(2000),
                    "USDC/USD": Decimal(1),
                    "ETH/EUR": Decimal(1850),
                    "USDC/EUR": Decimal("0.92"),
                }
            )
        ],
        60,
    )


async def euro_session(client: Client, keys: MerchantKeys, **overrides: Any) -> dict[str, Any]:
    return await create_session(client, keys, amount_fiat="50.00", currency="EUR", **overrides)


async def page(client: Client, path: str, language: str | None, **headers: str) -> str:
    if language is not None:
        headers["Accept-Language"] = language
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, path
    return plain(await response.get_data(as_text=True))


async def test_german_page(
    client: Client,
    payable_merchant: MerchantKeys,
    euro_rates: None,
    fresh_rate_limits: None,
) -> None:
    created = await euro_session(client, payable_merchant)
    html = await page(client, f"/checkout/{created['id']}", "de-DE,de;q=0.9,en;q=0.5")
    assert '<html lang="de">' in html
    assert "50,00 €" in html
    assert "<legend>Bezahlen mit</legend>" in html and "im Netzwerk Local devnet" in html
    assert "Wählen Sie eine Währung und klicken Sie dann auf Bezahlen." in html  # status line
    assert "Läuft ab in <time" in html and "Status aktualisieren" in html
    assert "Pay with" not in html and "Refresh status" not in html
    # The preview fragment: the crypto amount with a decimal comma (50 / 1850 ETH, rounded up
    # to the display precision).
    preview = await page(
        client,
        f"/checkout/{created['id']}/preview?option=devnet:ETH",
        "de",
        **HTMX,
    )
    assert "Sie zahlen <strong" in preview and "0,027028 ETH</strong>" in preview


async def test_the_session_locale_beats_the_header(
    client: Client,
    payable_merchant: MerchantKeys,
    euro_rates: None,
    fresh_rate_limits: None,
) -> None:
    created = await euro_session(client, payable_merchant, locale="fr")
    html = await page(client, f"/checkout/{created['id']}", "de")
    assert '<html lang="fr">' in html
    assert "50,00 €" in html and "Payer avec" in html and "Bezahlen mit" not in html


@pytest.mark.parametrize("header", ["ja,zh;q=0.8", None])
async def test_unsupported_or_no_language_is_english(
    client: Client, session: CheckoutSession, header: str | None
) -> None:
    html = await page(client, f"/checkout/{session.id}", header)
    assert '<html lang="en">' in html and "$12.34" in html and "Pay with" in html


async def test_each_request_negotiates_again(client: Client, session: CheckoutSession) -> None:
    """One session, shoppers with different browsers: the language never sticks."""
    assert '<html lang="it">' in await page(client, f"/checkout/{session.id}", "it")
    assert '<html lang="en">' in await page(client, f"/checkout/{session.id}", None)
    es = await page(client, f"/checkout/{session.id}", "es-MX")
    assert "12,34 US$" in es and "Pagar con" in es


async def test_notices_and_pay_step_in_the_session_language(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    headers = {"Accept-Language": "pt-PT"}
    html = await page(client, f"/checkout/{session.id}", "pt")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert token
    refused = await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "nothing"},
        headers={**HTMX, **headers, "X-CSRF-Token": token.group(1)},
    )
    assert refused.status_code == 400
    assert "Escolha uma moeda para pagar." in await refused.get_data(as_text=True)
    paid = await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "devnet:USDC"},
        headers={**HTMX, **headers, "X-CSRF-Token": token.group(1)},
    )
    step = plain(await paid.get_data(as_text=True))
    assert paid.status_code == 200
    assert "Envie exatamente" in step and "A aguardar a sua transação…" in step
    # Displayed with the locale's separators; what the shopper copies stays machine format.
    assert '<output id="amount-due" class="crypto">12,34</output> USDC' in step
    assert 'data-copy="12.34"' in step


async def test_wallet_messages_in_the_pay_step_language(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    """The pay step hands wallet.js its texts in the page's language, placeholders intact."""
    html = await page(client, f"/checkout/{session.id}", "de")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert token
    paid = await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "devnet:ETH"},
        headers={**HTMX, "Accept-Language": "de", "X-CSRF-Token": token.group(1)},
    )
    assert paid.status_code == 200
    attribute = re.search(r"data-messages='([^']*)'", await paid.get_data(as_text=True))
    assert attribute
    messages = json.loads(html_module.unescape(attribute.group(1)))
    assert messages["rejected"] == "Sie haben die Anfrage in Ihrer Wallet abgelehnt."
    assert messages["try_again"] == "Erneut versuchen"
    assert messages["switching"] == "Ihre Wallet wird auf %(network)s umgestellt…"
    assert messages["wallet_error"] == "Die Wallet hat einen Fehler gemeldet: %(detail)s."
    english = await page(client, f"/checkout/{session.id}", "en")
    assert "You rejected the request in your wallet." in html_module.unescape(english)


@contextlib.asynccontextmanager
async def status_stream(
    client: Client, session_id: str, language: str, address: str
) -> AsyncIterator[Any]:
    connection: Any = client.request(
        f"/checkout/{session_id}/events",
        headers={"Accept-Language": language},
        scope_base={"client": (address, 40000)},
    )
    async with connection:
        await connection.send_complete()
        assert await asyncio.wait_for(connection.receive(), 10) == b"retry: 3000\n\n"
        try:
            yield connection
        finally:
            await connection.disconnect()


async def next_event(connection: Any) -> str:
    return plain((await asyncio.wait_for(connection.receive(), 10)).decode())


async def test_status_stream_speaks_each_stream_language(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    """Streams of one session in two languages: each gets its own, on joining and on a change."""
    async with (
        status_stream(client, session.id, "de", "192.0.2.71") as german,
        status_stream(client, session.id, "en", "192.0.2.72") as english,
    ):
        assert "Wählen Sie eine Währung" in await next_event(german)
        assert "Choose a currency, then press Pay." in await next_event(english)
        # A third stream joining in a language not yet rendered gets its own at once.
        async with status_stream(client, session.id, "fr;q=0.9", "192.0.2.73") as french:
            assert "Choisissez une devise, puis appuyez sur Payer." in await next_event(french)
        await CheckoutSession.filter(id=session.id).update(status="canceled")
        assert "Dieser Bezahlvorgang wurde abgebrochen." in await next_event(german)
        assert "This checkout was canceled." in await next_event(english)


async def test_status_lines_with_amounts_and_plurals(
    client: Client, session: CheckoutSession, fake_payments: None
) -> None:
    html = await page(client, f"/checkout/{session.id}", None)
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert token
    await client.post(
        f"/checkout/{session.id}/pay",
        form={"option": "devnet:ETH"},
        headers={**HTMX, "X-CSRF-Token": token.group(1)},
    )
    payment = await Payment.get(session_id=session.id)
    await Payment.filter(id=payment.id).update(tx_hash="0x" + "ab" * 32, confirmations=1)
    status = f"/checkout/{session.id}/status"
    assert "Transaktion erkannt: 1 von 2 Bestätigungen." in await page(client, status, "de", **HTMX)
    assert "Transaction détectée : 1 sur 2 confirmations." in await page(
        client, status, "fr", **HTMX
    )
    await Payment.filter(id=payment.id).update(confirmations=0, amount_received=10**15)
    await Payment.filter(id=payment.id).update(tx_hash=None)
    underpaid = await page(client, status, "it", **HTMX)
    assert "Abbiamo ricevuto 0,001 ETH." in underpaid
    assert "<strong>Mancano ancora 0,00517 ETH</strong>" in underpaid
