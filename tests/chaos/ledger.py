"""The ledger checker: what the database, the chain and the webhook receivers hold after a
chaos run, and `check_ledger()`, which returns every violation of the promises Kassa makes
(an empty list: the run kept them all).

The ledger is plain data, so the checker can also be fed hand-made broken ledgers
(tests/chaos/test_ledger.py) to prove it notices each kind of breakage.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app.models import CheckoutSession, Payment
from app.states import can_transition

INITIAL_STATUS = {"checkout_session": "open", "payment": "pending"}
MODEL = {"checkout_session": CheckoutSession, "payment": Payment}
# Event types that promise a status of their object.
STATUS_OF_EVENT = {
    "checkout.session.completed": "completed",
    "checkout.session.expired": "expired",
    "checkout.session.canceled": "canceled",
    "payment.confirmed": "confirmed",
    "payment.expired": "expired",
}


@dataclass
class PaidOnChain:
    kind: str
    session_id: str
    payment_id: str
    sent_base_units: int
    tx_hashes: list[str]
    receipts_ok: bool  # every transaction of it succeeded on chain


@dataclass
class ReceiverLog:
    endpoint_id: str
    accepted: dict[str, list[bytes]]  # webhook-id -> bodies accepted with 2xx
    requests: dict[str, int]  # webhook-id -> requests received (any answer)
    bad_signatures: list[str] = field(default_factory=list)


@dataclass
class Life:
    kind: str  # start, kill, restart
    name: str
    pid: int
    at: float


@dataclass
class Ledger:
    acknowledged: dict[str, str]  # Idempotency-Key -> session id the client was given
    replay_mismatches: list[str]
    sessions: dict[str, dict[str, Any]]  # id -> {status, payment_id, idempotency_key}
    payments: dict[str, dict[str, Any]]  # id -> {session_id, status, amount_received, ...}
    events: list[dict[str, Any]]  # {id, type, object_id, object, status, order}
    deliveries: list[dict[str, Any]]  # {event_id, endpoint_id, status, attempts}
    receivers: list[ReceiverLog]
    paid: list[PaidOnChain]
    lives: list[Life]
    serve_answered_at: dict[str, list[float]]  # serve slot -> times it answered a client
    worker_pids_seen: set[int]  # pids seen in the webhook worker's heartbeat

    def summary(self) -> str:
        kills = sum(1 for life in self.lives if life.kind == "kill")
        restarts = sum(1 for life in self.lives if life.kind == "restart")
        accepted = sum(len(bodies) for r in self.receivers for bodies in r.accepted.values())
        return (
            f"sessions={len(self.sessions)} acknowledged={len(self.acknowledged)} "
            f"payments={len(self.payments)} paid_on_chain={len(self.paid)} "
            f"confirmed={sum(1 for p in self.payments.values() if p['status'] == 'confirmed')} "
            f"events={len(self.events)} deliveries={len(self.deliveries)} "
            f"receiver_2xx={accepted} kills={kills} restarts={restarts}"
        )


def check_ledger(ledger: Ledger) -> list[str]:
    return [
        *check_creates(ledger),
        *check_credits(ledger),
        *check_deliveries(ledger),
        *check_transitions(ledger),
        *check_restarts(ledger),
    ]


def check_creates(ledger: Ledger) -> list[str]:
    """1. Every acknowledged create exists exactly once; no session without a key."""
    problems = [
        f"create: idempotent replay answered another session: {m}" for m in ledger.replay_mismatches
    ]
    by_session: dict[str, list[str]] = defaultdict(list)
    for key, session_id in ledger.acknowledged.items():
        by_session[session_id].append(key)
        if session_id not in ledger.sessions:
            problems.append(f"create: key {key} was acknowledged with {session_id}, not stored")
    for session_id, keys in by_session.items():
        if len(keys) > 1:
            problems.append(f"create: session {session_id} was answered to keys {sorted(keys)}")
    for session_id, row in ledger.sessions.items():
        if session_id not in by_session:
            problems.append(
                f"create: session {session_id} (key {row.get('idempotency_key')}) was never "
                "acknowledged to any key: a retried create made a second session"
            )
    return problems


def check_credits(ledger: Ledger) -> list[str]:
    """2. Every on-chain payment credited once, to the right payment and session; nothing
    confirmed without money on chain."""
    problems = []
    confirmations = Counter(
        e["object_id"] for e in ledger.events if e["type"] == "payment.confirmed"
    )
    completions = Counter(
        e["object_id"] for e in ledger.events if e["type"] == "checkout.session.completed"
    )
    paid_ids = {p.payment_id for p in ledger.paid}
    for paid in ledger.paid:
        row = ledger.payments.get(paid.payment_id)
        if not paid.receipts_ok:
            problems.append(f"credit: a transaction of {paid.payment_id} failed on chain")
            continue
        if row is None:
            problems.append(f"credit: paid payment {paid.payment_id} is not stored")
            continue
        if row["session_id"] != paid.session_id:
            problems.append(
                f"credit: payment {paid.payment_id} belongs to {row['session_id']}, "
                f"was paid for {paid.session_id}"
            )
        if row["status"] != "confirmed":
            problems.append(f"credit: paid payment {paid.payment_id} is {row['status']}")
        # The contract takes exactly the intent's amount; a deposit address counts transfers.
        credited = row["amount_base_units"] if paid.kind == "contract" else row["amount_received"]
        if credited != paid.sent_base_units:
            problems.append(
                f"credit: payment {paid.payment_id} was credited {credited} base "
                f"units, {paid.sent_base_units} were sent ({paid.kind})"
            )
        if confirmations[paid.payment_id] != 1:
            problems.append(
                f"credit: payment {paid.payment_id} has {confirmations[paid.payment_id]} "
                "payment.confirmed events"
            )
        session = ledger.sessions.get(paid.session_id)
        if session is None or session["status"] != "completed":
            status = None if session is None else session["status"]
            problems.append(f"credit: session {paid.session_id} of a paid payment is {status}")
        elif session["payment_id"] != paid.payment_id:
            problems.append(
                f"credit: session {paid.session_id} completed by {session['payment_id']}, "
                f"paid by {paid.payment_id}"
            )
    for payment_id, row in ledger.payments.items():
        if row["status"] == "confirmed" and payment_id not in paid_ids:
            problems.append(f"credit: payment {payment_id} is confirmed without money on chain")
    for session_id, count in completions.items():
        if count != 1:
            problems.append(f"credit: session {session_id} completed {count} times")
    for session_id, row in ledger.sessions.items():
        if row["status"] == "completed" and completions[session_id] == 0:
            problems.append(f"credit: session {session_id} is completed without its event")
    return problems


def check_deliveries(ledger: Ledger) -> list[str]:
    """3. Every event reaches every subscribed endpoint at least once; one effect per
    webhook-id (the same id always carries the same body); no request without a claim."""
    problems = []
    events = {e["id"]: e for e in ledger.events}
    attempts = {(d["event_id"], d["endpoint_id"]): d for d in ledger.deliveries}
    for receiver in ledger.receivers:
        problems += [
            f"delivery: bad signature at {receiver.endpoint_id}: {s}"
            for s in receiver.bad_signatures
        ]
        for event_id in events:
            bodies = receiver.accepted.get(event_id, [])
            if not bodies:
                problems.append(f"delivery: event {event_id} never reached {receiver.endpoint_id}")
                continue
            if any(body != bodies[0] for body in bodies):
                problems.append(
                    f"delivery: webhook-id {event_id} carried different bodies to "
                    f"{receiver.endpoint_id}"
                )
            sent = json.loads(bodies[0])
            if sent.get("id") != event_id or sent.get("type") != events[event_id]["type"]:
                problems.append(f"delivery: webhook-id {event_id} carried event {sent.get('id')}")
        for webhook_id, count in receiver.requests.items():
            if webhook_id not in events:
                problems.append(
                    f"delivery: {receiver.endpoint_id} was sent {webhook_id}, no such event"
                )
                continue
            row = attempts.get((webhook_id, receiver.endpoint_id))
            claimed = 0 if row is None else row["attempts"]
            if count > claimed:
                problems.append(
                    f"delivery: {receiver.endpoint_id} got {webhook_id} {count} times, "
                    f"claimed {claimed} times: sent without a claim"
                )
    for delivery in ledger.deliveries:
        if delivery["status"] != "succeeded":
            problems.append(
                f"delivery: {delivery['event_id']} to {delivery['endpoint_id']} is "
                f"{delivery['status']}"
            )
    return problems


def check_transitions(ledger: Ledger) -> list[str]:
    """4. Replay each object's events through its transition table: every change allowed,
    each event's type agrees with the status it shows, the last one is the stored status."""
    problems = []
    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in sorted(ledger.events, key=lambda e: e["order"]):
        by_object[event["object_id"]].append(event)
    stored = {**ledger.sessions, **ledger.payments}
    for object_id, events in by_object.items():
        kind = events[0]["object"]
        status = INITIAL_STATUS[kind]
        for event in events:
            new = event["status"]
            promised = STATUS_OF_EVENT.get(event["type"])
            if promised is not None and new != promised:
                problems.append(f"state: {event['id']} ({event['type']}) shows {object_id} {new}")
            if new != status and not can_transition(MODEL[kind], status, new):
                problems.append(
                    f"state: {object_id} went {status} -> {new} ({event['type']} {event['id']}), "
                    "which its transition table forbids"
                )
            elif new == status and promised is not None:
                problems.append(
                    f"state: {object_id} {event['type']} again while already {status} "
                    f"({event['id']})"
                )
            status = new
        row = stored.get(object_id)
        if row is not None and row["status"] != status:
            problems.append(
                f"state: {object_id} is stored {row['status']}, its events end at {status}"
            )
    for object_id, row in stored.items():
        if object_id not in by_object and row["status"] not in INITIAL_STATUS.values():
            problems.append(f"state: {object_id} is {row['status']} without any event")
    return problems


def check_restarts(ledger: Ledger) -> list[str]:
    """5. Every killed process was restarted and resumed its work afterwards."""
    problems = []
    for index, life in enumerate(ledger.lives):
        if life.kind != "kill":
            continue
        restart = next(
            (
                later
                for later in ledger.lives[index + 1 :]
                if later.name == life.name and later.kind == "restart"
            ),
            None,
        )
        if restart is None:
            problems.append(f"restart: {life.name} (pid {life.pid}) was killed, never restarted")
            continue
        if life.name.startswith("serve"):
            answered = ledger.serve_answered_at.get(life.name, [])
            if not any(at > restart.at for at in answered):
                problems.append(
                    f"restart: {life.name} (pid {restart.pid}) served nothing after its restart"
                )
        elif restart.pid not in ledger.worker_pids_seen and not any(
            later.name == life.name and later.kind == "kill" for later in ledger.lives[index + 1 :]
        ):
            problems.append(
                f"restart: {life.name} (pid {restart.pid}) never beat after its restart"
            )
    return problems


# -- reading the ledger from a finished run


async def read_database(url: str) -> dict[str, Any]:
    """Sessions, payments, events and deliveries as the checker wants them."""
    connection = await asyncpg.connect(url, timeout=10)
    try:
        sessions = {
            r["id"]: {
                "status": r["status"],
                "payment_id": r["payment_id"],
                "idempotency_key": json.loads(r["metadata"]).get("idempotency_key")
                if isinstance(r["metadata"], str)
                else (r["metadata"] or {}).get("idempotency_key"),
            }
            for r in await connection.fetch(
                "SELECT id, status, payment_id, metadata FROM checkout_sessions"
            )
        }
        payments = {
            r["id"]: {
                "session_id": r["session_id"],
                "status": r["status"],
                "amount_received": int(r["amount_received"]),
                "amount_base_units": int(r["amount_base_units"]),
            }
            for r in await connection.fetch(
                "SELECT id, session_id, status, amount_received, amount_base_units FROM payments"
            )
        }
        events = []
        for order, r in enumerate(
            await connection.fetch(
                "SELECT id, type, object_id, data FROM events ORDER BY created_at, id"
            )
        ):
            data = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
            kind = "payment" if r["type"].startswith("payment.") else "checkout_session"
            events.append(
                {
                    "id": r["id"],
                    "type": r["type"],
                    "object_id": r["object_id"],
                    "object": kind,
                    "status": data["object"]["status"],
                    "order": order,
                }
            )
        deliveries = [
            dict(r)
            for r in await connection.fetch(
                "SELECT event_id, endpoint_id, status, attempts FROM webhook_deliveries"
            )
        ]
        return {
            "sessions": sessions,
            "payments": payments,
            "events": events,
            "deliveries": deliveries,
        }
    finally:
        await connection.close()
