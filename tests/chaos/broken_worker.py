"""`kassa worker` with a real defect, for the chaos test's broken variant
(KASSA_CHAOS_BROKEN=1): delivery without the claim. Due deliveries are read and sent without
leasing them (no lease token, no attempt counted), so two workers - or one worker's next
pass - send the same row again, and no result is ever recorded against a lease. The ledger
checker must notice.

Run as `python -m tests.chaos.broken_worker worker`.
"""

from __future__ import annotations

import sys

from app.cli import main
from app.models import Event, WebhookEndpoint
from app.webhooks import worker as delivery


async def claim_without_lease(self: delivery.DeliveryWorker, limit: int) -> list[delivery._Claimed]:
    rows = await delivery.due_deliveries(self.clock.now()).order_by("next_attempt_at").limit(limit)
    claimed = []
    for row in rows:
        event = await Event.get_or_none(id=row.event_id)  # type: ignore[attr-defined]
        endpoint = await WebhookEndpoint.get_or_none(id=row.endpoint_id)  # type: ignore[attr-defined]
        if event is not None and endpoint is not None:
            claimed.append(delivery._Claimed(row, event, endpoint))
    return claimed


delivery.DeliveryWorker.claim = claim_without_lease  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
