"""Dashboard fixtures: users of each role, and test clients signed in as them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from quart import Quart

from app.dashboard import users
from app.dashboard.passwords import hash_password
from app.dashboard.users import Role, create_user
from app.models import RateLimit, User, random_base62
from tests.checkout.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    DevServer,
    start_kassa_dev,
)
from tests.conftest import MerchantKeys

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class DashboardClient:
    """A Quart test client (it keeps cookies) that posts forms as a browser would: with the
    CSRF token of the page the form is on."""

    def __init__(self, app: Quart) -> None:
        self.client = app.test_client()

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.client.get(path, **kwargs)

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return str(await response.get_data(as_text=True))

    async def post_form(
        self, path: str, data: dict[str, str], form_page: str = "/dashboard/account"
    ) -> Any:
        """POST `data` to `path` with the token read from `form_page` (any page that shows a
        form of this browser's session)."""
        token = csrf_of(await self.page(form_page))
        return await self.client.post(path, form={**data, "csrf_token": token})

    async def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        return await self.post_form(
            "/dashboard/sign-in", {"email": email, "password": password}, "/dashboard/sign-in"
        )


@pytest.fixture
async def fresh_sign_in_limits(app: Quart) -> AsyncIterator[None]:
    """Every test signs in from the same test address: its per-address budget starts full."""
    await RateLimit.filter(bucket__startswith="dashboard-sign-in").delete()
    yield


MakeUser = Callable[..., Awaitable[User]]


# argon2id costs ~0.2 s of CPU by design; the suite makes hundreds of users with one password,
# so that password is hashed once (the hash is a real one: signing in still verifies it).
_PASSWORD_HASH = hash_password(PASSWORD)


@pytest.fixture
def make_user(
    merchant: MerchantKeys, fresh_sign_in_limits: None, monkeypatch: pytest.MonkeyPatch
) -> MakeUser:
    hashed = users._hashed
    monkeypatch.setattr(
        users,
        "_hashed",
        lambda password: _PASSWORD_HASH if password == PASSWORD else hashed(password),
    )

    async def make(role: Role = Role.OWNER, email: str | None = None) -> User:
        address = email or f"{role}-{random_base62(8).lower()}@shop.example"
        return await create_user(merchant.merchant.id, address, PASSWORD, role, "cli")

    return make


SignedInClient = Callable[..., Awaitable[DashboardClient]]


@pytest.fixture
def signed_in(app: Quart, make_user: MakeUser) -> SignedInClient:
    """`await signed_in(Role.VIEWER)`: a client signed in as a new user of that role."""

    async def make(role: Role = Role.OWNER) -> DashboardClient:
        user = await make_user(role)
        client = DashboardClient(app)
        response = await client.sign_in(user.email)
        assert response.status_code == 303, await response.get_data(as_text=True)
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


# ----------------------------------------------------------------------------- browser tests


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """`kassa dev` (a devnet, a demo merchant and its dashboard owner) for one test module."""
    server = start_kassa_dev(tmp_path_factory.mktemp("kassa-dev"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A desktop-sized page in a fresh context; the test fails if the page broke its CSP."""
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    await context.close()
    assert violations == []
