"""Merchant URL hosts with CSP syntax (`*`, `;`, `,`) are refused when the URL is given: the
checkout's Content-Security-Policy lists the success and cancel origins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from app.checkout.security import content_security_policy
from tests.api.helpers import assert_error, create_session, session_body
from tests.conftest import MerchantKeys

if TYPE_CHECKING:
    from quart.typing import TestClientProtocol

HOSTS = ["*.shop.example", "shop.example;script-src", "shop.example,evil.example", "*"]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("param", ["success_url", "cancel_url"])
async def test_session_urls_with_csp_syntax_in_the_host_are_refused(
    client: TestClientProtocol, merchant: MerchantKeys, host: str, param: str
) -> None:
    body = session_body(**{param: f"https://{host}/done"})
    response = await client.post("/v1/checkout/sessions", json=body, headers=merchant.auth())
    await assert_error(response, 400, "invalid_request_error", "url_invalid", param)


@pytest.mark.parametrize("host", HOSTS)
async def test_webhook_urls_with_csp_syntax_in_the_host_are_refused(
    client: TestClientProtocol, merchant: MerchantKeys, host: str
) -> None:
    response = await client.post(
        "/v1/webhook_endpoints",
        json={"url": f"https://{host}/hook", "enabled_events": ["*"]},
        headers=merchant.auth(),
    )
    await assert_error(response, 400, "invalid_request_error", "url_invalid", "url")


async def test_accepted_hosts_reach_the_policy_as_one_source_each(
    client: TestClientProtocol, merchant: MerchantKeys
) -> None:
    session = await create_session(
        client,
        merchant,
        success_url="https://shop.example:8443/ok",
        cancel_url="https://xn--caf-dma.example/cancel",
    )
    policy = content_security_policy("n", (session["success_url"], session["cancel_url"]))
    [form_action] = [d for d in policy.split("; ") if d.startswith("form-action")]
    assert form_action.split(" ") == [
        "form-action",
        "'self'",
        "https://shop.example:8443",
        "https://xn--caf-dma.example",
    ]
