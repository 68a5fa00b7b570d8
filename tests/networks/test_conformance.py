"""`NetworkConformance`: the suite every network plugin passes, run per plugin.

Subclasses provide `conformance` — a (network, chain) pair where `chain` is a `DevChain`
whose node the network talks to (through an `RpcProxy`, so the suite can also inject
provider limits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import ExtraDataLengthError

from app.config import Settings
from plugins.evm.contract import PaymentIntent, intent_digest, session_ref
from app.networks import Network, Registry, build_registry
from app.plugins import make_plugin_manager
from tests.chain import DevChain, deploy_devchain, start_devnet
from tests.networks.rpc_proxy import RpcProxy

pytestmark = pytest.mark.chain


@dataclass
class Conformance:
    network: Network
    registry: Registry
    chain: DevChain
    proxy: RpcProxy


def conformance_registry(key: str, chain: DevChain, proxy: RpcProxy) -> Registry:
    settings = Settings(
        database_url="sqlite://:memory:",
        networks={
            key: {
                "rpc_urls": [proxy.url],
                "contract_address": chain.contract_address,
                "signer_key": chain.signer_key,
                "rpc_timeout_seconds": 5,
            }
        },
    )  # type: ignore[arg-type]
    return build_registry(settings, make_plugin_manager(settings))


class NetworkConformance:
    """What the core relies on from any `Network`. Subclass and provide `conformance`."""

    async def test_identity(self, conformance: Conformance) -> None:
        network = conformance.network
        assert isinstance(network, Network)
        assert network.key and network.name
        assert network.chain_id == await conformance.chain.w3.eth.chain_id
        native = network.native_currency
        assert native.address is None and native.network == network.key and native.decimals == 18
        assert network.finality.confirmations >= 1
        assert network.max_log_range >= 1 and network.poll_interval > 0
        assert "key" not in repr(network).lower() and conformance.proxy.url not in repr(network)

    async def test_head_blocks_and_finality(self, conformance: Conformance) -> None:
        network, chain = conformance.network, conformance.chain
        await chain.mine(3)
        head = await network.head()
        assert head.number == await chain.head()
        assert await network.block(head.number) == head
        parent = await network.block(head.number - 1)
        assert parent is not None and head.parent_hash == parent.hash
        assert head.timestamp >= parent.timestamp
        assert await network.block(head.number + 1000) is None
        finalized = await network.finalized_head()
        assert finalized is not None and finalized.number <= head.number

    async def test_logs_and_range_splitting(self, conformance: Conformance) -> None:
        network, chain = conformance.network, conformance.chain
        start = await chain.head() + 1
        intents = []
        for _ in range(3):
            intent = await chain.kassa.intent(amount=10**15)
            await chain.kassa.pay(intent)
            await chain.mine(2)
            intents.append(intent)
        end = await chain.head()
        logs = await network.get_logs(start, end)
        assert [log.payment_ref for log in logs] == [i.payment_ref for i in intents]
        assert all(log.block_hash and log.transaction_hash for log in logs)
        assert await network.get_logs(end + 1, end) == []
        conformance.proxy.max_log_range = 2
        try:
            split = await network.get_logs(start, end)
        finally:
            conformance.proxy.max_log_range = None
        assert split == logs
        assert network.max_scan_range <= 2

    async def test_addresses(self, conformance: Conformance) -> None:
        network = conformance.network
        merchant = conformance.chain.merchant
        assert network.normalize_address(merchant.lower()) == merchant
        for bad in ("0x1234", "not an address", "0x" + "00" * 20):
            with pytest.raises(ValueError):
                network.normalize_address(bad)

    async def test_sign_intent(self, conformance: Conformance) -> None:
        network, chain = conformance.network, conformance.chain
        intent = PaymentIntent(
            session_ref(7), b"\x01" * 32, "0x" + "00" * 20, 5, chain.merchant, 0, 2**40
        )
        signature = network.sign_intent(intent)
        digest = intent_digest(intent, network.chain_id, network.contract_address)
        recovered = Account._recover_hash(digest, signature=signature)
        assert recovered == chain.kassa.roles.signer
        on_chain = await chain.kassa.checkout.functions.hashIntent(intent.as_abi_tuple()).call()
        assert bytes(on_chain) == digest

    async def test_default_hooks(self, conformance: Conformance) -> None:
        network, registry = conformance.network, conformance.registry
        native = network.native_currency
        hook = registry.pm.hook
        assert hook.min_confirmations(network=network, token=native, amount=1) == (
            network.finality.confirmations
        )


@pytest.fixture(scope="module")
async def devnet_conformance(deployed_chain: DevChain) -> AsyncIterator[Conformance]:
    snapshot = await deployed_chain.snapshot()
    # Session refs far from the ones payments get from the database's nonce counter.
    deployed_chain.kassa.next_session = 10**9
    proxy = await RpcProxy(deployed_chain.node.rpc_url).start()
    registry = conformance_registry("devnet", deployed_chain, proxy)
    yield Conformance(registry.networks["devnet"], registry, deployed_chain, proxy)
    await registry.close()
    await proxy.stop()
    await deployed_chain.revert(snapshot)


class TestDevnet(NetworkConformance):
    @pytest.fixture
    def conformance(self, devnet_conformance: Conformance) -> Conformance:
        return devnet_conformance

    async def test_devnet_policy(self, conformance: Conformance) -> None:
        assert conformance.network.chain_id == 31337
        assert conformance.network.finality.confirmations == 1
        assert conformance.network.testnet


@pytest.fixture(scope="module")
async def amoy_conformance() -> AsyncIterator[Conformance]:
    """Polygon's configuration on an anvil with Amoy's chain id, behind a proxy that returns
    PoA-style blocks (97-byte extraData) as Polygon's nodes do."""
    node = start_devnet(chain_id=80002)
    chain = await deploy_devchain(node)
    proxy = await RpcProxy(node.rpc_url).start()
    proxy.pad_extra_data = True
    registry = conformance_registry("amoy", chain, proxy)
    yield Conformance(registry.networks["amoy"], registry, chain, proxy)
    await registry.close()
    await proxy.stop()
    await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    node.stop()


class TestAmoy(NetworkConformance):
    @pytest.fixture
    def conformance(self, amoy_conformance: Conformance) -> Conformance:
        return amoy_conformance

    async def test_poa_blocks_need_the_middleware(self, conformance: Conformance) -> None:
        plain: Any = AsyncWeb3(AsyncHTTPProvider(conformance.proxy.url))
        try:
            with pytest.raises(ExtraDataLengthError):
                await plain.eth.get_block("latest")
        finally:
            await plain.provider.disconnect()
        assert (await conformance.network.head()).number >= 1
        assert conformance.network.finality.confirmations == 128
