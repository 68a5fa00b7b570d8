"""The ledger checker has teeth: a clean ledger passes, and each kind of breakage the chaos
test guards against - fed in by hand here - is reported."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.chaos.ledger import Ledger, Life, PaidOnChain, ReceiverLog, check_ledger


def event(order: int, event_id: str, type_: str, object_id: str, status: str) -> dict[str, Any]:
    kind = "payment" if type_.startswith("payment.") else "checkout_session"
    return {
        "id": event_id,
        "type": type_,
        "object_id": object_id,
        "object": kind,
        "status": status,
        "order": order,
    }


def body(event_id: str, type_: str) -> bytes:
    return json.dumps({"id": event_id, "type": type_}).encode()


def clean_ledger() -> Ledger:
    """One paid session, one unpaid; two endpoints got everything; one serve and one
    worker were killed and came back."""
    events = [
        event(0, "evt_1", "payment.created", "pay_1", "pending"),
        event(1, "evt_2", "payment.pending", "pay_1", "pending"),
        event(2, "evt_3", "payment.confirmed", "pay_1", "confirmed"),
        event(3, "evt_4", "checkout.session.completed", "cs_1", "completed"),
    ]
    accepted = {e["id"]: [body(e["id"], e["type"])] for e in events}
    return Ledger(
        acknowledged={"key-1": "cs_1", "key-2": "cs_2"},
        replay_mismatches=[],
        sessions={
            "cs_1": {"status": "completed", "payment_id": "pay_1", "idempotency_key": "key-1"},
            "cs_2": {"status": "open", "payment_id": None, "idempotency_key": "key-2"},
        },
        payments={
            "pay_1": {
                "session_id": "cs_1",
                "status": "confirmed",
                "amount_received": 500,
                "amount_base_units": 500,
            }
        },
        events=events,
        deliveries=[
            {"event_id": e["id"], "endpoint_id": endpoint, "status": "succeeded", "attempts": 1}
            for e in events
            for endpoint in ("we_a", "we_b")
        ],
        receivers=[
            ReceiverLog("we_a", copy.deepcopy(accepted), {e["id"]: 1 for e in events}),
            ReceiverLog("we_b", copy.deepcopy(accepted), {e["id"]: 1 for e in events}),
        ],
        paid=[PaidOnChain("deposit_exact", "cs_1", "pay_1", 500, ["0xaa"], True)],
        lives=[
            Life("start", "serve-0", 10, 0.0),
            Life("start", "worker-0", 11, 0.0),
            Life("kill", "serve-0", 10, 5.0),
            Life("restart", "serve-0", 20, 6.0),
            Life("kill", "worker-0", 11, 7.0),
            Life("restart", "worker-0", 21, 8.0),
        ],
        serve_answered_at={"serve-0": [1.0, 9.0]},
        worker_pids_seen={11, 21},
    )


def test_a_clean_ledger_has_no_violations() -> None:
    assert check_ledger(clean_ledger()) == []


def double_credit(ledger: Ledger) -> None:
    ledger.events.append(event(4, "evt_5", "payment.confirmed", "pay_1", "confirmed"))
    for receiver in ledger.receivers:
        receiver.accepted["evt_5"] = [body("evt_5", "payment.confirmed")]
        receiver.requests["evt_5"] = 1
    ledger.deliveries += [
        {"event_id": "evt_5", "endpoint_id": e, "status": "succeeded", "attempts": 1}
        for e in ("we_a", "we_b")
    ]


def missing_delivery(ledger: Ledger) -> None:
    del ledger.receivers[1].accepted["evt_3"]


def forbidden_transition(ledger: Ledger) -> None:
    # A completed session expires afterwards: terminal states have no way out.
    ledger.events.append(event(4, "evt_6", "checkout.session.expired", "cs_1", "expired"))
    ledger.sessions["cs_1"]["status"] = "expired"
    for receiver in ledger.receivers:
        receiver.accepted["evt_6"] = [body("evt_6", "checkout.session.expired")]
        receiver.requests["evt_6"] = 1
    ledger.deliveries += [
        {"event_id": "evt_6", "endpoint_id": e, "status": "succeeded", "attempts": 1}
        for e in ("we_a", "we_b")
    ]


def duplicate_session(ledger: Ledger) -> None:
    # A retried create whose first attempt had committed, run again: a second session.
    ledger.sessions["cs_3"] = {"status": "open", "payment_id": None, "idempotency_key": "key-2"}


def lost_create(ledger: Ledger) -> None:
    del ledger.sessions["cs_2"]


def confirmed_without_money(ledger: Ledger) -> None:
    ledger.paid.clear()


def short_credit(ledger: Ledger) -> None:
    ledger.payments["pay_1"]["amount_received"] = 400


def different_bodies(ledger: Ledger) -> None:
    ledger.receivers[0].accepted["evt_2"].append(body("evt_2", "payment.expired"))


def sent_without_claim(ledger: Ledger) -> None:
    ledger.receivers[0].requests["evt_1"] = 3


def bad_signature(ledger: Ledger) -> None:
    ledger.receivers[0].bad_signatures.append("evt_1: No matching signature found")


def never_restarted(ledger: Ledger) -> None:
    ledger.lives = [life for life in ledger.lives if life.kind != "restart"]


def restarted_but_idle(ledger: Ledger) -> None:
    ledger.serve_answered_at["serve-0"] = [1.0]
    ledger.worker_pids_seen = {11}


def status_without_event(ledger: Ledger) -> None:
    ledger.sessions["cs_2"]["status"] = "canceled"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (double_credit, "payment.confirmed events"),
        (missing_delivery, "never reached we_b"),
        (forbidden_transition, "completed -> expired"),
        (duplicate_session, "never acknowledged"),
        (lost_create, "not stored"),
        (confirmed_without_money, "confirmed without money on chain"),
        (short_credit, "was credited 400"),
        (different_bodies, "different bodies"),
        (sent_without_claim, "sent without a claim"),
        (bad_signature, "bad signature"),
        (never_restarted, "never restarted"),
        (restarted_but_idle, "after its restart"),
        (status_without_event, "without any event"),
    ],
)
def test_each_breakage_is_reported(breakage: Any, expected: str) -> None:
    ledger = clean_ledger()
    breakage(ledger)
    violations = check_ledger(ledger)
    assert any(expected in violation for violation in violations), violations
