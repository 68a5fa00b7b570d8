"""What a network reported, stored once: `ChainObservation` rows, idempotent per
(network, tx, position, block) so a rescan, a hint and a poll can all report the same one."""

from __future__ import annotations

from app.models import ChainObservation
from app.networks import Observation


async def store(
    network_key: str, entry: Observation, payment_id: str | None, mismatch: str
) -> tuple[ChainObservation, bool]:
    """The observation's row (created or found) and whether this call created it; a row on a
    fork that became canonical again is marked canonical."""
    observation, created = await ChainObservation.get_or_create(
        network=network_key,
        tx_hash=entry.tx_id,
        log_index=entry.position,
        block_hash=entry.block_hash,
        defaults={
            "kind": entry.kind.value,
            "block_number": entry.block_number,
            "session_ref": entry.session_reference,
            "payment_ref": entry.reference,
            "payment_id": payment_id,
            "payer": entry.payer,
            "token": entry.token or "",  # "" for the native coin
            "amount": entry.amount,
            "recipient": entry.recipient,
            "fee": entry.fee,
            "canonical": True,
            "mismatch": mismatch,
        },
    )
    if not created and not observation.canonical:
        observation.canonical = True
        await observation.save(update_fields=["canonical"])
    return observation, created
