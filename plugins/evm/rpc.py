"""JSON-RPC to EVM nodes: several URLs per network with failover, timeouts and backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from app.networks import RpcError, ScanRangeTooLarge

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
                    raise ScanRangeTooLarge(f"{what}: {error}") from None
                # Answers, not failures: another node would say the same.
                if isinstance(error, BlockNotFound | TransactionNotFound | ContractLogicError):
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
