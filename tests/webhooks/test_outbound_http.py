"""The one outbound HTTP client factory, and the event-type vocabulary subscriptions use."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

from app.http import SsrfGuard, outbound_client
from app.states import EventType
from app.webhooks.outbox import event_matches, event_type_pattern_valid

APP = Path(__file__).resolve().parents[2] / "app"

# architecture.md §4.
# Architecture §4's eight, plus the deposit-address outcomes of the "pay from any wallet"
# issue (underpaid, overpaid, a token the payment did not ask for).
ARCHITECTURE_EVENT_TYPES = {
    "checkout.session.completed",
    "checkout.session.expired",
    "checkout.session.canceled",
    "payment.created",
    "payment.pending",
    "payment.reorged",
    "payment.confirmed",
    "payment.expired",
    "payment.underpaid",
    "payment.overpaid",
    "payment.unexpected_token",
    # Issue 14: refunds, the payout-address tripwire and the endpoint test event.
    "refund.created",
    "refund.address_provided",
    "refund.succeeded",
    "refund.canceled",
    "merchant.payout_address.updated",
    "webhook_endpoint.test",
}


def _builds_httpx_client(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr in {"AsyncClient", "Client"} and (
            isinstance(func.value, ast.Name) and func.value.id == "httpx"
        )
    return isinstance(func, ast.Name) and func.id in {"AsyncClient", "Client"}


def test_only_app_http_builds_httpx_clients() -> None:
    builders = sorted(
        str(path.relative_to(APP.parent))
        for path in APP.rglob("*.py")
        if any(_builds_httpx_client(node) for node in ast.walk(ast.parse(path.read_text())))
    )
    assert builders == ["app/http.py"]


async def test_guarded_client_refuses_proxies_from_the_environment() -> None:
    with pytest.raises(ValueError, match="proxies"):
        outbound_client(timeout=5.0, follow_redirects=False, guard=SsrfGuard(), trust_env=True)


@pytest.mark.parametrize(("connect_timeout", "expected_connect"), [(None, 7.0), (2.0, 2.0)])
async def test_connect_timeout_is_bounded(
    connect_timeout: float | None, expected_connect: float
) -> None:
    async with outbound_client(
        timeout=7.0, connect_timeout=connect_timeout, follow_redirects=False
    ) as client:
        assert client.timeout == httpx.Timeout(7.0, connect=expected_connect)
        assert client.follow_redirects is False


async def test_user_agent_is_sent_by_default() -> None:
    async with outbound_client(timeout=1.0, follow_redirects=False, user_agent="Kassa-Test/1") as c:
        assert c.headers["user-agent"] == "Kassa-Test/1"


def test_event_types_are_the_architecture_vocabulary() -> None:
    assert set(EventType) == ARCHITECTURE_EVENT_TYPES
    for event_type in EventType:
        assert event_type_pattern_valid(event_type)
        assert event_matches([event_type.value], event_type)


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [
        ("*", True),
        ("payment.*", True),
        ("checkout.session.*", True),
        ("checkout.*", True),
        ("payment.refunded", False),
        ("refund.*", True),
        ("payout.*", False),
        ("payment", False),
    ],
)
def test_subscription_patterns(pattern: str, valid: bool) -> None:
    assert event_type_pattern_valid(pattern) is valid
