"""The proof that the core knows no chain: `toychain` (tests/plugins/toychain.py), a non-EVM
network with base58 addresses, 88-character transaction ids, memos instead of a contract and
no integer chain id, passes the conformance suite and the whole loop — API → checkout page →
payment → hint → watcher → confirmed → signed webhook — through an unchanged `app/`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from standardwebhooks.webhooks import Webhook as StandardWebhook

from app.config import Settings
from app.conformance import Conformance, NetworkConformance
from app.models import ChainCursor, ChainObservation, Payment
from app.networks import (
    PaymentTerms,
    PreparedPayment,
    Registry,
    build_registry,
    current_registry,
    install_registry,
)
from app.plugins import make_plugin_manager, start_registry
from app.watcher import ChainWatcher, accept_tx_hints
from app.webhooks.worker import DeliveryWorker
from tests.conftest import new_merchant
from tests.plugins.toychain import (
    CHAINS,
    ToyChain,
    ToyNetwork,
    ToyPlugin,
    new_address,
)
from tests.webhooks.conftest import Receiver, fast_settings

TOY = "toychain"


class ToyDriver:
    """The conformance suite's hands on a toychain."""

    def __init__(self, chain: ToyChain) -> None:
        self.chain = chain
        self.payer = new_address()
        self.payout_address = new_address()
        self.invalid_addresses = [
            "0x" + "11" * 20,  # an EVM address: '0' and 'x' are not base58
            "tooShort",
            "I" * 40,  # 'I' is not base58
            self.payout_address + "1" * 12,  # too long
        ]

    async def mine(self, blocks: int) -> None:
        self.chain.mine(blocks)

    async def pay(self, terms: PaymentTerms, prepared: PreparedPayment) -> str:
        request = prepared.wallet_request
        tx_id = self.chain.send(
            self.payer, request["to"], terms.token.address, int(request["amount"]), request["memo"]
        )
        self.chain.mine(1)
        return tx_id

    async def reorg(self, depth: int) -> None:
        self.chain.reorg(depth)


def toy_settings(chain_name: str, base: Settings | None = None) -> Settings:
    values = base.model_dump() if base is not None else {"database_url": "sqlite://:memory:"}
    values["networks"] = {TOY: {"chain": chain_name}}
    return Settings(**values)


@pytest.fixture
def conformance() -> Iterator[Conformance]:
    CHAINS["conformance"] = chain = ToyChain()
    settings = toy_settings("conformance")
    registry = build_registry(settings, make_plugin_manager(settings, [ToyPlugin()]))
    yield Conformance(registry.networks[TOY], registry, ToyDriver(chain))
    del CHAINS["conformance"]


class TestToychain(NetworkConformance):
    """The chain-neutral suite, on a chain that shares nothing with the EVM."""

    def test_spellings_are_not_evm(self, conformance: Conformance) -> None:
        network = conformance.network
        assert network.chain_ref == "toy:conformance" and not hasattr(network, "chain_id")
        tx_id = conformance.chain.chain.send("a", "b", None, 1, "m")  # type: ignore[attr-defined]
        assert len(tx_id) == 88 and network.normalize_tx_id(tx_id) == tx_id


def test_plugin_settings_are_its_own() -> None:
    """The core's NetworkSettings takes the plugin's fields; the plugin refuses unknown ones."""
    from app.networks import PluginError

    CHAINS["settings"] = ToyChain()
    try:
        bad = Settings(
            database_url="sqlite://:memory:",
            networks={TOY: {"chain": "settings", "rpc_urls": ["http://x"]}},  # type: ignore[dict-item]
        )
        with pytest.raises(PluginError, match="rpc_urls"):
            build_registry(bad, make_plugin_manager(bad, [ToyPlugin()]))
        unknown = toy_settings("nowhere")
        with pytest.raises(PluginError, match="no chain named 'nowhere'"):
            build_registry(unknown, make_plugin_manager(unknown, [ToyPlugin()]))
    finally:
        del CHAINS["settings"]


# ----------------------------------------------------------------------------- the loop


@pytest.fixture
async def toy_registry(app: Quart) -> AsyncIterator[Registry]:
    """The running app's registry, with toychain enabled, for one test."""
    CHAINS["loop"] = ToyChain()
    previous = current_registry()
    registry = start_registry(toy_settings("loop", app.config["KASSA_SETTINGS"]), [ToyPlugin()])
    yield registry
    install_registry(previous)
    await registry.close()
    del CHAINS["loop"]
    await ChainObservation.filter(network=TOY).delete()
    await ChainCursor.filter(network=TOY).delete()


@pytest.fixture
async def receiver(app: Quart) -> AsyncIterator[Receiver]:
    original = app.config["KASSA_SETTINGS"]
    app.config["KASSA_SETTINGS"] = original.model_copy(
        update={"webhooks_allow_private_targets": True}
    )
    server = await Receiver().start()
    yield server
    await server.close()
    app.config["KASSA_SETTINGS"] = original


def field(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]+)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


async def until(check: Any, within: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.02)


async def test_whole_loop_on_a_non_evm_chain(
    client: Client, toy_registry: Registry, receiver: Receiver, database_url: str
) -> None:
    network = toy_registry.networks[TOY]
    assert isinstance(network, ToyNetwork)
    chain = network.chain
    payout = new_address()
    shop = await new_merchant(payouts={TOY: payout})
    auth = shop.auth()

    # The merchant: a webhook endpoint and a session payable in TOY on toychain.
    response = await client.post(
        "/v1/webhook_endpoints",
        json={"url": receiver.url(), "enabled_events": ["payment.*", "checkout.session.*"]},
        headers=auth,
    )
    secret = (await response.get_json())["secret"]
    response = await client.post(
        "/v1/checkout/sessions",
        json={
            "amount_fiat": "25.00",
            "currency": "USD",
            "allowed_networks": [TOY],
            "allowed_crypto_currencies": ["TOY"],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
        },
        headers=auth,
    )
    session = await response.get_json()
    assert response.status_code == 200, session

    # The shopper: the page offers toychain, Pay shows the plugin's own pay step.
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert 'value="toychain:TOY"' in page
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert csrf
    response = await client.post(
        f"/checkout/{session['id']}/pay",
        form={"option": "toychain:TOY", "csrf_token": csrf.group(1)},
    )
    assert response.status_code == 303
    page = await (await client.get(f"/checkout/{session['id']}")).get_data(as_text=True)
    assert field(page, "amount-due") == "50" and "on Toy Chain" in page  # 25 USD at 0.5
    recipient, memo = field(page, "toy-recipient"), field(page, "toy-memo")
    assert recipient == payout
    assert field(page, "payment-uri").startswith(f"toy:{payout}?amount=50000000000&amp;memo=")
    assert "wallet.js" not in page  # no EVM script on a toychain page

    payment_id = (
        await (await client.get(f"/v1/checkout/sessions/{session['id']}", headers=auth)).get_json()
    )["payment_id"]
    payment = await (await client.get(f"/v1/payments/{payment_id}", headers=auth)).get_json()
    assert payment["recipient"] == payout and payment["token_address"] is None
    assert payment["amount_base_units"] == "50000000000" and payment["decimals"] == 9

    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()  # the cursor starts before the shopper's transfer
    # This process runs the network's watcher, so (like `run_watcher` holding the lock) it
    # follows the hints every process sends (on PostgreSQL they come as notifications).
    stop_hints = accept_tx_hints(network)

    # The shopper's wallet sends a plain transfer with the memo; the page reports its id.
    tx_id = chain.send(new_address(), recipient, None, 50 * 10**9, memo)
    chain.mine(1)
    assert len(tx_id) == 88
    response = await client.post(
        f"/checkout/{session['id']}/tx",
        data=json.dumps({"tx_hash": tx_id, "payment_id": payment_id}),
        headers={"X-CSRF-Token": csrf.group(1), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, await response.get_data(as_text=True)

    async def seen() -> bool:
        row = await Payment.get(id=payment_id)
        return row.tx_hash == tx_id

    assert await until(seen), "the hint did not attach the transaction before any poll"
    stop_hints()

    chain.mine(3)
    step = await watcher.poll_once()
    assert step.confirmed == [payment_id]
    done = await (await client.get(f"/v1/payments/{payment_id}", headers=auth)).get_json()
    assert done["status"] == "confirmed" and done["tx_hash"] == tx_id
    assert done["confirmations"] == 4 and done["min_confirmations"] == 3
    completed = await (
        await client.get(f"/v1/checkout/sessions/{session['id']}", headers=auth)
    ).get_json()
    assert completed["status"] == "completed"

    # Signed webhooks reach the merchant and verify with the endpoint's secret.
    worker = DeliveryWorker(fast_settings(database_url))
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    types = []
    for request in receiver.requests:
        body = StandardWebhook(secret).verify(request.body, request.headers)
        types.append(body["type"])
    assert types.count("payment.confirmed") == 1
    assert types.count("checkout.session.completed") == 1
    assert {"payment.created", "payment.pending"} <= set(types)


async def test_a_transfer_that_differs_credits_nothing(
    client: Client, toy_registry: Registry
) -> None:
    """Exact comparison of opaque strings: the same address in another case is another
    address on a base58 chain, so the transfer is recorded and never credited."""
    network = toy_registry.networks[TOY]
    assert isinstance(network, ToyNetwork)
    payout = new_address()
    shop = await new_merchant(payouts={TOY: payout})
    response = await client.post(
        "/v1/checkout/sessions",
        json={
            "amount_fiat": "1.00",
            "currency": "USD",
            "allowed_networks": [TOY],
            "allowed_crypto_currencies": ["TUSD"],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
        },
        headers=shop.auth(),
    )
    session = await response.get_json()
    response = await client.post(
        f"/v1/checkout/sessions/{session['id']}/payments",
        json={"network": TOY, "crypto_currency": "TUSD"},
        headers=shop.auth(),
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    payment = body["payment"]
    memo = payment["eip681_uri"].rsplit("memo=", 1)[1]
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    swapped = payout.swapcase()
    network.chain.send(new_address(), swapped, payment["token_address"], 1_000_000, memo)
    network.chain.mine(4)
    step = await watcher.poll_once()
    assert step.attached == [] and step.confirmed == []
    observation = await ChainObservation.get(network=TOY, payment_id=payment["id"])
    assert observation.mismatch.startswith("recipient")
    assert (await Payment.get(id=payment["id"])).status == "pending"


async def test_a_refund_on_a_non_evm_chain(client: Client, toy_registry: Registry) -> None:
    """Refunds are chain-neutral too: the claim page takes a base58 address (case kept), the
    merchant's plain transfer is found by the network and marks the refund succeeded."""
    from app.networks import RefundNetwork, RpcError

    network = toy_registry.networks[TOY]
    assert isinstance(network, ToyNetwork) and isinstance(network, RefundNetwork)
    payout, shopper = new_address(), new_address()
    shop = await new_merchant(payouts={TOY: payout})
    response = await client.post(
        "/v1/checkout/sessions",
        json={
            "amount_fiat": "2.00",
            "currency": "USD",
            "allowed_networks": [TOY],
            "allowed_crypto_currencies": ["TUSD"],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
        },
        headers=shop.auth(),
    )
    session = await response.get_json()
    response = await client.post(
        f"/v1/checkout/sessions/{session['id']}/payments",
        json={"network": TOY, "crypto_currency": "TUSD"},
        headers=shop.auth(),
    )
    payment = (await response.get_json())["payment"]
    watcher = ChainWatcher(network, toy_registry)
    await watcher.poll_once()
    memo = payment["eip681_uri"].rsplit("memo=", 1)[1]
    network.chain.send(new_address(), payout, payment["token_address"], 2_000_000, memo)
    network.chain.mine(4)
    assert (await watcher.poll_once()).confirmed == [payment["id"]]

    response = await client.post(
        "/v1/refunds", json={"payment": payment["id"], "reason": "Duplicate"}, headers=shop.auth()
    )
    refund = await response.get_json()
    assert response.status_code == 200, refund
    assert refund["from_address"] == payout and refund["amount_crypto"] == "2"
    path = "/refund/" + refund["claim_url"].rsplit("/", 1)[1]
    page = await (await client.get(path)).get_data(as_text=True)
    assert "on Toy Chain" in page
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert csrf
    wrong = await client.post(path, form={"address": "0x" + "11" * 20, "csrf_token": csrf[1]})
    assert wrong.status_code == 400
    given = await client.post(path, form={"address": shopper, "csrf_token": csrf[1]})
    assert given.status_code == 303

    network.chain.send(payout, shopper.swapcase(), payment["token_address"], 2_000_000, "")
    network.chain.send(payout, shopper, payment["token_address"], 2_000_000, "")
    network.chain.mine(1)
    assert (await watcher.poll_once()).refunded == []  # one confirmation of three
    network.chain.mine(2)

    # A node that cannot answer for refunds delays them, and nothing else.
    async def unreachable(*args: object) -> list[object]:
        raise RpcError("toychain: no answer")

    network.locate_transfer = unreachable  # type: ignore[method-assign,assignment]
    step = await watcher.poll_once()
    assert step.refunded == [] and not step.retry and not step.halted
    del network.locate_transfer
    assert len((await watcher.poll_once()).refunded) == 1
    done = await (await client.get(f"/v1/refunds/{refund['id']}", headers=shop.auth())).get_json()
    assert done["status"] == "succeeded" and done["address"] == shopper
    assert len(done["tx_hash"]) == 88
