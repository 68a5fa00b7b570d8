"""Refunds on a real devnet: the shopper gives an address on the claim page, the merchant sends
the transfer from their payout address, and the watcher recognises it (ERC-20 by its
`Transfer` log, the native coin from the blocks' transactions) once it has the payment's
confirmations; transfers that are short, from someone else or before the address was given do
not count."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_account import Account

from app.models import Refund
from app.networks import ChainTransfer, RefundNetwork, Registry, WantedTransfer
from app.refunds import RefundRefused, provide_address, recognise_refunds, transfer_request
from app.watcher import ChainWatcher
from tests.chain import DEVNET, DevChain
from tests.networks.conftest import Api, RegistryFactory, event_types

pytestmark = pytest.mark.chain

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SHOPPER = Account.create().address  # a fresh address: nothing else ever reaches it


def merchant_key(chain: DevChain) -> str:
    key = chain.kassa.roles.keys[3]
    assert Account.from_key(key).address == chain.merchant
    return key


async def confirmed_payment(
    api: Api, chain: DevChain, watcher: ChainWatcher, currency: str
) -> dict[str, Any]:
    session = await api.session()
    status, payment = await api.payment(session["id"], currency)
    assert status == 200, payment
    await watcher.poll_once()
    await chain.pay(payment)
    await chain.mine(payment["min_confirmations"])
    await watcher.poll_once()
    paid = await api.get(f"/v1/payments/{payment['id']}")
    assert paid["status"] == "confirmed", paid
    return paid


async def refund_of(api: Api, payment: dict[str, Any], **body: Any) -> dict[str, Any]:
    status, refund = await api.call("POST", "/v1/refunds", {"payment": payment["id"], **body})
    assert status == 200, refund
    return dict(refund)


async def claim(client: Any, refund: dict[str, Any], address: str) -> tuple[int, str]:
    """The shopper's visit: open the claim link, fill in the address, submit."""
    path = refund["claim_url"].removeprefix("http://127.0.0.1:8000")
    page = await client.get(path)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "Refund address" in html, html
    token = _CSRF.search(html)
    assert token is not None
    answer = await client.post(path, form={"address": address, "csrf_token": token.group(1)})
    return answer.status_code, await answer.get_data(as_text=True)


async def test_native_refund_is_recognised_from_the_blocks(
    client, api: Api, chain: DevChain, watcher: ChainWatcher, registry: Registry
) -> None:
    payment = await confirmed_payment(api, chain, watcher, "ETH")
    refund = await refund_of(api, payment, amount_crypto="0.005", reason="One item was missing")
    amount = int(refund["amount_base_units"])
    assert amount == 5 * 10**15

    # A wrong address is refused on the page, and changes nothing.
    status, html = await claim(client, refund, "0x1234")
    assert status == 400 and "That is not an address on" in html
    status, html = await claim(client, refund, chain.merchant)
    assert status == 400
    assert (await api.get(f"/v1/refunds/{refund['id']}"))["status"] == "pending_address"
    # Without the page's token nothing happens either.
    path = refund["claim_url"].removeprefix("http://127.0.0.1:8000")
    forged = await client.post(path, form={"address": SHOPPER})
    assert forged.status_code == 403

    # Money the merchant sent before the address was known is not the refund.
    await chain.transfer(SHOPPER, amount, key=merchant_key(chain))
    status, _ = await claim(client, refund, SHOPPER.lower())
    assert status == 303
    given = await api.get(f"/v1/refunds/{refund['id']}")
    assert given["status"] == "pending" and given["address"] == SHOPPER  # checksummed
    page = await (await client.get(path)).get_data(as_text=True)
    assert "Address received" in page and SHOPPER in page
    stale_form = _CSRF.search(html)
    assert stale_form is not None
    status, html = await claim_again(client, path, stale_form.group(1))
    assert status == 400 and "no longer takes an address" in html  # given once, for good

    # Someone else's transfer, and a short one from the merchant, do not count.
    await chain.transfer(SHOPPER, amount, key=chain.exchange_key)
    await chain.transfer(SHOPPER, amount - 1, key=merchant_key(chain))
    await chain.mine(3)
    assert (await watcher.poll_once()).refunded == []

    # The wallet request the dashboard's button sends, sent by the merchant's wallet.
    request = transfer_request(await Refund.get(id=refund["id"]), registry)
    assert request is not None
    assert request.wallet_request == {"to": SHOPPER, "data": "0x", "value": str(amount)}
    tx_hash = await chain._send(
        {"to": SHOPPER, "value": amount, "gas": 21_000}, merchant_key(chain)
    )
    result = await watcher.poll_once()
    if payment["min_confirmations"] > 1:  # seen, not final yet
        assert result.refunded == []
        await chain.mine(payment["min_confirmations"])
        result = await watcher.poll_once()
    assert result.refunded == [refund["id"]]
    done = await api.get(f"/v1/refunds/{refund['id']}")
    assert done["status"] == "succeeded" and done["tx_hash"] == tx_hash
    assert done["block_number"] is not None
    assert await event_types(refund["id"]) == [
        "refund.created",
        "refund.address_provided",
        "refund.succeeded",
    ]
    assert "Refund sent" in await (await client.get(path)).get_data(as_text=True)
    assert (await watcher.poll_once()).refunded == []  # once


async def claim_again(client: Any, path: str, token: str) -> tuple[int, str]:
    page = await (await client.get(path)).get_data(as_text=True)
    assert "Refund address" not in page
    # A stale form posted anyway (e.g. from another tab) is refused with a message.
    answer = await client.post(path, form={"address": SHOPPER, "csrf_token": token})
    return answer.status_code, await answer.get_data(as_text=True)


async def test_erc20_refund_is_recognised_by_its_transfer_log(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    registry = make_registry(confirmations=3)  # so a transfer is seen before it is final
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    payment = await confirmed_payment(api, chain, watcher, "USDC")
    assert payment["min_confirmations"] == 3
    refund = await refund_of(api, payment)
    assert refund["amount_base_units"] == payment["amount_base_units"]
    row = await Refund.get(id=refund["id"])
    await provide_address(row, SHOPPER, registry=registry)
    with pytest.raises(RefundRefused):
        await provide_address(row, SHOPPER, registry=registry)

    token = chain.token_address("usdc")
    amount = int(refund["amount_base_units"])
    request = transfer_request(row, registry)
    assert request is not None and request.wallet_request["to"] == token
    assert request.uri.endswith(f"/transfer?address={SHOPPER}&uint256={amount}")
    # The merchant pays with exactly what the dashboard's wallet button sends.
    tx_hash = await chain._send(
        {**request.wallet_request, "value": 0, "gas": 100_000}, merchant_key(chain)
    )
    assert (await watcher.poll_once()).refunded == []  # one confirmation of three
    # Seen: recorded on the refund, which can no longer be canceled.
    seen = await Refund.get(id=refund["id"])
    assert (seen.status, seen.tx_hash, seen.tx_position) == ("pending", tx_hash, 0)
    status, refused = await api.call("POST", f"/v1/refunds/{refund['id']}/cancel")
    assert status == 400 and refused["error"]["code"] == "refund_transfer_seen", refused
    await chain.mine(1)
    assert (await watcher.poll_once()).refunded == []
    await chain.mine(1)
    result = await watcher.poll_once()
    assert result.refunded == [refund["id"]]
    done = await api.get(f"/v1/refunds/{refund['id']}")
    assert done["status"] == "succeeded" and done["tx_hash"] == tx_hash


async def test_find_transfers_reads_both_kinds(chain: DevChain, registry: Registry) -> None:
    network = registry.networks[DEVNET]
    assert isinstance(network, RefundNetwork)
    token = chain.token_address("usdt")
    start = await chain.head() + 1
    sent_token = await chain.transfer(SHOPPER, 7, token, key=merchant_key(chain))
    sent_coin = await chain.transfer(SHOPPER, 9, key=merchant_key(chain))
    await chain.transfer(SHOPPER, 11, token)  # from the exchange account: not the merchant's
    other = Account.create().address
    sent_other = await chain.transfer(other, 13, key=merchant_key(chain))
    end = await chain.head()
    # One call for every refund wanted (the token and the coin, two recipients).
    wanted = [
        WantedTransfer(token, chain.merchant, SHOPPER),
        WantedTransfer(None, chain.merchant, SHOPPER),
        WantedTransfer(None, chain.merchant, other),
    ]
    found = await network.find_transfers(wanted, start, end)
    assert sorted((t.tx_id, t.amount, t.token, t.recipient) for t in found) == sorted(
        [
            (sent_token, 7, token, SHOPPER),
            (sent_coin, 9, None, SHOPPER),
            (sent_other, 13, None, other),
        ]
    )
    assert all(isinstance(t, ChainTransfer) for t in found)
    assert await network.find_transfers(wanted, end + 1, end) == []
    assert await network.find_transfers(wanted[1:2], start, end) == [
        t for t in found if t.tx_id == sent_coin
    ]
    # A seen transfer is located again by its transaction alone.
    for transfer in found:
        assert await network.locate_transfer(transfer.tx_id, transfer.position) == transfer
    assert await network.locate_transfer("0x" + "ab" * 32, 0) is None


async def test_a_canceled_refund_is_not_marked_paid(
    api: Api, chain: DevChain, watcher: ChainWatcher, registry: Registry
) -> None:
    payment = await confirmed_payment(api, chain, watcher, "ETH")
    refund = await refund_of(api, payment, amount_base_units="1000")
    await provide_address(await Refund.get(id=refund["id"]), SHOPPER, registry=registry)
    status, canceled = await api.call("POST", f"/v1/refunds/{refund['id']}/cancel")
    assert status == 200 and canceled["status"] == "canceled"
    await chain.transfer(SHOPPER, 1000, key=merchant_key(chain))
    await chain.mine(payment["min_confirmations"])
    assert (await watcher.poll_once()).refunded == []
    network = registry.networks[DEVNET]
    scan = await recognise_refunds(network, await chain.head(), watcher.finality)
    assert scan.succeeded == []
    assert (await api.get(f"/v1/refunds/{refund['id']}"))["status"] == "canceled"


async def test_one_native_transfer_pays_one_of_two_equal_refunds(
    api: Api, chain: DevChain, watcher: ChainWatcher, registry: Registry
) -> None:
    payment = await confirmed_payment(api, chain, watcher, "ETH")
    shopper = Account.create().address
    refunds = [await refund_of(api, payment, amount_base_units="1000") for _ in range(2)]
    for refund in refunds:
        await provide_address(await Refund.get(id=refund["id"]), shopper, registry=registry)
    tx_hash = await chain.transfer(shopper, 1000, key=merchant_key(chain))
    await chain.mine(payment["min_confirmations"])
    assert (await watcher.poll_once()).refunded == [refunds[0]["id"]]
    await chain.mine(2)
    assert (await watcher.poll_once()).refunded == []
    first, second = [await api.get(f"/v1/refunds/{r['id']}") for r in refunds]
    assert (first["status"], first["tx_hash"]) == ("succeeded", tx_hash)
    assert (second["status"], second["tx_hash"]) == ("pending", None)


async def test_a_reorg_that_drops_the_seen_transfer_is_noticed(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    registry = make_registry(confirmations=3)
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    payment = await confirmed_payment(api, chain, watcher, "ETH")
    refund = await refund_of(api, payment, amount_base_units="1000")
    shopper = Account.create().address
    await provide_address(await Refund.get(id=refund["id"]), shopper, registry=registry)
    sent = await chain.transfer(shopper, 1000, key=merchant_key(chain))
    assert (await watcher.poll_once()).refunded == []
    assert (await Refund.get(id=refund["id"])).tx_hash == sent
    await chain.reorg(2)  # the transfer's block replaced by an empty one
    await chain.mine(1)
    assert (await watcher.poll_once()).refunded == []
    lost = await Refund.get(id=refund["id"])
    assert (lost.status, lost.tx_hash, lost.tx_position) == ("pending", None, None)
    status, _ = await api.call("POST", f"/v1/refunds/{refund['id']}/cancel")
    assert status == 200  # nothing on chain any more: the merchant may withdraw it
