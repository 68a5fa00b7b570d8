"""Dashboard refunds: the Refund form on a payment's page (owners only), bad amounts answered on
the form, the refund's page with its claim link, the wallet button once the address is known,
cancel, and the list; viewers and developers see refunds but cannot change them."""

from __future__ import annotations

import re

from app.dashboard.users import Role
from app.models import AuditLog, Payment, Refund
from app.states import RefundStatus
from tests.conftest import TEST_PAYOUT, MerchantKeys
from tests.dashboard.conftest import SignedInClient
from tests.records import make_payment, make_session

SHOPPER = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
_REFUND_PATH = re.compile(r"^/dashboard/refunds/(re_[A-Za-z0-9]+)\?notice=created$")


async def confirmed_payment(merchant: MerchantKeys) -> Payment:
    session = await make_session(merchant.merchant.id, status="completed")
    return await make_payment(session, status="confirmed")  # 50 USDC on the devnet


async def test_an_owner_refunds_from_the_payment_page(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    payment = await confirmed_payment(merchant)
    page_path = f"/dashboard/payments/{payment.id}"
    page = await owner.page(page_path)
    assert 'action="/dashboard/payments/' in page and ">Refund</button>" in page
    assert ">Amount</label>" in page and ">Reason</label>" in page

    response = await owner.post_form(
        f"{page_path}/refunds", {"amount": "12.5", "reason": "Broken on arrival"}, page_path
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    found = _REFUND_PATH.match(response.headers["Location"])
    assert found is not None, response.headers["Location"]
    refund = await Refund.get(id=found.group(1))
    assert refund.amount_base_units == 12_500_000 and refund.reason == "Broken on arrival"
    assert refund.status == RefundStatus.PENDING_ADDRESS
    (entry,) = await AuditLog.filter(object_id=refund.id)
    assert entry.actor == f"user:{owner.user.id}" and entry.action == "refund.created"  # type: ignore[attr-defined]

    shown = await owner.page(response.headers["Location"])
    assert f"/refund/{refund.claim_token}" in shown and "Refund created" in shown
    assert "12.5 USDC" in shown and "Cancel refund" in shown
    assert "Pay refund" not in shown  # no address yet
    listed = await owner.page("/dashboard/refunds")
    assert refund.id in listed and "waiting for the shopper" in listed
    assert refund.id in await owner.page("/dashboard/refunds?status=pending_address")
    assert refund.id not in await owner.page("/dashboard/refunds?status=canceled")
    # The rest is the default amount.
    rest = await owner.post_form(f"{page_path}/refunds", {"amount": "", "reason": ""}, page_path)
    assert rest.status_code == 303
    amounts = sorted(r.amount_base_units for r in await Refund.filter(payment_id=payment.id))
    assert amounts == [12_500_000, 37_500_000]


async def test_bad_amounts_come_back_on_the_form(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    payment = await confirmed_payment(merchant)
    path = f"/dashboard/payments/{payment.id}/refunds"
    for amount, message in [
        ("abc", "is not a decimal amount"),
        ("0.0000001", "decimal places"),
        ("50.000001", "exceeds what is left"),
        ("0", "greater than zero"),
    ]:
        response = await owner.post_form(path, {"amount": amount, "reason": "x"}, path)
        html = await response.get_data(as_text=True)
        assert response.status_code == 400, (amount, html)
        assert message in html and 'role="alert"' in html and ">Amount</label>" in html
        assert f'value="{amount}"' in html
    assert await Refund.filter(payment_id=payment.id).count() == 0
    pending = await make_payment(await make_session(merchant.merchant.id))
    refused = await owner.post_form(
        f"/dashboard/payments/{pending.id}/refunds", {"amount": "1"}, path
    )
    assert refused.status_code == 400
    assert "only confirmed payments" in await refused.get_data(as_text=True)


async def test_viewers_and_developers_see_but_do_not_refund(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    payment = await confirmed_payment(merchant)
    page_path = f"/dashboard/payments/{payment.id}"
    created = await owner.post_form(f"{page_path}/refunds", {"amount": "1"}, page_path)
    refund_path = created.headers["Location"].split("?")[0]
    refund = await Refund.get(id=refund_path.rsplit("/", 1)[1])
    for role in (Role.VIEWER, Role.DEVELOPER):
        client = await signed_in(role)
        assert ">Refund</button>" not in await client.page(page_path)
        shown = await client.page(refund_path)
        assert refund.claim_token not in shown and "shown to owners only" in shown
        assert "Cancel refund" not in shown
        assert refund.id in await client.page("/dashboard/refunds")
        attempt = await client.post_form(f"{page_path}/refunds", {"amount": "1"}, refund_path)
        assert attempt.status_code == 403
        cancel = await client.post_form(f"{refund_path}/cancel", {}, refund_path)
        assert cancel.status_code == 403
    assert await Refund.filter(payment_id=payment.id).count() == 1
    assert (await Refund.get(id=refund.id)).status == RefundStatus.PENDING_ADDRESS


async def test_pay_button_once_the_address_is_known_then_cancel(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    payment = await confirmed_payment(merchant)
    page_path = f"/dashboard/payments/{payment.id}"
    created = await owner.post_form(f"{page_path}/refunds", {"amount": "2"}, page_path)
    refund_path = created.headers["Location"].split("?")[0]
    refund_id = refund_path.rsplit("/", 1)[1]
    # As the claim page leaves it (that page is tested on the devnet).
    await Refund.filter(id=refund_id).update(
        status=RefundStatus.PENDING, address=SHOPPER, watch_from_block=1
    )
    shown = await owner.page(refund_path)
    assert "Pay refund" in shown and "data-kassa-pay" in shown
    assert "plugins/evm/wallet.js" in shown
    # The ERC-20 transfer(SHOPPER, 2 USDC) call, to the token.
    assert f'data-to="{payment.token_address}"' in shown
    assert ("0xa9059cbb" + "0" * 24 + SHOPPER[2:].lower() + f"{2_000_000:064x}") in shown
    canceled = await owner.post_form(f"{refund_path}/cancel", {}, refund_path)
    assert canceled.status_code == 303
    after = await owner.page(canceled.headers["Location"])
    assert "Refund canceled" in after and "Pay refund" not in after
    assert (await Refund.get(id=refund_id)).status == RefundStatus.CANCELED
    again = await owner.post_form(f"{refund_path}/cancel", {}, refund_path)
    assert again.status_code == 403 or again.status_code == 400


async def test_another_merchants_refund_is_not_found(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    missing = await owner.get("/dashboard/refunds/re_nothing")
    assert missing.status_code == 404


async def test_a_seen_transfer_cannot_be_canceled_and_a_changed_payout_is_named(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    payment = await confirmed_payment(merchant)
    page_path = f"/dashboard/payments/{payment.id}"
    created = await owner.post_form(f"{page_path}/refunds", {"amount": "2"}, page_path)
    refund_path = created.headers["Location"].split("?")[0]
    refund_id = refund_path.rsplit("/", 1)[1]
    await Refund.filter(id=refund_id).update(
        status=RefundStatus.PENDING, address=SHOPPER, watch_from_block=1
    )
    assert "payout address on" not in await owner.page(refund_path)

    # The merchant changed their payout address since: send it from the old one.
    new_payout = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
    merchant.merchant.payout_addresses = {"devnet": new_payout.lower()}
    await merchant.merchant.save()
    shown = await owner.page(refund_path)
    assert "your payout address on" in shown and "changed since" in shown
    assert f"Send it from <code>{TEST_PAYOUT}</code>" in shown and new_payout in shown

    # Seen on chain, not final yet: nothing to pay, nothing to cancel.
    await Refund.filter(id=refund_id).update(
        tx_hash="0x" + "ab" * 32, tx_position=0, block_number=9
    )
    shown = await owner.page(refund_path)
    assert "your transfer is on chain" in shown
    assert "Pay refund" not in shown and "Cancel refund" not in shown
    assert "changed since" not in shown
    # A cancel from a page loaded before: refused, with the reason.
    refused = await owner.post_form(f"{refund_path}/cancel", {}, "/dashboard/refunds")
    assert refused.status_code == 400
    assert "already on chain" in await refused.get_data(as_text=True)
    assert (await Refund.get(id=refund_id)).status == RefundStatus.PENDING


async def test_the_form_offers_what_reached_the_merchant(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    """A deposit payment's gateway fee went to the fee recipient: not refundable."""
    owner = await signed_in(Role.OWNER)
    session = await make_session(merchant.merchant.id, status="completed")
    payment = await make_payment(
        session, status="confirmed", fee_base_units=500_000, amount_final=50_500_000
    )
    form = await owner.page(f"/dashboard/payments/{payment.id}/refunds")
    assert "50 USDC" in form and "50.5" not in form
