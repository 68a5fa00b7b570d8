"""An EVM network whose payments also have deposit addresses (`app.networks.DepositNetwork`).

Each payment's deposit address is the CREATE2 address of a `KassaDepositFactory` clone
bound to the merchant's payout address, the fee terms and the payment reference (see
docs/contract.md); nothing is deployed until the sweeper sweeps. Watching it means ERC-20
`Transfer` logs into the watched addresses (any token contract, topic filters over address
sets), the factory's `Swept` logs out of them, and native balances (plain value transfers
leave no log) asked in JSON-RPC batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, TransactionNotFound

from app.networks import (
    DepositSweep,
    HealthCheck,
    Observation,
    ObservationKind,
    PaymentTerms,
    PluginError,
    PreparedPayment,
    RpcError,
    SweepReport,
)
from plugins.evm import health
from plugins.evm.contract import NATIVE_TOKEN, decode_contract_error, revert_data
from plugins.evm.deposits import (
    NO_FEE_RECIPIENT,
    SWEPT_TOPIC,
    DepositTerms,
    compute_deposit_address,
    decode_swept,
    encode_sweep_many_call,
    forwarder_implementation,
)
from plugins.evm.network import (
    TRANSFER_TOPIC,
    ChainSpec,
    EvmNetwork,
    EvmNetworkSettings,
    _checksum,
    address_topic,
)

log = logging.getLogger("kassa.evm.deposits")

# Addresses per topic filter and per balance batch: providers cap request sizes.
ADDRESS_BATCH = 200
BALANCE_BATCH = 100
SWEEP_GAS_PER_DEPOSIT = 400_000
RECEIPT_WAIT_SECONDS = 120.0
# The sweeper warns when its gas money would not cover this many more sweeps.
LOW_BALANCE_SWEEPS = 20


_topic = address_topic  # the core hands back the spelling we gave it


def plain_transfer_uri(chain_id: int, deposit: str, token: str | None, total: int) -> str:
    """EIP-681 for a plain transfer phone wallets understand: the coin, or `transfer`."""
    if token is None:
        return f"ethereum:{deposit}@{chain_id}?value={total}"
    return f"ethereum:{token}@{chain_id}/transfer?address={deposit}&uint256={total}"


class EvmDepositNetwork(EvmNetwork):
    """An `EvmNetwork` with deposit addresses (satisfies `app.networks.DepositNetwork`)."""

    def __init__(self, spec: ChainSpec, settings: EvmNetworkSettings) -> None:
        super().__init__(spec, settings)
        assert settings.deposit_factory
        self.deposit_factory = _checksum(spec.key, "deposit_factory", settings.deposit_factory)
        self.fee_recipient = (
            _checksum(spec.key, "fee_recipient", settings.fee_recipient)
            if settings.fee_recipient
            else NO_FEE_RECIPIENT
        )
        if settings.fee_basis_points and self.fee_recipient == NO_FEE_RECIPIENT:
            raise PluginError(
                f"network {spec.key!r}: fee_basis_points needs fee_recipient for deposit addresses"
            )
        self._sweeper_key = settings.sweeper_secret()
        self._implementation: str | None = None

    def __repr__(self) -> str:  # never show the keys or the URLs
        return f"EvmDepositNetwork({self.key!r}, chain_id={self.chain_id})"

    # ------------------------------------------------------------------ health

    async def contract_checks(self, w3: AsyncWeb3[Any] | None) -> list[HealthCheck]:
        """The payment contract's checks, then the deposit factory (and the forwarder it
        clones) and the sweeper's gas money: enough for `LOW_BALANCE_SWEEPS` sweeps of one
        deposit at their gas limit and the node's current gas price."""
        timeout = self.rpc.timeout
        factory = health.factory_check(self.deposit_factory)
        sweeper = health.sweeper_check(
            self._sweeper_key,
            self.native_currency.symbol,
            LOW_BALANCE_SWEEPS,
            SWEEP_GAS_PER_DEPOSIT,
        )
        return [
            *await super().contract_checks(w3),
            await health.guarded(health.DEPOSIT_FACTORY, w3, timeout, factory),
            await health.guarded(health.SWEEPER_GAS, w3, timeout, sweeper),
        ]

    # ------------------------------------------------------------------ preparing

    async def _forwarder(self) -> str:
        """The forwarder implementation every deposit clones (fixed per factory): read once."""
        if self._implementation is None:
            self._implementation = await self.rpc.call(
                "forwarderImplementation",
                lambda w3: forwarder_implementation(w3, self.deposit_factory),
            )
        return self._implementation

    async def prepare_payment(self, terms: PaymentTerms) -> PreparedPayment:
        """The signed intent (browser wallets) plus the deposit address (any wallet)."""
        prepared = await super().prepare_payment(terms)
        fee_recipient = self.fee_recipient if terms.fee_basis_points else NO_FEE_RECIPIENT
        deposit_terms = DepositTerms(
            payout=terms.recipient,
            fee_recipient=fee_recipient,
            fee_basis_points=terms.fee_basis_points if fee_recipient != NO_FEE_RECIPIENT else 0,
            payment_ref=bytes(HexBytes(prepared.reference)),
        )
        deposit = compute_deposit_address(
            self.deposit_factory, await self._forwarder(), deposit_terms
        )
        return dataclasses.replace(
            prepared,
            deposit_address=deposit,
            deposit_terms={
                "payout": deposit_terms.payout,
                "fee_recipient": deposit_terms.fee_recipient,
                "fee_basis_points": deposit_terms.fee_basis_points,
                "payment_ref": prepared.reference,
            },
            # What the QR code and "open in wallet" hold: a plain transfer to the deposit
            # address. The payment contract is never shown as a place to send money.
            payment_uri=plain_transfer_uri(
                self.chain_id, deposit, terms.token.address, terms.amount + terms.fee
            ),
        )

    # ------------------------------------------------------------------ observing

    async def observe_deposits(
        self, from_block: int, to_block: int, addresses: Sequence[str]
    ) -> list[Observation]:
        found: list[Observation] = []
        for start in range(0, len(addresses), ADDRESS_BATCH):
            topics = [_topic(a) for a in addresses[start : start + ADDRESS_BATCH]]
            transfers = await self.raw_logs(
                {"topics": [TRANSFER_TOPIC, None, topics]}, from_block, to_block
            )
            found += [o for o in map(_transfer, transfers) if o is not None]
            sweeps = await self.raw_logs(
                {"address": self.deposit_factory, "topics": [SWEPT_TOPIC, topics]},
                from_block,
                to_block,
            )
            # Filters are only asked of the node (see `_emitted_by_contract`).
            found += [
                _sweep(entry)
                for entry in sweeps
                if not entry.get("removed")
                and to_checksum_address(entry["address"]) == self.deposit_factory
                and HexBytes(entry["topics"][0]).to_0x_hex() == SWEPT_TOPIC
            ]
        return sorted(found, key=lambda o: (o.block_number, o.position))

    async def native_balances(self, addresses: Sequence[str], block_number: int) -> dict[str, int]:
        balances: dict[str, int] = {}
        for start in range(0, len(addresses), BALANCE_BATCH):
            chunk = list(addresses[start : start + BALANCE_BATCH])

            async def batch(w3: AsyncWeb3[Any], chunk: list[str] = chunk) -> list[Any]:
                async with w3.batch_requests() as requests:
                    for address in chunk:
                        requests.add(w3.eth.get_balance(address, block_number))  # type: ignore[arg-type]
                    return list(await requests.async_execute())

            answers = await self.rpc.call(f"balances at {block_number}", batch)
            for address, answer in zip(chunk, answers, strict=True):
                balances[address] = int(answer)
        return balances

    # ------------------------------------------------------------------ sweeping

    async def sweep(self, deposits: Sequence[DepositSweep]) -> SweepReport:
        """One `sweepMany` transaction from the sweeper's gas key; gas shared per deposit."""
        if not self._sweeper_key:
            raise RpcError(f"{self.key}: no sweeper_key configured; deposits wait unswept")
        batch = [
            (
                DepositTerms(
                    payout=d.deposit_terms["payout"],
                    fee_recipient=d.deposit_terms["fee_recipient"],
                    fee_basis_points=int(d.deposit_terms["fee_basis_points"]),
                    payment_ref=bytes(HexBytes(d.deposit_terms["payment_ref"])),
                ),
                list(d.tokens),
            )
            for d in deposits
        ]
        call = encode_sweep_many_call(self.deposit_factory, batch)
        account = Account.from_key(self._sweeper_key)
        tx: dict[str, Any] = {**call, "from": account.address}
        try:
            # Simulated first: a refusal names its reason (e.g. a token that cannot move).
            await self.rpc.call("sweep simulation", lambda w3: w3.eth.call(tx))  # type: ignore[arg-type]
        except ContractLogicError as error:
            data = revert_data(error)
            reason = decode_contract_error(data) if data is not None else str(error)
            raise RpcError(f"{self.key}: sweep refused: {reason}") from None
        tx.update(
            nonce=await self.rpc.call(
                "sweeper nonce",
                lambda w3: w3.eth.get_transaction_count(account.address, "pending"),
            ),
            chainId=self.chain_id,
            gas=SWEEP_GAS_PER_DEPOSIT * len(batch) + 50_000,
            maxFeePerGas=2 * await self.rpc.call("gas price", lambda w3: w3.eth.gas_price),
            maxPriorityFeePerGas=await self.rpc.call(
                "priority fee", lambda w3: w3.eth.max_priority_fee
            ),
        )
        # Signed once: sending the same raw transaction again (failover) cannot sweep twice.
        raw = account.sign_transaction(tx).raw_transaction
        tx_hash = await self.rpc.call("sweep", lambda w3: w3.eth.send_raw_transaction(raw))
        receipt = await self._receipt(tx_hash)
        if receipt["status"] != 1:
            raise RpcError(f"{self.key}: sweep {HexBytes(tx_hash).to_0x_hex()} reverted")
        balance = await self.rpc.call(
            "sweeper balance", lambda w3: w3.eth.get_balance(account.address)
        )
        gas = int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0) or 0)
        share = gas // len(batch)
        if int(balance) < share * LOW_BALANCE_SWEEPS:
            log.warning(
                "%s: the sweeper %s holds gas for fewer than %d more sweeps: top it up",
                self.key,
                account.address,
                LOW_BALANCE_SWEEPS,
            )
        return SweepReport(
            tx_id=HexBytes(tx_hash).to_0x_hex(),
            gas_by_payment={d.payment_id: share for d in deposits},
        )

    async def _receipt(self, tx_hash: Any) -> Any:
        """Wait for the sweep's receipt, a poll at a time (each call within the RPC timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECEIPT_WAIT_SECONDS
        while True:
            try:
                return await self.rpc.call(
                    "sweep receipt", lambda w3: w3.eth.get_transaction_receipt(tx_hash)
                )
            except TransactionNotFound:
                if loop.time() > deadline:
                    mined = HexBytes(tx_hash).to_0x_hex()
                    raise RpcError(f"{self.key}: sweep {mined} not mined") from None
                await asyncio.sleep(min(1.0, self.poll_interval))


def _transfer(entry: Mapping[str, Any]) -> Observation | None:
    """An ERC-20 `Transfer` into a deposit address (ERC-721 transfers, with a fourth topic,
    and malformed data are not money)."""
    topics = [HexBytes(topic) for topic in entry["topics"]]
    data = HexBytes(entry["data"])
    if entry.get("removed") or len(topics) != 3 or len(data) != 32:
        return None
    # The node was asked for Transfer logs only; `Approval` has the same shape.
    if topics[0].to_0x_hex() != TRANSFER_TOPIC:
        return None
    deposit = to_checksum_address(topics[2][-20:])
    return Observation(
        kind=ObservationKind.TRANSFER,
        tx_id=HexBytes(entry["transactionHash"]).to_0x_hex(),
        position=int(entry["logIndex"]),
        block_number=int(entry["blockNumber"]),
        block_hash=HexBytes(entry["blockHash"]).to_0x_hex(),
        reference=deposit,
        session_reference="",
        payer=to_checksum_address(topics[1][-20:]),
        token=to_checksum_address(entry["address"]),
        amount=int.from_bytes(data, "big"),
        recipient=deposit,
        fee=0,
    )


def _sweep(entry: Mapping[str, Any]) -> Observation:
    swept = decode_swept(entry)
    assert swept.transaction_hash and swept.block_hash and swept.block_number is not None
    return Observation(
        kind=ObservationKind.SWEEP,
        tx_id=swept.transaction_hash,
        position=int(swept.log_index or 0),
        block_number=swept.block_number,
        block_hash=swept.block_hash,
        reference=swept.deposit,
        session_reference="",
        payer=swept.deposit,
        token=None if swept.token == NATIVE_TOKEN else swept.token,
        amount=swept.to_payout + swept.to_fee,
        recipient=swept.deposit,
        fee=swept.to_fee,
    )
