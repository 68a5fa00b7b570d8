"""What the chain says beyond payments: session numbers used outside the gateway, logs the
node should not have returned, the payment contract's owner actions, and what a halt shows
to API callers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from app.doctor import HALTED_FOR_API, network_health
from app.logs import redact
from app.models import ChainCursor, Payment, SessionNonce
from app.networks import ObservationKind, Registry
from app.watcher import ChainWatcher, look_up_hint
from plugins.evm.contract import (
    PAYMENT_RECEIVED_TOPIC,
    PaymentIntent,
    deploy_checkout_contract,
    encode_pay_call,
    load_artifact,
    session_ref,
    sign_intent,
)
from plugins.evm.deposit_network import TRANSFER_TOPIC, EvmDepositNetwork
from plugins.evm.deposit_network import _topic as topic
from plugins.evm.deposits import SWEPT_TOPIC
from plugins.evm.network import EvmNetwork
from tests.api.helpers import ISO_TIME
from tests.chain import DEVNET, DevChain
from tests.conftest import new_merchant
from tests.networks.conftest import Api, RegistryFactory
from tests.networks.rpc_proxy import RpcProxy

if TYPE_CHECKING:
    from quart.typing import TestClientProtocol

pytestmark = pytest.mark.chain


async def next_session_number() -> int:
    last = await SessionNonce.filter(network=DEVNET).order_by("-nonce_index").first()
    return 1 if last is None else last.nonce_index + 1


async def burn(chain: DevChain, number: int) -> None:
    """Use a session number on chain the way a leaked signer key (or a payment the restored
    database forgot) does: an intent signed directly for it, paid."""
    await chain.kassa.pay(await chain.kassa.intent(amount=10**15, session=number))


def critical(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]


# ----------------------------------------------------------------------------- session numbers


async def test_session_numbers_used_on_chain_are_skipped_with_an_alert(
    api: Api, chain: DevChain, watcher: ChainWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    first = await next_session_number()
    await burn(chain, first)
    await burn(chain, first + 1)
    await watcher.poll_once()

    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200, payment
    row = await Payment.get(id=payment["id"])
    assert row.session_nonce == first + 2
    [alert] = critical(caplog)
    assert f"session numbers {first} to {first + 1} were already used" in alert
    assert "leaked signer key" in alert and "older backup" in alert

    await chain.pay(payment)
    await watcher.poll_once()
    assert (await Payment.get(id=row.id)).status == "confirmed"


async def test_a_number_another_payment_took_meanwhile_is_no_alert(
    api: Api,
    chain: DevChain,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Between reading the last number and asking the chain, another payment of this gateway
    took the next number and was paid: the chain shows it used, the database knows why. That
    is a race to retry, not a leaked signer key to alert about."""
    first = await next_session_number()
    network = registry.networks[DEVNET]
    assert isinstance(network, EvmNetwork)
    asked = network.first_unused_session_number

    async def raced(number: int) -> int:
        if number == first and not await SessionNonce.exists(network=DEVNET, nonce_index=first):
            await SessionNonce.create(network=DEVNET, session_id="cs_test_other", nonce_index=first)
            await burn(chain, first)  # that other session's payment, mined meanwhile
        return await asked(number)

    monkeypatch.setattr(network, "first_unused_session_number", raced)
    session = await api.session()
    status, payment = await api.payment(session["id"], "ETH")
    assert status == 200, payment
    assert (await Payment.get(id=payment["id"])).session_nonce == first + 1
    assert critical(caplog) == []


async def test_a_sessions_own_number_is_never_moved(
    api: Api, chain: DevChain, watcher: ChainWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """Paid on chain but not seen yet: the session's next payment keeps its number (and can
    only revert), so the session cannot be paid twice."""
    session = await api.session()
    _, first = await api.payment(session["id"], "ETH")
    await chain.pay(first)
    status, second = await api.payment(session["id"], "USDC")
    assert status == 200, second
    numbers = {p.session_nonce for p in await Payment.filter(session_id=session["id"])}
    assert len(numbers) == 1
    assert critical(caplog) == []


async def test_the_bitmap_is_read_a_word_at_a_time(registry: Registry, chain: DevChain) -> None:
    """Used numbers across a whole word and into the next: one read per word."""
    network = registry.networks[DEVNET]
    assert isinstance(network, EvmNetwork)
    layout = load_artifact("KassaCheckout")["storageLayout"]
    slot = int(next(item for item in layout if item["label"] == "sessionBitmap")["slot"])

    async def set_word(word: int, flags: int) -> None:
        key = keccak(abi_encode(["uint256", "uint256"], [word, slot]))
        value = "0x" + flags.to_bytes(32, "big").hex()
        await chain.rpc("anvil_setStorageAt", chain.contract_address, "0x" + key.hex(), value)

    word = 7_000
    await set_word(word, 2**256 - 1)
    await set_word(word + 1, 0b0111)
    assert await network.first_unused_session_number(word * 256 + 5) == (word + 1) * 256 + 3
    assert await network.first_unused_session_number((word + 1) * 256 + 4) == (word + 1) * 256 + 4
    assert await network.first_unused_session_number(word * 256 - 1) == word * 256 - 1


# ----------------------------------------------------------------------------- foreign logs


@pytest.fixture
async def lying_node(chain: DevChain) -> AsyncIterator[RpcProxy]:
    proxy = await RpcProxy(chain.node.rpc_url).start()
    proxy.ignore_log_address = True
    yield proxy
    await proxy.stop()


async def test_logs_of_another_contract_are_ignored_whatever_the_node_returns(
    api: Api, chain: DevChain, make_registry: RegistryFactory, lying_node: RpcProxy
) -> None:
    """A look-alike contract emits `PaymentReceived` with the payment's exact terms; a node
    that ignores the address filter hands it to the watcher, which drops it."""
    registry = make_registry(rpc_urls=[lying_node.url])
    network = registry.networks[DEVNET]
    assert isinstance(network, EvmNetwork)
    watcher = ChainWatcher(network, registry)
    roles = chain.kassa.roles
    foreign = await deploy_checkout_contract(
        chain.w3, roles.owner_key, roles.owner, [roles.signer], None
    )
    session = await api.session()
    _, payment = await api.payment(session["id"], "ETH")
    row = await Payment.get(id=payment["id"])
    await watcher.poll_once()

    intent = PaymentIntent(
        session_ref=session_ref(row.session_nonce),
        payment_ref=bytes.fromhex(row.payment_ref[2:]),
        token="0x0000000000000000000000000000000000000000",
        amount=row.amount_base_units,
        recipient=row.recipient,
        fee=row.fee_base_units,
        deadline=row.deadline,
    )
    signature = sign_intent(intent, chain.kassa.chain_id, foreign, chain.signer_key)
    receipt = await chain.kassa.send(
        {**encode_pay_call(intent, signature, foreign), "from": roles.payer}
    )
    assert receipt["status"] == 1
    head = await chain.head()
    returned = await network.raw_logs(
        {"address": network.contract_address, "topics": [PAYMENT_RECEIVED_TOPIC]}, head, head
    )
    assert [entry["address"].lower() for entry in returned] == [foreign.lower()]  # the lie

    step = await watcher.poll_once()
    assert step.logs == 0 and step.attached == []
    hinted = await look_up_hint(watcher, receipt["transactionHash"].to_0x_hex())
    assert hinted.logs == 0
    assert (await Payment.get(id=row.id)).tx_hash is None

    await chain.pay(payment)  # the real contract, through the same node
    await watcher.poll_once()
    assert (await Payment.get(id=row.id)).status == "confirmed"


async def test_deposit_logs_are_checked_beyond_the_nodes_filters(
    chain: DevChain, make_registry: RegistryFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `Approval` (the same shape as a `Transfer`) to a deposit address is not money, and a
    `Swept` log only counts from the deposit factory, whatever a node answers."""
    registry = make_registry(deposit_factory=chain.deposit_factory, sweeper_key=chain.sweeper_key)
    network = registry.networks[DEVNET]
    assert isinstance(network, EvmDepositNetwork)
    deposit, token, owner = chain.kassa.roles.other, chain.token_address("usdc"), chain.merchant
    position = {"blockNumber": 5, "blockHash": "0x" + "11" * 32, "removed": False}
    amount = "0x" + (7).to_bytes(32, "big").hex()

    def log(address: str, topics: list[str], data: str, index: int) -> dict[str, Any]:
        tx = "0x" + f"{index:02x}" * 32
        return {
            **position,
            "address": address,
            "topics": topics,
            "data": data,
            "transactionHash": tx,
            "logIndex": index,
        }

    approval = "0x" + keccak(text="Approval(address,address,uint256)").hex()
    swept = [SWEPT_TOPIC, topic(deposit), "0x" + "22" * 32, topic(token)]
    answers = {
        TRANSFER_TOPIC: [
            log(token, [approval, topic(owner), topic(deposit)], amount, 1),
            log(token, [TRANSFER_TOPIC, topic(owner), topic(deposit)], amount, 2),
        ],
        SWEPT_TOPIC: [
            log(chain.kassa.roles.stranger, swept, amount + "00" * 32, 3),
            log(network.deposit_factory, swept, amount + "00" * 32, 4),
        ],
    }

    async def lying_node(log_filter: dict[str, Any], first: int, last: int) -> list[Any]:
        return answers[log_filter["topics"][0]]

    monkeypatch.setattr(network, "raw_logs", lying_node)
    found = await network.observe_deposits(5, 5, [deposit])
    assert [(o.kind, o.position) for o in found] == [
        (ObservationKind.TRANSFER, 2),
        (ObservationKind.SWEEP, 4),
    ]


# ----------------------------------------------------------------------------- admin events


async def test_owner_actions_alert_the_operator_and_warn_in_the_api(
    api: Api, chain: DevChain, watcher: ChainWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    await watcher.poll_once()
    kassa, roles = chain.kassa, chain.kassa.roles
    paused = await kassa.transact(kassa.checkout.functions.pause(), roles.owner)
    added = await kassa.transact(kassa.checkout.functions.addSigner(roles.stranger), roles.owner)
    await watcher.poll_once()
    await watcher.poll_once()  # nothing repeats

    alerts = critical(caplog)
    assert len(alerts) == 2
    assert "paused it: every payment reverts" in alerts[0]
    assert f"intent signer {roles.stranger} was added" in alerts[1]
    assert "not this gateway's signer" in alerts[1]
    # Transaction hashes reach the log whole, through the redacting handler too.
    for alert, receipt in zip(alerts, (paused, added), strict=True):
        assert receipt["transactionHash"].to_0x_hex() in redact(alert)

    networks = await api.get("/v1/networks")
    [devnet] = [n for n in networks["data"] if n["id"] == DEVNET]
    warnings = devnet["warnings"]
    assert [w["tx_id"] for w in warnings] == [
        paused["transactionHash"].to_0x_hex(),
        added["transactionHash"].to_0x_hex(),
    ]
    assert "paused" in warnings[0]["message"] and roles.stranger in warnings[1]["message"]
    assert set(warnings[0]) == {"message", "tx_id", "block_number", "seen_at"}
    assert ISO_TIME.match(warnings[0]["seen_at"]), warnings[0]  # like every time in the API


async def test_removing_the_gateways_own_signer_says_so(
    chain: DevChain, watcher: ChainWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    await watcher.poll_once()
    kassa = chain.kassa
    await kassa.transact(
        kassa.checkout.functions.removeSigner(kassa.roles.signer), kassa.roles.owner
    )
    await watcher.poll_once()
    [alert] = critical(caplog)
    assert "this gateway's own signer: every payment it prepares now reverts" in alert
    cursor = await ChainCursor.get(network=DEVNET)
    assert len(cursor.warnings) == 1


# ----------------------------------------------------------------------------- halts


async def test_a_halt_shows_api_callers_no_payment_or_transaction(
    api: Api, client: TestClientProtocol, chain: DevChain, watcher: ChainWatcher
) -> None:
    """The halt names the confirmed payment and its transaction for the operator; another
    merchant's `GET /v1/networks` (and the paying merchant's) shows neither."""
    session = await api.session()
    _, payment = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    tx_hash = await chain.pay(payment)
    await watcher.poll_once()
    assert (await Payment.get(id=payment["id"])).status == "confirmed"
    await chain.reorg(2)
    assert (await watcher.poll_once()).halted

    cursor = await ChainCursor.get(network=DEVNET)
    assert payment["id"] in (cursor.halt_reason or "") and tx_hash in (cursor.halt_reason or "")
    registry = watcher.registry
    [operator_view] = [
        c for c in await network_health(watcher.network, registry, 5) if c.name == "watcher"
    ]
    assert payment["id"] in operator_view.detail

    other = Api(client, await new_merchant("Other Shop", payouts={DEVNET: chain.merchant}))
    for caller in (other, api):
        networks = await caller.get("/v1/networks")
        [devnet] = [n for n in networks["data"] if n["id"] == DEVNET]
        assert devnet["watcher"]["status"] == "halted"
        assert devnet["watcher"]["halt_reason"] == HALTED_FOR_API
        [watcher_check] = [c for c in devnet["health"] if c["name"] == "watcher"]
        assert watcher_check == {"name": "watcher", "ok": False, "detail": HALTED_FOR_API}
        shown = json.dumps(devnet)
        assert payment["id"] not in shown and tx_hash not in shown
