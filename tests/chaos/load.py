"""The chaos test's load generator: shoppers that create sessions with Idempotency-Keys
through the balancer (retrying until acknowledged) and pay a share of them on anvil, through
the contract and through deposit addresses; and the fault injector."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chain import DEVNET, DevChain

# Statuses a client retries with the same Idempotency-Key: the request may not have run
# (connection cut, process killed, database restarting) or its twin is still in flight (409).
RETRYABLE = {409, 429, 500, 502, 503, 504}
ACK_DEADLINE_SECONDS = 60.0
TOP_UP = 1_000_000  # 1 USDC short, then topped up


@dataclass
class ChainPayment:
    """Money the generator sent for one payment: what the ledger must find credited once."""

    kind: str  # "contract", "deposit_exact" or "deposit_topup"
    session_id: str
    payment_id: str
    currency: str
    amount_base_units: int
    tx_hashes: list[str] = field(default_factory=list)
    sent_base_units: int = 0


@dataclass
class LoadRecord:
    acknowledged: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> session id
    attempts: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> requests sent
    retries: int = 0
    replays_checked: int = 0
    replay_mismatches: list[str] = field(default_factory=list)
    payments: list[ChainPayment] = field(default_factory=list)
    payment_acks: dict[str, str] = field(default_factory=dict)  # key -> payment id


class AckTimeout(AssertionError):
    pass


class LoadGenerator:
    def __init__(
        self, base_url: str, api_key: str, chain: DevChain, payer_keys: list[str], seed: int
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.chain = chain
        self.payer_keys = payer_keys
        self.rng = random.Random(seed)
        self.record = LoadRecord()
        self._stop = asyncio.Event()
        # One connection per request: round robin spreads them, and a killed backend costs
        # the requests in flight on it, not a pooled connection's future ones.
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(15.0, connect=3.0),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def stop(self) -> None:
        self._stop.set()

    async def post_until_acknowledged(self, path: str, body: dict[str, Any], key: str) -> Any:
        """POST with `key` until Kassa answers 200; other 4xx are a failure of the test."""
        deadline = time.monotonic() + ACK_DEADLINE_SECONDS
        last = ""
        while True:
            self.record.attempts[key] = self.record.attempts.get(key, 0) + 1
            try:
                answer = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError as error:
                last = f"{type(error).__name__}: {error}"
            else:
                if answer.status_code == 200:
                    return answer.json()
                if answer.status_code not in RETRYABLE:
                    raise AssertionError(
                        f"POST {path} (key {key}) answered {answer.status_code}: {answer.text}"
                    )
                last = f"HTTP {answer.status_code}: {answer.text[:200]}"
            self.record.retries += 1
            if time.monotonic() > deadline:
                raise AckTimeout(
                    f"POST {path} with Idempotency-Key {key} was not acknowledged within "
                    f"{ACK_DEADLINE_SECONDS:g} s; last answer: {last}"
                )
            await asyncio.sleep(0.2)

    async def create_session(self, key: str) -> str:
        body = {
            "amount_fiat": "25.00",
            "fiat_currency": "USD",
            "allowed_crypto_currencies": ["ETH", "USDC"],
            "allowed_networks": [DEVNET],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
            "metadata": {"idempotency_key": key},
        }
        session = await self.post_until_acknowledged("/v1/checkout/sessions", body, key)
        session_id = str(session["id"])
        self.record.acknowledged[key] = session_id
        if self.rng.random() < 0.15:
            # A client that never saw its answer sends the same request again: same session.
            again = await self.post_until_acknowledged("/v1/checkout/sessions", body, key)
            self.record.replays_checked += 1
            if again["id"] != session_id:
                self.record.replay_mismatches.append(f"{key}: {session_id} then {again['id']}")
        return session_id

    async def pay(self, session_id: str, kind: str, payer_key: str) -> None:
        currency = "ETH" if kind == "contract" else self.rng.choice(["ETH", "USDC"])
        if kind == "deposit_topup":
            currency = "USDC"
        key = f"pay-{session_id}"
        answer = await self.post_until_acknowledged(
            f"/v1/checkout/sessions/{session_id}/payments",
            {"network": DEVNET, "crypto_currency": currency},
            key,
        )
        payment = answer["payment"]
        self.record.payment_acks[key] = payment["id"]
        amount = int(payment["amount_base_units"])
        paid = ChainPayment(kind, session_id, payment["id"], currency, amount)
        self.record.payments.append(paid)
        token = None if currency == "ETH" else self.chain.token_address(currency.lower())
        if kind == "contract":
            paid.tx_hashes.append(await self.chain.pay(payment, payer_key))
            paid.sent_base_units = amount
            return
        deposit = payment["deposit_address"]
        assert deposit, payment
        first = amount if kind == "deposit_exact" else amount - TOP_UP
        paid.tx_hashes.append(await self.chain.transfer(deposit, first, token, payer_key))
        paid.sent_base_units += first
        if kind == "deposit_topup":
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))
            paid.tx_hashes.append(await self.chain.transfer(deposit, TOP_UP, token, payer_key))
            paid.sent_base_units += TOP_UP

    async def shopper(self, number: int, pay_share: float) -> None:
        payer_key = self.payer_keys[number % len(self.payer_keys)]
        while not self._stop.is_set():
            key = f"chaos-{number}-{secrets.token_hex(6)}"
            session_id = await self.create_session(key)
            if self.rng.random() < pay_share:
                kind = self.rng.choice(["contract", "deposit_exact", "deposit_topup"])
                await self.pay(session_id, kind, payer_key)
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))

    async def run(self, shoppers: int, pay_share: float) -> None:
        await asyncio.gather(*(self.shopper(n, pay_share) for n in range(shoppers)))


@dataclass
class Fault:
    kind: str
    target: str
    at: float
    seconds: float


class FaultInjector:
    """Runs a schedule of faults; `faults` records what was done and when."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faults: list[Fault] = []

    async def run(self, schedule: list[tuple[float, str, Callable[[], Awaitable[str]]]]) -> None:
        """`schedule`: (seconds after start, kind, action returning its target's name)."""
        started = time.monotonic()
        for offset, kind, action in schedule:
            await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
            began = time.monotonic()
            target = await action()
            self.faults.append(Fault(kind, target, began - started, time.monotonic() - began))
