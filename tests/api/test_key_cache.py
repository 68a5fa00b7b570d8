"""API keys are cached per process for `KEY_CACHE_SECONDS`; revocation still takes effect
within a second everywhere, and at once in the revoking process."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from app import keys
from app.keys import KEY_CACHE_SECONDS, hash_secret, revoke_key
from app.models import ApiKey
from tests.conftest import LiveServer, MerchantKeys, new_merchant


async def _key_of(secret: str) -> ApiKey:
    return await ApiKey.get(secret_sha256=hash_secret(secret))


async def test_a_key_revoked_in_another_process_fails_there_within_a_second(
    live_server: LiveServer, merchant: MerchantKeys
) -> None:
    assert KEY_CACHE_SECONDS <= 1.0
    headers = merchant.auth()
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=5) as http:
        # The server process has the key cached now (it answered with it).
        for _ in range(3):
            response = await http.get("/v1/checkout/sessions", headers=headers)
            assert response.status_code == 200, response.text
        # Revoked here, in this test's process: the server learns it from the database only.
        assert await revoke_key((await _key_of(merchant.test_secret)).id, actor="cli")
        revoked_at = time.monotonic()
        while True:
            response = await http.get("/v1/checkout/sessions", headers=headers)
            if response.status_code == 401:
                break
            assert response.status_code == 200, response.text
            assert time.monotonic() - revoked_at < 1.0, "the revoked key still works after 1 s"
            await asyncio.sleep(0.02)
        assert response.json()["error"]["code"] == "api_key_invalid"
        # And it stays refused (no stale entry comes back).
        for _ in range(5):
            response = await http.get("/v1/checkout/sessions", headers=headers)
            assert response.status_code == 401
        # The merchant's other key is not affected.
        live = await http.get("/v1/checkout/sessions", headers=merchant.auth(livemode=True))
        assert live.status_code == 200


async def test_a_key_revoked_in_this_process_fails_at_once(client, merchant: MerchantKeys) -> None:
    headers = merchant.auth()
    assert (await client.get("/v1/checkout/sessions", headers=headers)).status_code == 200
    assert await revoke_key((await _key_of(merchant.test_secret)).id, actor="cli")
    assert (await client.get("/v1/checkout/sessions", headers=headers)).status_code == 401


async def test_unknown_keys_are_not_cached_and_new_keys_work_at_once(client) -> None:
    """No negative cache: a key created after a failed attempt with it is accepted at once
    (and guessing costs a lookup each time, as it did before the cache)."""
    unknown = {"Authorization": "Bearer sk_test_" + "x" * 32}
    for _ in range(3):
        assert (await client.get("/v1/checkout/sessions", headers=unknown)).status_code == 401
    fresh = await new_merchant()
    assert (await client.get("/v1/checkout/sessions", headers=fresh.auth())).status_code == 200


async def test_concurrent_first_requests_share_one_lookup(
    client, merchant: MerchantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = []
    look_up = keys._look_up

    async def counted(secret_sha256: str) -> ApiKey | None:
        lookups.append(secret_sha256)
        return await look_up(secret_sha256)

    monkeypatch.setattr(keys, "_look_up", counted)
    headers = merchant.auth()
    responses = await asyncio.gather(
        *(client.get("/v1/checkout/sessions", headers=headers) for _ in range(20))
    )
    assert {response.status_code for response in responses} == {200}
    assert len(lookups) == 1
