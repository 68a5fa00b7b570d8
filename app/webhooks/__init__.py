"""Webhooks: the transactional outbox, claiming with leases, signed delivery and retries.

`signing` (Standard Webhooks headers and secrets), `outbox` (deliveries owed in the event's
transaction, redelivery, pruning), `retry` (the schedule), `worker` (DeliveryWorker) and
`listen` (the `kassa listen` client). Delivery is at least once; receivers deduplicate on
`webhook-id`.
"""

from __future__ import annotations

from app.states import add_event_listener
from app.webhooks.outbox import enqueue_deliveries

# Every process that writes events (API, `kassa worker`) imports this package, so every
# event is owed to its endpoints no matter where it was written.
add_event_listener(enqueue_deliveries)
