"""Line items: what a checkout session sells, as the API returns them and the page lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models import LineItem
from app.money import FiatAmount


def line_item_object(item: LineItem) -> dict[str, Any]:
    """Stripe's `item` object: `description` is the product's name, as in Stripe."""
    return {
        "id": item.id,
        "object": "item",
        "description": item.name,
        "quantity": item.quantity,
        "currency": item.currency,
        # No discounts or taxes: the subtotal is the total.
        "amount_subtotal": item.amount_total,
        "amount_total": item.amount_total,
        "price": {
            "unit_amount": item.unit_amount,
            "currency": item.currency,
            "product_data": {"name": item.name, "description": item.description},
        },
    }


@dataclass(frozen=True, slots=True)
class PageLine:
    """One row of the checkout page's list of items."""

    name: str
    description: str | None
    quantity: int
    unit_price: FiatAmount
    total: FiatAmount


async def page_lines(session_id: str) -> list[PageLine]:
    """The session's line items in their order, read with one query (none for a session
    created with a plain amount)."""
    items = await LineItem.filter(session_id=session_id).order_by("position")
    return [
        PageLine(
            name=item.name,
            description=item.description,
            quantity=item.quantity,
            unit_price=FiatAmount(item.unit_amount, item.currency),
            total=FiatAmount(item.amount_total, item.currency),
        )
        for item in items
    ]
