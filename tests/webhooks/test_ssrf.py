"""The SSRF guard: refused at endpoint creation and at delivery; nothing reaches loopback."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from app.models import WebhookDelivery
from app.ssrf import BlockedTarget, is_public_address, parse_ip_host
from app.states import utcnow
from app.webhooks.worker import DeliveryWorker
from tests.conftest import MerchantKeys
from tests.webhooks.conftest import FakeResolver, emit_events, fast_settings, insert_endpoint

PUBLIC = "93.184.216.34"

# (host as written in the URL, what the fake DNS answers for it)
MATRIX: list[tuple[str, list[str] | None]] = [
    ("127.0.0.1", None),
    ("127.8.9.10", None),
    ("10.1.2.3", None),
    ("172.16.0.1", None),
    ("192.168.1.1", None),
    ("169.254.169.254", None),
    ("100.64.0.1", None),
    ("0.0.0.0", None),
    ("[::1]", None),
    ("[::ffff:127.0.0.1]", None),
    ("[::ffff:7f00:1]", None),
    ("[fd00::1]", None),
    ("[fe80::1]", None),
    ("[64:ff9b::7f00:1]", None),
    ("2130706433", None),
    ("0x7f.1", None),
    ("0x7f000001", None),
    ("0177.0.0.1", None),
    ("127.1", None),
    ("224.0.0.1", None),
    ("255.255.255.255", None),
    ("loopback.shop.test", ["127.0.0.1"]),
    ("metadata.shop.test", ["169.254.169.254"]),
    ("rebind.shop.test", [PUBLIC, "127.0.0.1"]),
    ("mapped.shop.test", ["::ffff:127.0.0.1"]),
    ("v6loop.shop.test", [PUBLIC, "::1"]),
    # IPv6 forms of IPv4 addresses that are not globally reachable, public IPv4 inside or not.
    ("[64:ff9b:1::a00:1]", None),
    ("[64:ff9b:1::5db8:d822]", None),
    ("[::ffff:5db8:d822]", None),
    ("nat64local.shop.test", ["64:ff9b:1::5db8:d822"]),
    ("mappedpublic.shop.test", ["::ffff:5db8:d822"]),
    ("translated.shop.test", ["::ffff:0:5db8:d822"]),
]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "192.0.0.8",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "2001:db8::1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "::127.0.0.1",
        # Not globally reachable, whatever IPv4 address they carry: IPv4-mapped, IPv4-translated
        # (SIIT) and local-use NAT64 (RFC 8215, any of its prefix lengths).
        "::ffff:1.1.1.1",
        "::ffff:0:7f00:1",
        "::ffff:0:101:101",
        "64:ff9b:1::7f00:1",
        "64:ff9b:1::101:101",
        "64:ff9b:1:101:101::",
        "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
        "3fff::1",
        "5f00::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


# The well-known NAT64 prefix and 6to4 carry public IPv4 addresses as DNS64 and 6to4 relays
# hand them out: the embedded address decides.
@pytest.mark.parametrize(
    "address", [PUBLIC, "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::101:101", "2002:101:101::1"]
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "host,expected",
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x", "0.0.0.0"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("shop.example", None),
        ("1shop.example", None),
    ],
)
def test_numeric_host_spellings(host: str, expected: str | None) -> None:
    parsed = parse_ip_host(host)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1.16777216"])
def test_malformed_numbers_are_refused(host: str) -> None:
    with pytest.raises(BlockedTarget):
        parse_ip_host(host)


@pytest.mark.parametrize("host,answers", MATRIX)
async def test_refused_at_creation(
    client, merchant: MerchantKeys, fake_dns: FakeResolver, host: str, answers: list[str] | None
) -> None:
    if answers is not None:
        fake_dns.table[host] = answers
    for livemode in (False, True):
        scheme = "https" if livemode else "http"
        response = await client.post(
            "/v1/webhook_endpoints",
            json={"url": f"{scheme}://{host}:8443/hook", "enabled_events": ["*"]},
            headers=merchant.auth(livemode),
        )
        body = await response.get_json()
        assert response.status_code == 400, body
        assert body["error"]["code"] == "url_invalid"
        assert body["error"]["param"] == "url"


async def test_creation_rules_by_mode(
    client, merchant: MerchantKeys, fake_dns: FakeResolver, private_targets, clean_endpoints
) -> None:
    fake_dns.table["shop.test"] = [PUBLIC]
    fake_dns.table["local.test"] = ["127.0.0.1"]

    async def create(url: str, livemode: bool) -> int:
        response = await client.post(
            "/v1/webhook_endpoints",
            json={"url": url, "enabled_events": ["*"]},
            headers=merchant.auth(livemode),
        )
        return response.status_code

    assert await create("https://shop.test/hook", livemode=True) == 200
    # Live mode: https only, and private targets never, whatever the operator allows.
    assert await create("http://shop.test/hook", livemode=True) == 400
    assert await create("https://local.test/hook", livemode=True) == 400
    # Test mode with KASSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS: loopback is fine (dev setups).
    assert await create("http://local.test:9/hook", livemode=False) == 200
    assert await create("http://127.0.0.1:9/hook", livemode=False) == 200
    # An unusual numeric spelling is refused even where private targets are allowed.
    assert await create("http://2130706433:9/hook", livemode=False) == 400
    assert await create("http://nxdomain.test/hook", livemode=False) == 400


async def test_refused_at_delivery_and_no_connection_reaches_loopback(
    client, merchant: MerchantKeys, receivers, database_url: str, clean_endpoints
) -> None:
    """Endpoints written straight to the database (as if DNS changed after creation)."""
    listener = await receivers()
    port = listener.port
    resolver = FakeResolver({host: answers for host, answers in MATRIX if answers is not None})
    settings = fast_settings(database_url, webhooks_allow_private_targets=False)
    endpoint_ids = []
    for host, _ in MATRIX:
        for livemode in (False, True):
            url = f"{'https' if livemode else 'http'}://{host}:{port}/hook"
            endpoint_ids.append(
                await insert_endpoint(settings, merchant.merchant.id, url, livemode=livemode)
            )
    await emit_events(merchant.merchant.id, 1, livemode=False)
    await emit_events(merchant.merchant.id, 1, livemode=True)

    worker = DeliveryWorker(settings, resolver=resolver)
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()

    assert listener.connections == 0
    assert listener.requests == []
    deliveries = await WebhookDelivery.filter(endpoint_id__in=endpoint_ids)
    assert len(deliveries) == len(endpoint_ids)
    for delivery in deliveries:
        assert delivery.status == "pending"
        assert delivery.attempts == 1
        assert delivery.last_status_code is None
        assert delivery.last_error
        assert delivery.next_attempt_at > utcnow() + dt.timedelta(seconds=4)


async def test_private_targets_allowed_only_in_test_mode_and_pinned(
    client, merchant: MerchantKeys, receivers, database_url: str, clean_endpoints
) -> None:
    """With the operator's dev switch, a test endpoint reaches loopback through the pinned
    address while the Host header keeps the name; a live endpoint still does not."""
    listener = await receivers()
    resolver = FakeResolver({"shop.test": ["127.0.0.1"]})
    settings = fast_settings(database_url, webhooks_allow_private_targets=True)
    ids = {}
    for livemode in (False, True):
        url = f"{'https' if livemode else 'http'}://shop.test:{listener.port}/hook"
        ids[livemode] = await insert_endpoint(
            settings, merchant.merchant.id, url, livemode=livemode
        )
    test_event = (await emit_events(merchant.merchant.id, 1, livemode=False))[0]
    await emit_events(merchant.merchant.id, 1, livemode=True)
    worker = DeliveryWorker(settings, resolver=resolver)
    try:
        await worker.run_until_idle()
    finally:
        await worker.aclose()
    assert listener.ids() == [test_event.id]
    assert listener.requests[0].headers["host"] == f"shop.test:{listener.port}"
    live = await WebhookDelivery.get(endpoint_id=ids[True])
    assert live.status == "pending" and "non-public" in (live.last_error or "")
