"""Storage guarantees: uint256 round-trips, and no API secret lands in the database."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess

import pytest
from tortoise import connections

from app.models import UINT256_MAX, CheckoutSession, Merchant, Payment, new_id
from app.states import utcnow
from tests.api.helpers import create_session
from tests.conftest import MerchantKeys


@pytest.mark.parametrize("value", [0, 1, 10**18, 2**64, UINT256_MAX])
async def test_uint256_round_trips(app, merchant: MerchantKeys, value: int) -> None:
    now = utcnow()
    session = await CheckoutSession.create(
        id=new_id("cs_test"),
        merchant=merchant.merchant,
        livemode=False,
        status="open",
        amount_fiat_cents=100,
        fiat_currency="EUR",
        allowed_crypto_currencies=["ETH"],
        allowed_networks=["devnet"],
        checkout_url="http://x/checkout",
        success_url="https://a/b",
        cancel_url="https://a/c",
        expires_at=now,
        created_at=now,
        updated_at=now,
    )
    payment = await Payment.create(
        id=new_id("pay"),
        session=session,
        merchant=merchant.merchant,
        livemode=False,
        status="pending",
        network="devnet",
        crypto_currency="ETH",
        amount_base_units=value,
        decimals=18,
        amount_fiat_cents=100,
        fiat_currency="EUR",
        created_at=now,
        updated_at=now,
    )
    loaded = await Payment.get(id=payment.id)
    assert loaded.amount_base_units == value and isinstance(loaded.amount_base_units, int)
    # The stored form orders like the number (so range queries on amounts are right).
    assert await Payment.filter(id=payment.id, amount_base_units__gte=value).exists()
    if value < UINT256_MAX:
        assert not await Payment.filter(id=payment.id, amount_base_units__gte=value + 1).exists()


@pytest.mark.parametrize("bad", [-1, UINT256_MAX + 1])
async def test_uint256_refuses_out_of_range(app, merchant: MerchantKeys, bad: int) -> None:
    with pytest.raises(ValueError):
        await Payment.create(
            id=new_id("pay"),
            session_id="cs_x",
            merchant=merchant.merchant,
            livemode=False,
            status="pending",
            network="devnet",
            crypto_currency="ETH",
            amount_base_units=bad,
            decimals=18,
            amount_fiat_cents=1,
            fiat_currency="EUR",
            created_at=utcnow(),
            updated_at=utcnow(),
        )


def _dump(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite://")
        with sqlite3.connect(path) as db:
            return "\n".join(db.iterdump())
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to dump PostgreSQL (Debian: postgresql-client)"
    return subprocess.run(
        [pg_dump, "--data-only", database_url.replace("postgres://", "postgresql://", 1)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


async def test_database_dump_holds_no_secret(
    client, merchant: MerchantKeys, database_url: str
) -> None:
    # Use the keys, so every table that could hold one has rows.
    await create_session(client, merchant, metadata={"note": "x"})
    await client.get("/v1/checkout/sessions", headers=merchant.auth())
    await client.post(
        "/v1/checkout/sessions", json={}, headers={**merchant.auth(), "Idempotency-Key": "dump"}
    )
    # A webhook secret is returned once, and replayed under an Idempotency-Key: its stored
    # copies (endpoint row and idempotency record) must both be encrypted.
    hook_headers = {**merchant.auth(), "Idempotency-Key": "hook-1"}
    hook_body = {"url": "https://93.184.215.14/hooks", "enabled_events": ["*"]}
    created = await client.post("/v1/webhook_endpoints", json=hook_body, headers=hook_headers)
    assert created.status_code == 200, await created.get_json()
    secret = (await created.get_json())["secret"]
    replay = await client.post("/v1/webhook_endpoints", json=hook_body, headers=hook_headers)
    assert (await replay.get_json())["secret"] == secret
    if database_url.startswith("sqlite"):
        await connections.get("sqlite").execute_script("PRAGMA wal_checkpoint(FULL);")
    dump = _dump(database_url)
    assert not re.search(r"sk_(test|live)_[A-Za-z0-9]{12,}", dump)
    assert "whsec_" not in dump and secret.removeprefix("whsec_")[:16] not in dump
    assert merchant.test_secret[8:] not in dump and merchant.live_secret[8:] not in dump
    assert await Merchant.filter(id=merchant.merchant.id).exists()
