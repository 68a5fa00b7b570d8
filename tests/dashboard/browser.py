"""Browser-test helpers for the dashboard: a signed-in page, users made with the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.checkout.browser import DESKTOP, MOBILE, SCREENSHOTS, DevServer

PASSWORD = "correct horse battery staple"


async def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Fill the sign-in form as a person would (labels and roles only)."""
    await page.goto(f"{base_url}/dashboard/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


def dev_origin(dev: DevServer) -> str:
    return str(dev.info["dashboard_url"]).removesuffix("/dashboard/")


async def sign_in_as_owner(page: Any, dev: DevServer) -> None:
    """Sign in as `kassa dev`'s demo owner and wait for the overview."""
    from playwright.async_api import expect

    await sign_in(
        page, dev_origin(dev), dev.info["dashboard_email"], dev.info["dashboard_password"]
    )
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def dev_merchant_id(dev: DevServer) -> str:
    record = json.loads((dev.cwd / ".kassa" / "merchant.json").read_text())
    return str(record["id"])


def create_dev_user(dev: DevServer, email: str, role: str, password: str = PASSWORD) -> None:
    """`kassa users create` against the dev server's database, as its operator would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env["KASSA_CONFIG_FILE"] = str(dev.cwd / "absent.toml")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "users",
            "create",
            "--merchant",
            dev_merchant_id(dev),
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ],
        cwd=dev.cwd,
        env=env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


async def shot(page: Any, name: str) -> None:
    """A full-page screenshot for docs/img (written there with KASSA_UPDATE_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def shots(page: Any, name: str) -> None:
    """The page at desktop width and on a 360 px phone; nothing wider than the phone."""
    for suffix, viewport in (("desktop", DESKTOP), ("360", MOBILE)):
        await page.set_viewport_size(viewport)
        await shot(page, f"{name}-{suffix}")
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    await page.set_viewport_size(DESKTOP)
