"""`NetworkConformance`: the pytest suite every network plugin passes (import it in your tests).

It checks what the core relies on from a `Network` and nothing chain-specific: identity,
blocks that link, finality, payments prepared and then observed exactly as prepared (in a
range and by transaction id), reorganised blocks that drop their payments, address and
transaction-id checks, the default confirmation policy, and health checks that answer.
Subclass it and provide a `conformance` fixture returning a `Conformance` whose `chain`
drives your chain:

    class TestMyChain(NetworkConformance):
        @pytest.fixture
        def conformance(self, my_chain) -> Conformance:
            return Conformance(network, registry, MyChainDriver(my_chain))

docs/plugin_hooks.md walks through a complete example (tests/plugins/toychain.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

import pytest

from app.networks import (
    HealthCheck,
    Network,
    Observation,
    PaymentTerms,
    PreparedPayment,
    Registry,
)


class ChainDriver(Protocol):
    """What the suite needs to do to a test chain (a local node or an in-memory fake)."""

    # A valid payout address on the chain, spelt as `normalize_address` returns it.
    payout_address: str
    # Strings that are not addresses there (wrong length, alphabet, checksum …).
    invalid_addresses: list[str]

    async def mine(self, blocks: int) -> None:
        """Add `blocks` blocks."""
        ...

    async def pay(self, terms: PaymentTerms, prepared: PreparedPayment) -> str:
        """Do what a wallet does with `prepared`, mine it into a block, return the tx id."""
        ...

    async def reorg(self, depth: int) -> None:
        """Replace the newest `depth` blocks with others that carry none of their payments."""
        ...


@dataclass
class Conformance:
    network: Network
    registry: Registry
    chain: ChainDriver


def _terms(conformance: Conformance, number: int, amount: int = 10**6) -> PaymentTerms:
    network = conformance.network
    return PaymentTerms(
        payment_id=f"pay_conformance{number}",
        session_id=f"cs_test_conformance{number}",
        # Far from the session numbers the database hands out, so a shared chain never sees
        # a session twice.
        session_number=10**12 + number,
        token=network.native_currency,
        amount=amount,
        fee=0,
        fee_basis_points=0,
        recipient=conformance.chain.payout_address,
        deadline=2**40,
    )


class NetworkConformance:
    """What the core relies on from any `Network`. Subclass and provide `conformance`."""

    async def test_identity(self, conformance: Conformance) -> None:
        network = conformance.network
        assert isinstance(network, Network)
        assert network.key and network.name and network.chain_ref
        native = network.native_currency
        assert native.address is None and native.network == network.key
        assert native.decimals >= 0
        assert network.finality.confirmations >= 1
        assert network.max_scan_range >= 1 and network.poll_interval > 0
        assert "key" not in repr(network).lower()
        json.dumps(network.public_facts())  # shown by the API as it is

    async def test_head_blocks_and_finality(self, conformance: Conformance) -> None:
        network = conformance.network
        await conformance.chain.mine(3)
        head = await network.head()
        assert await network.block(head.number) == head
        parent = await network.block(head.number - 1)
        assert parent is not None and head.parent_hash == parent.hash
        assert head.timestamp >= parent.timestamp
        assert await network.block(head.number + 1000) is None
        finalized = await network.finalized_head()
        assert finalized is None or finalized.number <= head.number
        assert await network.chain_time() >= head.timestamp

    async def test_prepared_payments_are_observed_exactly(self, conformance: Conformance) -> None:
        network, chain = conformance.network, conformance.chain
        start = (await network.head()).number + 1
        paid: list[tuple[PreparedPayment, str]] = []
        for number in range(3):
            terms = _terms(conformance, number)
            prepared = await network.prepare_payment(terms)
            paid.append((prepared, await chain.pay(terms, prepared)))
            await chain.mine(1)
        end = (await network.head()).number
        assert len({prepared.reference for prepared, _ in paid}) == 3
        observed = await network.observe(start, end)
        assert [o.reference for o in observed] == [prepared.reference for prepared, _ in paid]
        for (prepared, tx_id), observation in zip(paid, observed, strict=True):
            assert observation.tx_id == network.normalize_tx_id(tx_id)
            assert observation.session_reference == prepared.session_reference
            assert observation.token is None and observation.amount == 10**6
            assert observation.recipient == chain.payout_address and observation.fee == 0
            block = await network.block(observation.block_number)
            assert block is not None and block.hash == observation.block_hash
            assert await network.observe_transaction(tx_id) == [observation]
        assert await network.observe(end + 1, end) == []

    async def test_reorged_payments_disappear(self, conformance: Conformance) -> None:
        network, chain = conformance.network, conformance.chain
        terms = _terms(conformance, 10)
        prepared = await network.prepare_payment(terms)
        tx_id = await chain.pay(terms, prepared)
        await chain.mine(1)
        head = await network.head()
        [seen] = await network.observe_transaction(tx_id)
        await chain.reorg(head.number - seen.block_number + 1)
        replaced = await network.block(seen.block_number)
        assert replaced is not None and replaced.hash != seen.block_hash
        found: list[Observation] = await network.observe(seen.block_number, head.number)
        assert prepared.reference not in [o.reference for o in found]
        assert await network.observe_transaction(tx_id) == []

    async def test_addresses_and_transaction_ids(self, conformance: Conformance) -> None:
        network, chain = conformance.network, conformance.chain
        assert network.normalize_address(chain.payout_address) == chain.payout_address
        for bad in chain.invalid_addresses:
            with pytest.raises(ValueError):
                network.normalize_address(bad)
        for bad in ("", "not a transaction", "0" * 300):
            with pytest.raises(ValueError):
                network.normalize_tx_id(bad)

    async def test_default_confirmations(self, conformance: Conformance) -> None:
        network = conformance.network
        hook = conformance.registry.pm.hook.min_confirmations
        assert hook(network=network, token=network.native_currency, amount=1) == (
            network.finality.confirmations
        )

    async def test_health_answers(self, conformance: Conformance) -> None:
        """`health()` answers with named checks that say what they found; on a working test
        chain every one of them passes."""
        checks = await conformance.network.health()
        assert checks, "health() names at least one check"
        for check in checks:
            assert isinstance(check, HealthCheck)
            assert check.name.strip() and check.detail.strip()
            assert check.ok is True, check
        assert len({check.name for check in checks}) == len(checks), "check names are unique"
