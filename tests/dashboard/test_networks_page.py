"""Dashboard network status (owners): each enabled network's head, cursor, lag, halts and
checks; "Resume" clears a halt as `kassa networks resume` does, audited. Where several
merchants share the server (as in the test database), owners see what the API shows of a
halt and cannot resume it; the operator tests pretend theirs is the only merchant."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest

from app.dashboard.users import Role
from app.doctor import HALTED_FOR_API
from app.models import AuditLog, ChainCursor
from tests.dashboard.conftest import SignedInClient

REASON = "the hash of block 41 changed below the finality depth"


@pytest.fixture
async def halted_devnet() -> AsyncIterator[ChainCursor]:
    """The devnet's watcher halted at block 41 (the test apps' nodes never answer)."""
    await ChainCursor.filter(network="devnet").delete()
    cursor = await ChainCursor.create(
        network="devnet", block_number=41, block_hash="0x41", halted=True, halt_reason=REASON
    )
    yield cursor
    await ChainCursor.filter(network="devnet").delete()


@pytest.fixture
def only_merchant(monkeypatch: pytest.MonkeyPatch) -> None:
    async def yes() -> bool:
        return True

    # The module, not the package's attribute of the same name (the blueprint).
    monkeypatch.setattr(sys.modules["app.dashboard.networks"], "is_operator", yes)


@pytest.mark.usefixtures("only_merchant")
async def test_owner_sees_every_network_and_resumes_a_halt(
    signed_in: SignedInClient, halted_devnet: ChainCursor
) -> None:
    owner = await signed_in(Role.OWNER)
    html = await owner.page("/dashboard/networks")
    # Both modes' networks: the watchers serve every merchant and mode.
    assert 'id="network-devnet"' in html and 'id="network-ethereum"' in html
    assert "block 41" in html and REASON in html and "Resume devnet watcher" in html
    assert "unknown: no node answered" in html  # the nodes are down; the checks say so
    assert "failing" in html

    resumed = await owner.post_form("/dashboard/networks/devnet/resume", {}, "/dashboard/networks")
    assert resumed.status_code == 303
    body = await owner.page(resumed.headers["Location"])
    assert "Resumed the devnet watcher" in body and "Resume devnet watcher" not in body
    await halted_devnet.refresh_from_db()
    assert not halted_devnet.halted and halted_devnet.halt_reason is None
    entry = await AuditLog.get(merchant_id=owner.user.merchant_id, action="network.resumed")
    assert entry.object_id == "devnet" and entry.actor == f"user:{owner.user.id}" and entry.ip

    again = await owner.post_form("/dashboard/networks/devnet/resume", {}, "/dashboard/networks")
    assert again.status_code == 409
    unknown = await owner.post_form("/dashboard/networks/mars/resume", {}, "/dashboard/networks")
    assert unknown.status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEVELOPER])
async def test_only_owners(
    signed_in: SignedInClient, halted_devnet: ChainCursor, role: Role
) -> None:
    client = await signed_in(role)
    assert (await client.get("/dashboard/networks")).status_code == 403
    response = await client.post_form("/dashboard/networks/devnet/resume", {})
    assert response.status_code == 403
    await halted_devnet.refresh_from_db()
    assert halted_devnet.halted


async def test_a_shared_servers_owner_sees_no_reason_and_cannot_resume(
    signed_in: SignedInClient, halted_devnet: ChainCursor
) -> None:
    owner = await signed_in(Role.OWNER)  # the test database holds many merchants
    html = await owner.page("/dashboard/networks")
    assert "halted" in html and REASON not in html
    assert HALTED_FOR_API.split(":")[0] in html
    assert "Resume devnet watcher" not in html and "kassa networks resume" in html
    response = await owner.post_form("/dashboard/networks/devnet/resume", {}, "/dashboard/networks")
    assert response.status_code == 403
    await halted_devnet.refresh_from_db()
    assert halted_devnet.halted
