"""Dashboard payout addresses: owners only, with the password again; the network plugin checks
and normalises the address; the event and the audit entry are written with the change."""

from __future__ import annotations

import pytest

from app.dashboard.users import Role
from app.models import AuditLog, Event, Merchant, WebhookDelivery
from app.states import EventType
from tests.conftest import TEST_PAYOUT, MerchantKeys
from tests.dashboard.conftest import PASSWORD, SignedInClient
from tests.webhooks.conftest import (  # noqa: F401 - fixtures
    clean_endpoints,
    create_endpoint,
    private_targets,
)

NEW = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


async def _change(client, network: str, address: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return await client.post_form(
        "/dashboard/payouts",
        {"network": network, "address": address, "password": password},
        "/dashboard/payouts",
    )


async def test_page_lists_the_modes_networks(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.OWNER)
    html = await client.page("/dashboard/payouts")
    assert "devnet" in html and TEST_PAYOUT in html and "ethereum" not in html
    assert 'for="password-devnet">Your password<' in html
    await client.post_form("/dashboard/mode", {"mode": "live", "next": "/dashboard/payouts"})
    live = await client.page("/dashboard/payouts")
    assert "ethereum" in live and 'id="address-devnet"' not in live


@pytest.mark.usefixtures("private_targets", "clean_endpoints")
async def test_owner_changes_an_address_with_the_password(
    signed_in: SignedInClient, client, merchant: MerchantKeys
) -> None:
    endpoint = await create_endpoint(client, merchant, "http://127.0.0.1:9/hook", ["merchant.*"])
    owner = await signed_in(Role.OWNER)
    response = await _change(owner, "devnet", NEW.lower())
    assert response.status_code == 303, await response.get_data(as_text=True)
    html = await owner.page(response.headers["Location"])
    assert f"Payouts on devnet now go to {NEW}" in html  # checksummed by the plugin
    merchant_row = await Merchant.get(id=merchant.merchant.id)
    assert merchant_row.payout_addresses["devnet"] == NEW
    assert merchant_row.payout_addresses["ethereum"] == TEST_PAYOUT  # others untouched

    event = await Event.get(
        merchant_id=merchant.merchant.id, type=EventType.MERCHANT_PAYOUT_ADDRESS_UPDATED
    )
    assert event.livemode is False  # devnet is a testnet
    assert event.data == {
        "object": {
            "object": "payout_address",
            "network": "devnet",
            "address": NEW,
            "previous_address": TEST_PAYOUT,
        }
    }
    assert await WebhookDelivery.filter(event_id=event.id, endpoint_id=endpoint["id"]).exists()
    entry = await AuditLog.get(merchant_id=merchant.merchant.id, action=event.type)
    assert entry.actor == f"user:{owner.user.id}" and entry.ip
    assert entry.details["address"] == NEW and entry.details["previous_address"] == TEST_PAYOUT

    # The same address again changes nothing and says so.
    same = await _change(owner, "devnet", NEW)
    assert "unchanged" in await same.get_data(as_text=True)
    assert await Event.filter(merchant_id=merchant.merchant.id, type=event.type).count() == 1

    # Empty removes it.
    removed = await _change(owner, "devnet", "")
    html = await owner.page(removed.headers["Location"])
    assert "Removed the devnet payout address" in html
    assert "devnet" not in (await Merchant.get(id=merchant.merchant.id)).payout_addresses


async def test_wrong_password_or_address_changes_nothing(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    wrong = await _change(owner, "devnet", NEW, password="not my password")
    assert wrong.status_code == 400
    assert "Wrong password" in await wrong.get_data(as_text=True)
    invalid = await _change(owner, "devnet", "0x1234")
    html = await invalid.get_data(as_text=True)
    assert invalid.status_code == 400 and "Not a valid devnet address" in html
    # A network of the other mode (or none at all) is not offered.
    other_mode = await _change(owner, "ethereum", NEW)
    assert other_mode.status_code == 400
    unknown = await _change(owner, "nowhere", NEW)
    assert unknown.status_code == 400
    assert (await Merchant.get(id=merchant.merchant.id)).payout_addresses["devnet"] == TEST_PAYOUT
    assert not await Event.filter(merchant_id=merchant.merchant.id).exists()
    assert not await AuditLog.filter(
        merchant_id=merchant.merchant.id, action="merchant.payout_address.updated"
    ).exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER])
async def test_viewers_and_developers_are_refused(
    signed_in: SignedInClient, merchant: MerchantKeys, role: Role
) -> None:
    client = await signed_in(role)
    html = await client.page("/dashboard/payouts")
    assert TEST_PAYOUT in html and "Your password" not in html and "Only owners" in html
    response = await _change(client, "devnet", NEW)
    assert response.status_code == 403
    assert (await Merchant.get(id=merchant.merchant.id)).payout_addresses["devnet"] == TEST_PAYOUT
