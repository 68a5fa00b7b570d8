"""Every EVM network plugin passes `app.conformance.NetworkConformance` on anvil, plus the
EVM's own checks: chain id, log range splitting behind a limiting provider, intent signing.

The network talks to anvil through an `RpcProxy`, so the suite can inject provider limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import ExtraDataLengthError

from app.config import Settings
from app.conformance import Conformance, NetworkConformance
from app.networks import PaymentTerms, PreparedPayment, Registry, build_registry
from app.plugins import make_plugin_manager
from plugins.evm.contract import PaymentIntent, intent_digest, session_ref
from tests.chain import DevChain, deploy_devchain, start_devnet
from tests.networks.rpc_proxy import RpcProxy

pytestmark = pytest.mark.chain


class EvmDriver:
    """The conformance suite's hands on an anvil chain."""

    def __init__(self, chain: DevChain, proxy: RpcProxy) -> None:
        self.devchain = chain
        self.proxy = proxy
        self.payout_address = chain.merchant
        self.invalid_addresses = ["0x1234", "not an address", "0x" + "00" * 20]

    async def mine(self, blocks: int) -> None:
        await self.devchain.mine(blocks)

    async def pay(self, terms: PaymentTerms, prepared: PreparedPayment) -> str:
        request = prepared.wallet_request
        tx = {"to": request["to"], "data": request["data"], "value": int(request["value"])}
        return await self.devchain._send(tx, self.devchain.payer_key)

    async def reorg(self, depth: int) -> None:
        await self.devchain.reorg(depth)


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


def evm_driver(conformance: Conformance) -> EvmDriver:
    assert isinstance(conformance.chain, EvmDriver)
    return conformance.chain


class EvmConformance(NetworkConformance):
    """The chain-neutral suite plus what only EVM networks promise."""

    async def test_chain_id(self, conformance: Conformance) -> None:
        network: Any = conformance.network
        chain_id = await evm_driver(conformance).devchain.w3.eth.chain_id
        assert network.chain_id == chain_id and network.chain_ref == f"eip155:{chain_id}"
        assert network.native_currency.decimals == 18
        assert evm_driver(conformance).proxy.url not in repr(network)

    async def test_log_range_splitting(self, conformance: Conformance) -> None:
        network: Any = conformance.network
        driver = evm_driver(conformance)
        start = await driver.devchain.head() + 1
        for _ in range(3):
            intent = await driver.devchain.kassa.intent(amount=10**15)
            await driver.devchain.kassa.pay(intent)
            await driver.devchain.mine(2)
        end = await driver.devchain.head()
        logs = await network.observe(start, end)
        assert len(logs) == 3
        driver.proxy.max_log_range = 2
        try:
            split = await network.observe(start, end)
        finally:
            driver.proxy.max_log_range = None
        assert split == logs
        assert network.max_scan_range <= 2

    async def test_sign_intent(self, conformance: Conformance) -> None:
        network: Any = conformance.network
        chain = evm_driver(conformance).devchain
        intent = PaymentIntent(
            session_ref(7), b"\x01" * 32, "0x" + "00" * 20, 5, chain.merchant, 0, 2**40
        )
        signature = network.sign_intent(intent)
        digest = intent_digest(intent, network.chain_id, network.contract_address)
        recovered = Account._recover_hash(digest, signature=signature)
        assert recovered == chain.kassa.roles.signer
        on_chain = await chain.kassa.checkout.functions.hashIntent(intent.as_abi_tuple()).call()
        assert bytes(on_chain) == digest


@pytest.fixture(scope="module")
async def devnet_conformance(deployed_chain: DevChain) -> AsyncIterator[Conformance]:
    snapshot = await deployed_chain.snapshot()
    # Session refs far from the ones payments get from the database's nonce counter.
    deployed_chain.kassa.next_session = 10**9
    proxy = await RpcProxy(deployed_chain.node.rpc_url).start()
    registry = conformance_registry("devnet", deployed_chain, proxy)
    yield Conformance(registry.networks["devnet"], registry, EvmDriver(deployed_chain, proxy))
    await registry.close()
    await proxy.stop()
    await deployed_chain.revert(snapshot)


class TestDevnet(EvmConformance):
    @pytest.fixture
    def conformance(self, devnet_conformance: Conformance) -> Conformance:
        return devnet_conformance

    async def test_devnet_policy(self, conformance: Conformance) -> None:
        assert conformance.network.chain_ref == "eip155:31337"
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
    yield Conformance(registry.networks["amoy"], registry, EvmDriver(chain, proxy))
    await registry.close()
    await proxy.stop()
    await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    node.stop()


class TestAmoy(EvmConformance):
    @pytest.fixture
    def conformance(self, amoy_conformance: Conformance) -> Conformance:
        return amoy_conformance

    async def test_poa_blocks_need_the_middleware(self, conformance: Conformance) -> None:
        plain: Any = AsyncWeb3(AsyncHTTPProvider(evm_driver(conformance).proxy.url))
        try:
            with pytest.raises(ExtraDataLengthError):
                await plain.eth.get_block("latest")
        finally:
            await plain.provider.disconnect()
        assert (await conformance.network.head()).number >= 1
        assert conformance.network.finality.confirmations == 128
