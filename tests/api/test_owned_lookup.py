"""Every route with an id in its path answers "the caller's object or a plain 404", the same
way for each resource."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.helpers import assert_error
from tests.conftest import MerchantKeys

RESOURCES = [
    ("/v1/checkout/sessions/", "checkout session"),
    ("/v1/payments/", "payment"),
    ("/v1/events/", "event"),
    ("/v1/webhook_endpoints/", "webhook endpoint"),
]


@pytest.mark.parametrize(("path", "what"), RESOURCES)
async def test_unknown_id_is_a_plain_404(client, merchant: MerchantKeys, path, what) -> None:
    response = await client.get(f"{path}xyz_test_nope", headers=merchant.auth())
    body = await assert_error(response, 404, "invalid_request_error", "resource_missing", "id")
    assert body["error"]["message"] == f"No such {what}: 'xyz_test_nope'"


@pytest.mark.parametrize(("path", "what"), RESOURCES)
@pytest.mark.parametrize(
    ("object_id", "shown"),
    [
        ("x" * 49, "x" * 49),  # longer than any id column: the database would refuse it
        ("x" * 300, "x" * 64),
        ("a\x00b", "a\\x00b"),  # PostgreSQL refuses NUL in text
        ("a\x85b", "a\\x85b"),
    ],
)
async def test_impossible_id_is_a_404_not_an_error(
    client, merchant: MerchantKeys, path, what, object_id, shown
) -> None:
    response = await client.get(f"{path}{quote(object_id)}", headers=merchant.auth())
    body = await assert_error(response, 404, "invalid_request_error", "resource_missing", "id")
    assert body["error"]["message"] == f"No such {what}: '{shown}'"


# The other API routes with an id in their path (the retrieves are RESOURCES above): NUL
# cannot be stored in PostgreSQL text, so a query with it would fail rather than find nothing.
PATH_ID_ROUTES = [
    ("POST", "/v1/checkout/sessions/{}/expire", "checkout session"),
    ("POST", "/v1/checkout/sessions/{}/payments", "checkout session"),
    ("POST", "/v1/events/{}/resend", "event"),
    ("POST", "/v1/webhook_endpoints/{}", "webhook endpoint"),
    ("DELETE", "/v1/webhook_endpoints/{}", "webhook endpoint"),
    ("POST", "/v1/webhook_endpoints/{}/rotate_secret", "webhook endpoint"),
    ("GET", "/v1/webhook_endpoints/{}/deliveries", "webhook endpoint"),
]
ROUTE_BODIES: dict[str, dict[str, Any]] = {
    "/v1/checkout/sessions/{}/payments": {"network": "devnet", "crypto_currency": "ETH"},
}


@pytest.mark.parametrize(("method", "template", "what"), PATH_ID_ROUTES)
@pytest.mark.parametrize(("object_id", "shown"), [("a\x00b", "a\\x00b"), ("\r\nX:1", "\\r\\nX:1")])
async def test_unprintable_path_id_is_a_404(
    client, merchant: MerchantKeys, method: str, template: str, what: str, object_id, shown
) -> None:
    response = await client.open(
        template.format(quote(object_id)),
        method=method,
        json=ROUTE_BODIES.get(template, {}),
        headers=merchant.auth(),
    )
    body = await assert_error(response, 404, "invalid_request_error", "resource_missing", "id")
    assert body["error"]["message"] == f"No such {what}: '{shown}'"
