"""Where a merchant is paid: one payout address per network (`Merchant.payout_addresses`).

Changing one moves money, so it is one transaction with its event
(`merchant.payout_address.updated`, delivered to the merchant's webhooks as a tripwire) and
its audit entry; the dashboard asks for the owner's password before calling it, and a future
API can call the same function. Payments prepared before a change keep paying the address
they were signed for (it is stored on the payment).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from app.audit import audit
from app.models import Merchant
from app.networks import Network
from app.states import EventType, append_event


class PayoutRefused(Exception):
    """An address the network's plugin does not accept; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class PayoutChange:
    network: str
    address: str | None  # None: removed
    previous_address: str | None
    event_id: str


def normalized_address(network: Network, address: str) -> str:
    """The address as the network spells it (checksummed, say), or `PayoutRefused`."""
    try:
        return network.normalize_address(address.strip())
    except ValueError as error:
        raise PayoutRefused(f"Not a valid {network.key} address: {error}") from None


async def set_payout_address(
    merchant_id: str,
    network: Network,
    address: str | None,
    *,
    actor: str,
    ip: str | None = None,
) -> PayoutChange | None:
    """Set (or, with None or "", remove) the merchant's payout address on `network`.

    None when nothing changed (the same address again): no event, no audit entry. The event
    is in the network's mode (a testnet's in test mode), so test webhooks hear of testnets."""
    wanted = normalized_address(network, address) if address and address.strip() else None
    async with in_transaction() as connection:
        # Locked, so two changes at once cannot both read the old map and lose one of them.
        merchant = (
            await Merchant.filter(id=merchant_id).using_db(connection).select_for_update().get()
        )
        previous = merchant.payout_addresses.get(network.key)
        if previous == wanted:
            return None
        addresses = dict(merchant.payout_addresses)
        if wanted is None:
            addresses.pop(network.key, None)
        else:
            addresses[network.key] = wanted
        await (
            Merchant.filter(id=merchant_id).using_db(connection).update(payout_addresses=addresses)
        )
        payout = {
            "object": "payout_address",
            "network": network.key,
            "address": wanted,
            "previous_address": previous,
        }
        event = await append_event(
            merchant_id=merchant_id,
            livemode=not network.testnet,
            event_type=EventType.MERCHANT_PAYOUT_ADDRESS_UPDATED,
            object_id=merchant_id,
            data={"object": payout},
            connection=connection,
        )
        await audit(
            merchant_id,
            actor,
            "merchant.payout_address.updated",
            object_id=merchant_id,
            details={
                "network": network.key,
                "address": wanted,
                "previous_address": previous,
                "event": event.id,
            },
            ip=ip,
            connection=connection,
        )
    return PayoutChange(network.key, wanted, previous, event.id)
