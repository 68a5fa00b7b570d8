"""Each enabled network's watcher as an operator sees it, and resuming a halted one.

`kassa networks list`/`resume` and the dashboard's network page call these, so both show the
same facts (the doctor's checks, `app.doctor.network_health`) and a resume is the same write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from app.audit import audit
from app.doctor import HALTED_FOR_API, network_health
from app.models import ChainCursor
from app.networks import Block, HealthCheck, Network, Registry
from app.watcher import recent_warnings


@dataclass(slots=True)
class NetworkStatus:
    key: str
    chain: str
    testnet: bool
    head: int | None  # None: no node answered within the time given
    cursor_block: int | None  # None: no watcher has scanned this network yet
    lag_blocks: int | None
    lag_seconds: int | None  # chain time between the cursor's block and the head
    halted: bool
    halt_reason: str | None
    cursor_updated_at: dt.datetime | None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    checks: list[HealthCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.halted and all(check.ok for check in self.checks)


async def _head(network: Network, seconds: float) -> Block | None:
    try:
        async with asyncio.timeout(seconds):
            return await network.head()
    except Exception:  # a slow or failing node: the checks say which and why
        return None


async def network_status(
    network: Network, registry: Registry, seconds: float, operator: bool = True
) -> NetworkStatus:
    """The watcher's cursor against the head, halts, recent warnings and the doctor's checks.

    A halt's reason and the warnings name payments and transactions, of any merchant: only the
    `operator` reads them; others get `HALTED_FOR_API` and no warnings, as the API does."""
    cursor = await ChainCursor.get_or_none(network=network.key)
    head, checks = await asyncio.gather(
        _head(network, seconds), network_health(network, registry, seconds, operator)
    )
    halted = cursor is not None and cursor.halted
    halt_reason = None
    if cursor is not None and cursor.halted:
        halt_reason = cursor.halt_reason if operator else HALTED_FOR_API
    lag_blocks = lag_seconds = None
    if head is not None and cursor is not None:
        lag_blocks = max(0, head.number - cursor.block_number)
        if cursor.block_timestamp:
            lag_seconds = max(0, head.timestamp - cursor.block_timestamp)
    return NetworkStatus(
        key=network.key,
        chain=network.chain_ref,
        testnet=network.testnet,
        head=head.number if head is not None else None,
        cursor_block=cursor.block_number if cursor is not None else None,
        lag_blocks=lag_blocks,
        lag_seconds=lag_seconds,
        halted=halted,
        halt_reason=halt_reason,
        cursor_updated_at=cursor.updated_at if cursor is not None else None,
        warnings=recent_warnings(cursor) if operator else [],
        checks=checks,
    )


async def network_statuses(
    registry: Registry, seconds: float, operator: bool = True
) -> list[NetworkStatus]:
    """Every enabled network's status, asked of all networks at once."""
    networks = registry.networks.values()
    return list(
        await asyncio.gather(*(network_status(n, registry, seconds, operator) for n in networks))
    )


async def resume_watcher(
    network_key: str,
    *,
    merchant_id: str | None = None,
    actor: str = "cli",
    ip: str | None = None,
) -> bool:
    """Clear a watcher's halt after the operator investigated it; False when it was not halted.

    With `merchant_id` (a dashboard owner) the resume is audited in the same transaction."""
    async with in_transaction() as connection:
        updated = (
            await ChainCursor.filter(network=network_key, halted=True)
            .using_db(connection)
            .update(halted=False, halt_reason=None)
        )
        if updated and merchant_id is not None:
            await audit(
                merchant_id,
                actor,
                "network.resumed",
                object_id=network_key,
                ip=ip,
                connection=connection,
            )
    return bool(updated)
