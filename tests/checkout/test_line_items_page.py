"""The checkout page lists a session's line items above its total, read with one query."""

from __future__ import annotations

import html as html_module
import logging
import re
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from tests.checkout.conftest import create_session
from tests.conftest import MerchantKeys

ITEMS: list[dict[str, Any]] = [
    {
        "price_data": {
            "currency": "usd",
            "unit_amount": 1250,
            "product_data": {"name": "Earl Grey", "description": "Loose leaf, 100 g"},
        },
        "quantity": 2,
    },
    {
        "price_data": {
            "currency": "usd",
            "unit_amount": 1999,
            "product_data": {"name": "Teapot <b>&</b>"},
        },
        "quantity": 1,
    },
    {
        "price_data": {
            "currency": "usd",
            "unit_amount": 350,
            "product_data": {"name": "Scone", "description": "<script>alert(1)</script>"},
        },
        "quantity": 3,
    },
]


async def items_session(client: Client, keys: MerchantKeys, **overrides: Any) -> dict[str, Any]:
    return await create_session(
        client, keys, amount_fiat=None, currency=None, line_items=ITEMS, **overrides
    )


def line_texts(page: str) -> list[str]:
    """Each listed item's text, tags dropped and whitespace collapsed."""
    found = re.findall(r'<li class="line-item">(.*?)</li>', page, re.S)
    return [html_module.unescape(" ".join(re.sub(r"<[^>]+>", " ", item).split())) for item in found]


async def test_items_are_listed_above_the_total(
    client: Client, payable_merchant: MerchantKeys, registry: Any, fresh_rate_limits: None
) -> None:
    session = await items_session(client, payable_merchant)
    response = await client.get(f"/checkout/{session['id']}")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert line_texts(page) == [
        "Earl Grey $25.00 Loose leaf, 100 g 2 × $12.50",
        "Teapot <b>&</b> $19.99 1 × $19.99",
        "Scone $10.50 <script>alert(1)</script> 3 × $3.50",
    ]
    # Names and descriptions are the merchant's text, shown as text.
    assert "Teapot &lt;b&gt;&amp;&lt;/b&gt;" in page and "<script>alert(1)" not in page
    # The list comes before the total, which is their sum.
    assert page.index('class="line-items"') < page.index('class="amount"')
    assert re.search(r'class="amount">.*\$55\.49</h1>', page)


async def test_amounts_follow_the_page_language(
    client: Client, payable_merchant: MerchantKeys, registry: Any, fresh_rate_limits: None
) -> None:
    session = await items_session(client, payable_merchant, locale="de")
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    texts = [text.replace("\xa0", " ") for text in line_texts(page)]
    assert texts[0] == "Earl Grey 25,00 $ Loose leaf, 100 g 2 × 12,50 $"


async def test_a_session_with_a_plain_amount_lists_nothing(
    client: Client, payable_merchant: MerchantKeys, registry: Any, fresh_rate_limits: None
) -> None:
    session = await create_session(client, payable_merchant)
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert 'class="line-items"' not in page


async def test_one_query_reads_every_item(
    client: Client,
    payable_merchant: MerchantKeys,
    registry: Any,
    fresh_rate_limits: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three items, one SELECT of line_items (the database client logs every statement)."""
    session = await items_session(client, payable_merchant)
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        response = await client.get(f"/checkout/{session['id']}")
    assert response.status_code == 200
    statements = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("tortoise.db_client")
    ]
    assert statements, "the database client logged no statement"
    assert len([s for s in statements if "line_items" in s]) == 1
