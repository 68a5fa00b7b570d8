"""`/v1/networks`: what the caller's mode can pay on, and each watcher's state."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response

from app.api.auth import authenticate
from app.api.bodies import query_params, validate
from app.api.errors import json_response
from app.api.schemas import EmptyParams
from app.doctor import HALTED_FOR_API, HealthCache, as_json
from app.models import ChainCursor
from app.networks import current_registry
from app.objects import iso_time
from app.watcher import recent_warnings

blueprint = Blueprint("networks", __name__)
# The checks `kassa doctor` runs per network, computed within a few seconds and kept for
# half a minute, so listing networks does not wait on a slow node every time.
health = HealthCache()


@blueprint.get("/networks")
async def list_networks() -> Response:
    caller = await authenticate()
    validate(EmptyParams, query_params())
    registry = current_registry()
    networks = registry.networks_for_mode(caller.livemode)
    cursors = {
        c.network: c for c in await ChainCursor.filter(network__in=[n.key for n in networks])
    }
    checks = await asyncio.gather(*(health.checks(n, registry) for n in networks))
    data: list[dict[str, Any]] = []
    for network, network_checks in zip(networks, checks, strict=True):
        cursor = cursors.get(network.key)
        halted = cursor is not None and cursor.halted
        data.append(
            {
                "id": network.key,
                "object": "network",
                "name": network.name,
                "chain": network.chain_ref,
                "testnet": network.testnet,
                # What the network's plugin shows of itself (EVM: chain_id, contract_address).
                **network.public_facts(),
                "explorer_url": network.explorer_url or None,
                "crypto_currencies": sorted(t.symbol for t in registry.tokens_of(network.key)),
                "watcher": {
                    "status": "halted"
                    if halted
                    else ("running" if cursor is not None else "starting"),
                    "halt_reason": HALTED_FOR_API if halted else None,
                    "block_number": cursor.block_number if cursor is not None else None,
                },
                "warnings": [
                    {
                        "message": w["message"],
                        "tx_id": w["tx_id"],
                        "block_number": w["block_number"],
                        # Stored as Unix seconds; shown like every other time in the API.
                        "seen_at": iso_time(int(w["seen_at"])),
                    }
                    for w in recent_warnings(cursor)
                ],
                "health": as_json(network_checks),
            }
        )
    return json_response({"object": "list", "url": "/v1/networks", "has_more": False, "data": data})
