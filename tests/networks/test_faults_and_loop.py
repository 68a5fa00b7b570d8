"""RPC faults (errors, timeouts, range limits, a lagging second node), the running loop,
and one watcher per network across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.logs import redact
from app.models import ChainCursor, ChainObservation, Event, Payment
from app.networks import RpcError
from app.watcher import ChainWatcher, NetworkLock, run_watcher
from tests.chain import DEVNET, DevChain
from tests.networks.conftest import Api, RegistryFactory
from tests.networks.rpc_proxy import RpcProxy

pytestmark = pytest.mark.chain


@pytest.fixture
async def proxies(chain: DevChain) -> AsyncIterator[tuple[RpcProxy, RpcProxy]]:
    flaky = await RpcProxy(chain.node.rpc_url).start()
    lagging = await RpcProxy(chain.node.rpc_url).start()
    yield flaky, lagging
    await flaky.stop()
    await lagging.stop()


async def test_rpc_faults_lose_nothing_and_never_regress(
    api: Api,
    chain: DevChain,
    make_registry: RegistryFactory,
    proxies: tuple[RpcProxy, RpcProxy],
) -> None:
    flaky, lagging = proxies
    flaky.fail_every = 5
    flaky.timeout_every = 17
    flaky.stall_seconds = 0.6
    flaky.max_log_range = 3
    lagging.lag = 3
    lagging.fail_every = 7
    registry = make_registry(
        rpc_urls=[flaky.url, lagging.url],
        rpc_timeout_seconds=0.3,
        rpc_failback_seconds=0.2,
        confirmations=2,
    )
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    cursors: list[int] = []

    async def poll() -> None:
        try:
            await watcher.poll_once()
        except RpcError:
            pass  # every node failed this time; the loop backs off and polls again
        cursor = await ChainCursor.get_or_none(network=DEVNET)
        if cursor is not None:
            cursors.append(cursor.block_number)

    await poll()
    payments = []
    for currency in ("ETH", "USDC", "USDT", "ETH"):
        session = await api.session()
        status, payment = await api.payment(session["id"], currency)
        assert status == 200, payment
        await chain.pay(payment)
        await chain.mine(1)
        await poll()
        payments.append(payment)
    await chain.mine(6)
    for _ in range(80):
        await poll()
        rows = await Payment.filter(id__in=[p["id"] for p in payments])
        if all(row.status == "confirmed" for row in rows):
            break
    rows = await Payment.filter(id__in=[p["id"] for p in payments])
    assert [row.status for row in rows] == ["confirmed"] * 4
    for payment in payments:
        assert await Event.filter(object_id=payment["id"], type="payment.confirmed").count() == 1
    assert await ChainObservation.filter(network=DEVNET, canonical=True).count() == 4
    assert cursors == sorted(cursors), "the cursor went backwards"
    assert flaky.injected["502"] and flaky.injected["range"] and lagging.methods
    assert registry.networks[DEVNET].max_scan_range <= 3


async def test_running_loop_confirms_a_payment(
    api: Api, chain: DevChain, registry, database_url: str
) -> None:
    network = registry.networks[DEVNET]
    session = await api.session()
    _, payment = await api.payment(session["id"], "USDC")
    task = asyncio.create_task(run_watcher(network, registry, database_url))
    try:
        await chain.pay(payment)
        for _ in range(200):
            if (await Payment.get(id=payment["id"])).status == "confirmed":
                break
            await asyncio.sleep(0.05)
        assert (await Payment.get(id=payment["id"])).status == "confirmed"
        status, body = await api.call("GET", f"/v1/checkout/sessions/{session['id']}")
        assert body["status"] == "completed"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_one_watcher_per_network(database_url: str, dialect: str) -> None:
    first, second = NetworkLock(database_url, DEVNET), NetworkLock(database_url, DEVNET)
    other = NetworkLock(database_url, "elsewhere")
    try:
        assert await first.acquire()
        if dialect == "postgres":
            assert not await second.acquire() and not second.held()
            assert await other.acquire()  # networks do not block each other
            await first.release()
            assert await second.acquire() and second.held()
        else:
            assert await second.acquire()  # one process: nothing to coordinate
    finally:
        for lock in (first, second, other):
            await lock.release()


async def test_secrets_never_reach_logs(
    api: Api,
    chain: DevChain,
    make_registry: RegistryFactory,
    proxies: tuple[RpcProxy, RpcProxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RPC URLs (API keys in the path) and the intent-signer key stay out of every log line,
    even when nodes fail and the watcher fails over."""
    flaky, healthy = proxies
    flaky.fail_every = 1  # every request to the first URL fails
    secret_path = "/v3/kassaTestProviderKey0123456789abcdef"
    registry = make_registry(
        rpc_urls=[flaky.url + secret_path, healthy.url + secret_path], rpc_timeout_seconds=1
    )
    # At the default level nothing secret is even emitted; at DEBUG, libraries (web3) do
    # print URLs, and the log handler's redaction (app.logs) must catch them.
    caplog.set_level("DEBUG")
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    session = await api.session()
    _, payment = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    await chain.pay(payment)
    await watcher.poll_once()
    assert (await Payment.get(id=payment["id"])).status == "confirmed"
    assert "failing over" in caplog.text
    emitted_at_info = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= 20)
    redacted_debug = redact(caplog.text)
    for secret in ("kassaTestProviderKey", chain.signer_key, chain.signer_key[2:]):
        assert secret not in emitted_at_info
        assert secret not in redacted_debug
    assert chain.signer_key not in repr(registry.settings)
    assert "kassaTestProviderKey" not in repr(registry.settings)
