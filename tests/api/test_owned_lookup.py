"""Every retrieve answers "the caller's object or a plain 404", the same way for each resource."""

from __future__ import annotations

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
