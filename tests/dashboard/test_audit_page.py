"""Dashboard audit log: owners read their merchant's entries, newest first, 50 a page, with
users and keys by name; nobody else's entries; other roles are refused."""

from __future__ import annotations

import pytest

from app.audit import audit, key_actor
from app.dashboard.users import Role
from app.keys import hash_secret
from app.models import ApiKey, AuditLog
from tests.conftest import MerchantKeys, new_merchant
from tests.dashboard.conftest import SignedInClient


async def test_owner_pages_through_the_log(
    signed_in: SignedInClient, merchant: MerchantKeys
) -> None:
    owner = await signed_in(Role.OWNER)
    merchant_id = merchant.merchant.id
    key = await ApiKey.get(secret_sha256=hash_secret(merchant.test_secret))
    for number in range(60):
        await audit(merchant_id, "cli", f"test.step_{number:02d}", object_id=f"obj_{number}")
    await audit(
        merchant_id, key_actor(key.id), "webhook_endpoint.created", details={"url": "https://x"}
    )
    await audit(merchant_id, f"user:{owner.user.id}", "latest.one", ip="203.0.113.9")
    other = await new_merchant("Other")
    await audit(other.merchant.id, "cli", "someone.elses")

    first = await owner.page("/dashboard/audit")
    assert first.index("latest.one") < first.index("webhook_endpoint.created")
    assert owner.user.email in first and "203.0.113.9" in first
    assert f"API key {key.display}" in first and "command line" in first
    assert "someone.elses" not in first
    assert "test.step_59" in first and "test.step_12" in first and "test.step_11" not in first
    entries = await AuditLog.filter(merchant_id=merchant_id).order_by("-id").limit(50)
    older = f"/dashboard/audit?before={entries[-1].id}"
    assert f'href="{older}"' in first

    second = await owner.page(older)
    assert "test.step_11" in second and "test.step_00" in second
    assert "test.step_12" not in second and "Older entries" not in second
    assert 'href="/dashboard/audit">Newest' in second
    # A damaged cursor starts from the newest.
    assert "latest.one" in await owner.page("/dashboard/audit?before=abc")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER])
async def test_only_owners_read_it(signed_in: SignedInClient, role: Role) -> None:
    client = await signed_in(role)
    assert (await client.get("/dashboard/audit")).status_code == 403
