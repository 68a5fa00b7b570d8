"""The EVM network adapter: JSON-RPC with failover, blocks, contract logs, intent signing.

Shared by every EVM network plugin (Ethereum, Polygon, a devnet). Stateless over block
ranges: the core watcher owns cursors, reorgs and retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import BlockNotFound, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from app.contract import (
    NATIVE_TOKEN,
    PAYMENT_RECEIVED_TOPIC,
    PaymentIntent,
    PaymentReceived,
    decode_payment_received,
    encode_pay_call,
    sign_intent,
)
from app.networks import Block, FinalityPolicy, LogRangeTooLarge, RpcError, Token

log = logging.getLogger("kassa.evm")

T = TypeVar("T")

# Phrases providers use when an eth_getLogs range or result set is too big.
_RANGE_ERROR_HINTS = (
    "range",
    "too large",
    "too many",
    "exceed",
    "limit",
    "more than",
    "response size",
)


def is_range_error(error: BaseException) -> bool:
    message = str(error).lower()
    if isinstance(error, Web3RPCError):
        rpc: Any = error.rpc_response or {}
        code = (rpc.get("error") or {}).get("code") if isinstance(rpc, dict) else None
        if code == -32005:  # "limit exceeded", the usual code for oversized getLogs
            return True
    return isinstance(error, Web3RPCError) and any(hint in message for hint in _RANGE_ERROR_HINTS)


@dataclass(frozen=True)
class ChainSpec:
    """The fixed facts of an EVM network a plugin ships."""

    key: str
    chain_id: int
    name: str
    testnet: bool
    native_symbol: str
    native_name: str
    confirmations: int
    explorer_url: str
    max_log_range: int = 2_000
    poll_interval: float = 4.0
    poa: bool = False


class RpcPool:
    """Several JSON-RPC URLs: sticky on the current one, failing over with backoff.

    URLs may carry API keys, so they never reach a log: nodes are named by position.
    `generation` grows on every failover, so a caller can tell when two answers may come
    from different nodes.
    """

    def __init__(
        self,
        network_key: str,
        urls: Sequence[str],
        timeout: float,
        poa: bool = False,
        max_backoff: float = 2.0,
        attempts_per_url: int = 2,
        failback_after: float = 30.0,
    ) -> None:
        if not urls:
            raise ValueError("at least one RPC URL is required")
        self.network_key = network_key
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.attempts = max(1, attempts_per_url) * len(urls)
        self.generation = 0
        self._index = 0
        self.failback_after = failback_after
        self._failed_over_at = 0.0
        self.clients: list[AsyncWeb3[Any]] = []
        for url in urls:
            provider = AsyncHTTPProvider(
                url,
                request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout)},
                exception_retry_configuration=None,  # failover is ours, across URLs
            )
            w3 = AsyncWeb3(provider)
            if poa:
                # PoA chains put more than 32 bytes in extraData; web3 refuses such blocks
                # unless this middleware (outermost, layer 0) moves the field aside.
                w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
            self.clients.append(w3)

    @property
    def current(self) -> AsyncWeb3[Any]:
        return self.clients[self._index]

    def _maybe_fail_back(self) -> None:
        # A backup node may lag or cost more: go back to the first URL after a while.
        if self._index != 0 and time.monotonic() - self._failed_over_at >= self.failback_after:
            self._index = 0
            self.generation += 1

    async def call(self, what: str, request: Callable[[AsyncWeb3[Any]], Awaitable[T]]) -> T:
        self._maybe_fail_back()
        delay = 0.05
        last: BaseException | None = None
        for _ in range(self.attempts):
            index = self._index
            try:
                return await asyncio.wait_for(request(self.clients[index]), self.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_range_error(error):
                    raise LogRangeTooLarge(f"{what}: {error}") from None
                if isinstance(error, BlockNotFound):
                    raise
                last = error
                log.warning(
                    "%s: RPC node #%d failed on %s (%s); failing over",
                    self.network_key,
                    index,
                    what,
                    type(error).__name__,
                )
                if self._index == index:
                    self._index = (index + 1) % len(self.clients)
                    self.generation += 1
                    self._failed_over_at = time.monotonic()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise RpcError(
            f"{self.network_key}: every RPC node failed on {what} "
            f"(last: {type(last).__name__ if last else 'none'})"
        )

    async def close(self) -> None:
        for w3 in self.clients:
            try:
                await w3.provider.disconnect()
            except Exception:  # closing is best effort
                pass


def _hex(value: Any) -> str:
    return HexBytes(value).to_0x_hex()


def _block(data: Any) -> Block:
    return Block(
        number=int(data["number"]),
        hash=_hex(data["hash"]),
        parent_hash=_hex(data["parentHash"]),
        timestamp=int(data["timestamp"]),
    )


class EvmNetwork:
    """One EVM chain with a deployed KassaCheckout (satisfies `app.networks.Network`)."""

    def __init__(
        self,
        spec: ChainSpec,
        rpc_urls: Sequence[str],
        contract_address: str,
        signer_key: str,
        finality: FinalityPolicy,
        *,
        poll_interval: float | None = None,
        max_log_range: int | None = None,
        rpc_timeout: float = 10.0,
        rpc_failback: float = 30.0,
        fee_basis_points: int = 0,
        start_block: int | None = None,
    ) -> None:
        self.spec = spec
        self.key = spec.key
        self.chain_id = spec.chain_id
        self.name = spec.name
        self.testnet = spec.testnet
        self.native_currency = Token(
            network=spec.key, symbol=spec.native_symbol, decimals=18, name=spec.native_name
        )
        self.contract_address: str = to_checksum_address(contract_address)
        self.finality = finality
        self.max_log_range = max_log_range or spec.max_log_range
        self.poll_interval = poll_interval if poll_interval is not None else spec.poll_interval
        self.explorer_url = spec.explorer_url
        self.fee_basis_points = fee_basis_points
        self.start_block = start_block
        self._signer_key = signer_key
        self.rpc = RpcPool(
            spec.key, rpc_urls, rpc_timeout, poa=spec.poa, failback_after=rpc_failback
        )

    def __repr__(self) -> str:  # never show the key or the URLs
        return f"EvmNetwork({self.key!r}, chain_id={self.chain_id})"

    def rpc_generation(self) -> int:
        return self.rpc.generation

    async def head(self) -> Block:
        return _block(await self.rpc.call("head", lambda w3: w3.eth.get_block("latest")))

    async def finalized_head(self) -> Block | None:
        try:
            data = await self.rpc.call("finalized", lambda w3: w3.eth.get_block("finalized"))
        except BlockNotFound:
            return None
        return _block(data)

    async def block(self, number: int) -> Block | None:
        try:
            data = await self.rpc.call(f"block {number}", lambda w3: w3.eth.get_block(number))
        except BlockNotFound:
            return None
        return None if data is None else _block(data)

    async def get_logs(self, from_block: int, to_block: int) -> list[PaymentReceived]:
        """Contract logs in the range, split in halves while the provider says it's too big."""
        if from_block > to_block:
            return []
        params: dict[str, Any] = {
            "address": self.contract_address,
            "topics": [PAYMENT_RECEIVED_TOPIC],
            "fromBlock": from_block,
            "toBlock": to_block,
        }
        try:
            raw = await self.rpc.call(
                f"logs {from_block}-{to_block}",
                lambda w3: w3.eth.get_logs(params),  # type: ignore[arg-type]
            )
        except LogRangeTooLarge:
            if from_block == to_block:
                raise
            # Remember the smaller size, so later scans don't hit the limit again.
            self.max_log_range = max(1, min(self.max_log_range, (to_block - from_block + 1) // 2))
            middle = (from_block + to_block) // 2
            return await self.get_logs(from_block, middle) + await self.get_logs(
                middle + 1, to_block
            )
        logs = []
        for entry in raw:
            if entry.get("removed"):
                continue
            try:
                logs.append(decode_payment_received(entry))
            except ValueError:
                continue  # another event of the contract
        return logs

    def normalize_address(self, address: str) -> str:
        if not isinstance(address, str) or not is_address(address):
            raise ValueError(f"{address!r} is not an address on {self.name}")
        checksum = to_checksum_address(address)
        if checksum == NATIVE_TOKEN:
            raise ValueError("the zero address cannot receive payments")
        return checksum

    def sign_intent(self, intent: PaymentIntent) -> bytes:
        return sign_intent(intent, self.chain_id, self.contract_address, self._signer_key)

    def explorer_tx_url(self, tx_hash: str) -> str:
        return f"{self.explorer_url}/tx/{tx_hash}" if self.explorer_url else ""

    async def close(self) -> None:
        await self.rpc.close()


def finality_from_settings(spec: ChainSpec, mode: str | None) -> FinalityPolicy:
    """The network default depth, plus the `finalized` tag when the operator asks for it.

    An operator's confirmation count goes through the `min_confirmations` hook (tryfirst).
    """
    return FinalityPolicy(
        spec.confirmations,
        require_finalized_tag=mode in ("finalized", "both"),
        finalized_tag_only=mode == "finalized",
    )


def networks_from_settings(specs: Sequence[ChainSpec], settings: Any) -> list[EvmNetwork]:
    """An `EvmNetwork` for every spec the operator enabled (`settings.networks[key]`)."""
    from app.networks import PluginError

    networks = []
    for spec in specs:
        config = settings.networks.get(spec.key)
        if config is None:
            continue
        signer = config.signer_secret()
        if not signer:
            raise PluginError(f"network {spec.key!r} needs signer_key or signer_key_file")
        try:
            contract = to_checksum_address(config.contract_address)
        except ValueError:
            raise PluginError(f"network {spec.key!r}: contract_address is not an address") from None
        networks.append(
            EvmNetwork(
                spec,
                [url.get_secret_value() for url in config.rpc_urls],
                contract,
                signer,
                finality_from_settings(spec, config.finality),
                poll_interval=config.poll_interval_seconds,
                max_log_range=config.max_log_range,
                rpc_timeout=config.rpc_timeout_seconds,
                rpc_failback=config.rpc_failback_seconds,
                fee_basis_points=config.fee_basis_points,
                start_block=config.start_block,
            )
        )
    return networks


def eip681_uri(network: EvmNetwork, token: Token, amount: int, tx_value: int) -> str:
    """A payment-request URI (EIP-681): the coin to the contract, or the token approval."""
    if token.address is None:
        return f"ethereum:{network.contract_address}@{network.chain_id}?value={tx_value}"
    return (
        f"ethereum:{token.address}@{network.chain_id}/approve"
        f"?address={network.contract_address}&uint256={amount}"
    )


def _owns(network: Any, specs: Sequence[ChainSpec]) -> bool:
    return isinstance(network, EvmNetwork) and network.spec in specs


def default_confirmations(network: Any, specs: Sequence[ChainSpec]) -> int | None:
    """`min_confirmations` default for the plugin that shipped `specs`."""
    return network.finality.confirmations if _owns(network, specs) else None


def evm_payment_request(
    payment: Any, network: Any, token: Token, specs: Sequence[ChainSpec]
) -> dict[str, Any] | None:
    """`build_payment_request` for EVM networks: the `pay(intent, signature)` call."""
    if not _owns(network, specs):
        return None
    intent = PaymentIntent(
        session_ref=int(payment.session_nonce).to_bytes(32, "big"),
        payment_ref=bytes(HexBytes(payment.payment_ref)),
        token=token.address or NATIVE_TOKEN,
        amount=payment.amount_base_units,
        recipient=payment.recipient,
        fee=payment.fee_base_units,
        deadline=payment.deadline,
    )
    tx = encode_pay_call(
        intent, bytes(HexBytes(payment.intent_signature)), network.contract_address
    )
    total = intent.amount + intent.fee
    return {
        "to": tx["to"],
        "data": tx["data"],
        "value": tx["value"],
        "eip681_uri": eip681_uri(network, token, total, tx["value"]),
        "approve": None
        if token.address is None
        else {"token": token.address, "spender": network.contract_address, "amount": str(total)},
    }
