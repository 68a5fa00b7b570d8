"""Dashboard API keys: create in the toggle's mode (secret shown once, works against the API),
list with last use, revoke (the API refuses it), roles, modes and audit."""

from __future__ import annotations

import datetime as dt

from quart import Quart

from app.dashboard.users import Role
from app.keys import forget_cached_keys, hash_secret
from app.models import ApiKey, AuditLog
from tests.conftest import MerchantKeys, new_merchant
from tests.dashboard.conftest import DashboardClient, SignedInClient


def _secret_of(html: str) -> str:
    return html.split('<code id="new-secret">')[1].split("<")[0]


async def _create(client: DashboardClient) -> tuple[ApiKey, str, str]:
    response = await client.post_form("/dashboard/keys", {}, "/dashboard/keys")
    # Post-redirect-get: the page after the 303 shows the secret once.
    assert response.status_code == 303, await response.get_data(as_text=True)
    html = await client.page(response.headers["Location"])
    secret = _secret_of(html)
    return await ApiKey.get(secret_sha256=hash_secret(secret)), secret, html


async def test_create_use_and_revoke(app: Quart, signed_in: SignedInClient) -> None:
    client = await signed_in(Role.DEVELOPER)
    key, secret, html = await _create(client)
    assert secret.startswith("sk_test_") and 'class="secret"' in html
    assert key.merchant_id == client.user.merchant_id and key.livemode is False
    assert key.last_used_at is None
    listed = await client.page("/dashboard/keys")
    assert key.display in listed and secret not in listed and "never" in listed

    api = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await api.get("/v1/checkout/sessions", headers=auth)).status_code == 200
    await key.refresh_from_db()
    assert key.last_used_at is not None  # authentication notes the use, once a minute
    assert key.last_used_at.strftime("%Y-%m-%d %H:%M") in await client.page("/dashboard/keys")

    revoked = await client.post_form(f"/dashboard/keys/{key.id}/revoke", {}, "/dashboard/keys")
    assert revoked.status_code == 303
    assert "Revoked" in await client.page(revoked.headers["Location"])
    forget_cached_keys()  # another process would see it within KEY_CACHE_SECONDS
    assert (await api.get("/v1/checkout/sessions", headers=auth)).status_code == 401
    # Revoking twice (two tabs) changes nothing more and is not audited twice.
    again = await client.post_form(f"/dashboard/keys/{key.id}/revoke", {}, "/dashboard/keys")
    assert again.status_code == 303

    entries = await AuditLog.filter(object_id=key.id).order_by("id")
    assert [e.action for e in entries] == ["api_key.created", "api_key.revoked"]
    assert all(e.actor == f"user:{client.user.id}" and e.ip for e in entries)
    assert secret not in str([e.details for e in entries])


async def test_live_toggle_creates_live_keys(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.OWNER)
    await client.post_form("/dashboard/mode", {"mode": "live", "next": "/dashboard/keys"})
    key, secret, _ = await _create(client)
    assert key.livemode is True and secret.startswith("sk_live_")
    listed = await client.page("/dashboard/keys")
    # Only live keys in live mode: the merchant fixture's test key is not listed.
    test_keys = await ApiKey.filter(merchant_id=client.user.merchant_id, livemode=False)
    assert test_keys and all(k.id not in listed for k in test_keys)


async def test_viewers_read_only(signed_in: SignedInClient, merchant: MerchantKeys) -> None:
    viewer = await signed_in(Role.VIEWER)
    html = await viewer.page("/dashboard/keys")
    assert "Create test key" not in html and "Revoke" not in html
    key = await ApiKey.filter(merchant_id=merchant.merchant.id, livemode=False).first()
    assert key is not None and key.id in html
    assert (await viewer.post_form("/dashboard/keys", {})).status_code == 403
    response = await viewer.post_form(f"/dashboard/keys/{key.id}/revoke", {})
    assert response.status_code == 403
    await key.refresh_from_db()
    assert key.revoked_at is None


async def test_another_merchants_or_modes_key_is_404(signed_in: SignedInClient) -> None:
    client = await signed_in(Role.OWNER)
    other = await new_merchant("Other")
    theirs = await ApiKey.get(secret_sha256=hash_secret(other.test_secret))
    live = await ApiKey.get(merchant_id=client.user.merchant_id, livemode=True)
    for key in (theirs, live):
        response = await client.post_form(f"/dashboard/keys/{key.id}/revoke", {})
        assert response.status_code == 404
        await key.refresh_from_db()
        assert key.revoked_at is None


async def test_last_use_is_written_at_most_once_a_minute(
    app: Quart, merchant: MerchantKeys
) -> None:
    key = await ApiKey.get(secret_sha256=hash_secret(merchant.test_secret))
    api = app.test_client()
    await api.get("/v1/checkout/sessions", headers=merchant.auth())
    await key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    forget_cached_keys()
    await api.get("/v1/checkout/sessions", headers=merchant.auth())
    await key.refresh_from_db()
    assert key.last_used_at == first  # within the minute: not written again
    old = first - dt.timedelta(minutes=2)
    await ApiKey.filter(id=key.id).update(last_used_at=old)
    forget_cached_keys()
    await api.get("/v1/checkout/sessions", headers=merchant.auth())
    await key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_at > old
