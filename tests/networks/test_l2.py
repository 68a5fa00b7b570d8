"""The L2 networks (plugins/l2): each one's defaults, its built-in USDC, the operator's
finality override, and a real payment on an anvil started with that network's chain id.

The expected facts are written out here again, not read from the plugin, so a typo in
either place fails (sources: the chains' docs, Circle's USDC addresses).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.config import Settings
from app.networks import FinalityPolicy, PaymentTerms, Registry, Token, build_registry
from app.plugins import make_plugin_manager
from app.watcher import finality_policy
from plugins.evm import EvmNetwork
from tests.chain import DevChain, deploy_devchain, start_devnet

pytestmark = pytest.mark.chain


@dataclass(frozen=True)
class Expected:
    key: str
    chain_id: int
    name: str
    testnet: bool
    confirmations: int
    explorer_url: str
    public_rpc_url: str
    usdc: str


EXPECTED = (
    Expected(
        "base",
        8453,
        "Base",
        False,
        60,
        "https://basescan.org",
        "https://mainnet.base.org",
        "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    ),
    Expected(
        "base_sepolia",
        84532,
        "Base Sepolia",
        True,
        60,
        "https://sepolia.basescan.org",
        "https://sepolia.base.org",
        "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    ),
    Expected(
        "arbitrum",
        42161,
        "Arbitrum One",
        False,
        480,
        "https://arbiscan.io",
        "https://arb1.arbitrum.io/rpc",
        "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    ),
    Expected(
        "arbitrum_sepolia",
        421614,
        "Arbitrum Sepolia",
        True,
        480,
        "https://sepolia.arbiscan.io",
        "https://sepolia-rollup.arbitrum.io/rpc",
        "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d",
    ),
    Expected(
        "optimism",
        10,
        "OP Mainnet",
        False,
        60,
        "https://optimistic.etherscan.io",
        "https://mainnet.optimism.io",
        "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
    ),
    Expected(
        "optimism_sepolia",
        11155420,
        "OP Sepolia",
        True,
        60,
        "https://optimism-sepolia.blockscout.com",
        "https://sepolia.optimism.io",
        "0x5fd84259d66Cd46123540766Be93DFE6D43130D7",
    ),
)

# Bridged USDC (USDC.e on Arbitrum and OP, USDbC on Base): never built in as "USDC".
BRIDGED_USDC = {
    "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8",
    "0x7F5c764cBc14f9669B88837ca1490cCa17c31607",
    "0xd9aAEc86B65D86f6A7B5B1b0c42FFA531710b6CA",
}


@dataclass
class Rollup:
    expected: Expected
    chain: DevChain
    registry: Registry

    @property
    def network(self) -> EvmNetwork:
        network = self.registry.networks[self.expected.key]
        assert isinstance(network, EvmNetwork)
        return network


def rollup_registry(key: str, chain: DevChain, **operator: Any) -> Registry:
    """A registry with only `key` enabled, on `chain`; `operator` adds settings of the block."""
    network = {
        "rpc_urls": [chain.node.rpc_url],
        "contract_address": chain.contract_address,
        "signer_key": chain.signer_key,
        "rpc_timeout_seconds": 5,
        **operator,
    }
    settings = Settings(database_url="sqlite://:memory:", networks={key: network})  # type: ignore[dict-item]
    return build_registry(settings, make_plugin_manager(settings))


@pytest.fixture(scope="module", params=EXPECTED, ids=lambda expected: expected.key)
async def rollup(request: pytest.FixtureRequest) -> AsyncIterator[Rollup]:
    """One anvil per network, with that network's chain id; stopped before the next starts."""
    expected: Expected = request.param
    node = start_devnet(chain_id=expected.chain_id)
    try:
        chain = await deploy_devchain(node)
        registry = rollup_registry(expected.key, chain)
        yield Rollup(expected, chain, registry)
        await registry.close()
        await chain.w3.provider.disconnect()  # type: ignore[attr-defined]
    finally:
        node.stop()


async def test_identity(rollup: Rollup) -> None:
    expected, network = rollup.expected, rollup.network
    assert network.key == expected.key
    assert network.chain_ref == f"eip155:{expected.chain_id}"
    assert network.chain_id == expected.chain_id == await rollup.chain.w3.eth.chain_id
    assert (network.name, network.testnet) == (expected.name, expected.testnet)
    native = network.native_currency
    assert (native.symbol, native.decimals, native.address) == ("ETH", 18, None)
    assert rollup.registry.token(expected.key, "ETH") == native
    assert network.explorer_url == expected.explorer_url
    assert network.explorer_tx_url("0xab") == f"{expected.explorer_url}/tx/0xab"
    assert network.public_rpc_url == expected.public_rpc_url
    assert (network.poll_interval, network.max_scan_range) == (2.0, 2_000)


async def test_finalized_tag_by_default(rollup: Rollup) -> None:
    expected, registry = rollup.expected, rollup.registry
    network = registry.networks[expected.key]
    tag_only = FinalityPolicy(
        expected.confirmations, require_finalized_tag=True, finalized_tag_only=True
    )
    assert finality_policy(network, registry) == network.finality == tag_only
    # The count the checkout page shows while it waits for the tag.
    hook = registry.pm.hook.min_confirmations
    assert hook(network=network, token=network.native_currency, amount=1) == (
        expected.confirmations
    )
    finalized = await network.finalized_head()
    assert finalized is not None and finalized.number <= (await network.head()).number


@pytest.mark.parametrize(
    ("operator", "policy", "depth"),
    [
        # Depth instead of the tag, at the network's default depth.
        ({"finality": "confirmations"}, (False, False), None),
        ({"finality": "confirmations", "confirmations": 5}, (False, False), 5),
        ({"finality": "both", "confirmations": 5}, (True, False), 5),
    ],
    ids=["depth", "depth-5", "both-5"],
)
async def test_operator_finality_override(
    rollup: Rollup, operator: dict[str, Any], policy: tuple[bool, bool], depth: int | None
) -> None:
    expected = rollup.expected
    registry = rollup_registry(expected.key, rollup.chain, **operator)
    try:
        network = registry.networks[expected.key]
        applied = finality_policy(network, registry)
        assert (applied.require_finalized_tag, applied.finalized_tag_only) == policy
        hook = registry.pm.hook.min_confirmations
        assert hook(network=network, token=network.native_currency, amount=1) == (
            depth or expected.confirmations
        )
    finally:
        await registry.close()


async def test_native_usdc_built_in(rollup: Rollup) -> None:
    expected, network = rollup.expected, rollup.network
    usdc = rollup.registry.token(expected.key, "USDC")
    assert usdc is not None
    assert (usdc.address, usdc.decimals, usdc.network) == (expected.usdc, 6, expected.key)
    assert usdc.address not in BRIDGED_USDC
    prepared = await network.prepare_payment(_terms(rollup, usdc, 25_000_000))
    approve = prepared.wallet_request["approve"]
    assert approve == {
        "token": expected.usdc,
        "spender": network.contract_address,
        "amount": "25000000",
    }
    assert prepared.payment_uri.startswith(f"ethereum:{expected.usdc}@{expected.chain_id}/")


async def test_native_payment_is_observed(rollup: Rollup) -> None:
    network, chain = rollup.network, rollup.chain
    prepared = await network.prepare_payment(_terms(rollup, network.native_currency, 10**15))
    request = prepared.wallet_request
    start = await chain.head() + 1
    tx_hash = await chain.pay(
        {"to_contract": request["to"], "data": request["data"], "value": request["value"]}
    )
    end = await chain.head()
    [observation] = await network.observe(start, end)
    assert observation.reference == prepared.reference
    assert observation.session_reference == prepared.session_reference
    assert observation.tx_id == tx_hash
    assert (observation.amount, observation.fee, observation.token) == (10**15, 0, None)
    assert observation.recipient == chain.merchant


def _terms(rollup: Rollup, token: Token, amount: int) -> PaymentTerms:
    """Terms paying the chain's merchant (expiry is not what these tests are about)."""
    return PaymentTerms(
        payment_id="pay_l2",
        session_id="cs_l2",
        session_number=rollup.expected.chain_id,  # any number the contract hasn't seen
        token=token,
        amount=amount,
        fee=0,
        fee_basis_points=0,
        recipient=rollup.chain.merchant,
        deadline=2**40,
    )
