"""Fixtures for payments on a real devnet: one anvil per session, contracts deployed once,
chain snapshot reverted and the devnet's chain rows cleared after every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from app.models import ChainCursor, ChainObservation, Event, Payment, Refund
from app.networks import Registry, current_registry, install_registry
from app.watcher import ChainWatcher
from plugins.evm.anvil import AnvilNode
from tests.chain import DEVNET, DevChain, deploy_devchain, devnet_settings, start_devnet
from tests.conftest import MerchantKeys, new_merchant

RegistryFactory = Callable[..., Registry]
REORG_ROOM = 16


@pytest.fixture(scope="session")
def devnet_node() -> Iterator[AnvilNode]:
    node = start_devnet()
    yield node
    node.stop()


@pytest.fixture(scope="session")
async def deployed_chain(devnet_node: AnvilNode) -> AsyncIterator[DevChain]:
    chain = await deploy_devchain(devnet_node)
    yield chain
    await chain.w3.provider.disconnect()  # type: ignore[attr-defined]


@pytest.fixture
async def chain(deployed_chain: DevChain) -> AsyncIterator[DevChain]:
    snapshot = await deployed_chain.snapshot()
    # anvil loses a snapshot (and its `latest` block) when a reorg reaches below it: give
    # every test some blocks of its own to reorganise.
    await deployed_chain.mine(REORG_ROOM)
    yield deployed_chain
    await deployed_chain.revert(snapshot)


async def _clear_devnet_rows() -> None:
    ids = [p.id for p in await Payment.filter(network=DEVNET)]
    ids += [r.id for r in await Refund.filter(network=DEVNET)]
    await Event.filter(object_id__in=ids).delete()
    await Refund.filter(network=DEVNET).delete()  # they hold on to their payments
    await Payment.filter(network=DEVNET).delete()
    await ChainObservation.filter(network=DEVNET).delete()
    await ChainCursor.filter(network=DEVNET).delete()


@pytest.fixture
async def make_registry(app: Quart, chain: DevChain) -> AsyncIterator[RegistryFactory]:
    """Install a registry with the devnet enabled (keyword args tune its network config)."""
    from app.plugins import start_registry

    previous = current_registry()
    started: list[Registry] = []

    def make(
        rpc_urls: list[str] | None = None,
        extra_plugins: tuple[object, ...] = (),
        settings_overrides: dict[str, Any] | None = None,
        **network: Any,
    ) -> Registry:
        settings = devnet_settings(app.config["KASSA_SETTINGS"], chain, rpc_urls, **network)
        if settings_overrides:
            settings = settings.model_copy(update=settings_overrides)
        registry = start_registry(settings, extra_plugins)
        started.append(registry)
        return registry

    await _clear_devnet_rows()
    yield make
    for registry in started:
        await registry.close()
    install_registry(previous)
    await _clear_devnet_rows()


@pytest.fixture
def registry(make_registry: RegistryFactory) -> Registry:
    return make_registry()


@pytest.fixture
def watcher(registry: Registry) -> ChainWatcher:
    return ChainWatcher(registry.networks[DEVNET], registry)


@pytest.fixture
async def shop(app: Quart, chain: DevChain) -> MerchantKeys:
    """A merchant paid on the devnet at the chain's merchant account."""
    return await new_merchant(payouts={DEVNET: chain.merchant})


@pytest.fixture
def api(client: TestClientProtocol, shop: MerchantKeys) -> Api:
    return Api(client, shop)


class Api:
    """The merchant API as the tests use it."""

    def __init__(self, client: TestClientProtocol, shop: MerchantKeys) -> None:
        self.client = client
        self.shop = shop

    async def call(self, method: str, path: str, json: Any = None, livemode: bool = False) -> Any:
        extra: dict[str, Any] = {} if json is None else {"json": json}
        response = await self.client.open(
            path, method=method, headers=self.shop.auth(livemode), **extra
        )
        return response.status_code, await response.get_json()

    async def session(self, livemode: bool = False, **overrides: Any) -> dict[str, Any]:
        body = {
            "amount_fiat": "25.00",
            "currency": "USD",
            "allowed_crypto_currencies": ["ETH", "USDC", "USDT"],
            "allowed_networks": [DEVNET],
            "success_url": "https://shop.example/ok",
            "cancel_url": "https://shop.example/cancel",
            **overrides,
        }
        status, data = await self.call("POST", "/v1/checkout/sessions", body, livemode)
        assert status == 200, data
        return dict(data)

    async def payment(
        self, session_id: str, currency: str = "ETH", network: str = DEVNET
    ) -> tuple[int, dict[str, Any]]:
        status, data = await self.call(
            "POST",
            f"/v1/checkout/sessions/{session_id}/payments",
            {"network": network, "crypto_currency": currency},
        )
        if status == 200:
            assert list(data) == ["payment"], data  # the documented `{"payment": {...}}`
            return status, dict(data["payment"])
        return status, dict(data)

    async def get(self, path: str) -> dict[str, Any]:
        status, data = await self.call("GET", path)
        assert status == 200, data
        return dict(data)


async def event_types(object_id: str) -> list[str]:
    return [e.type for e in await Event.filter(object_id=object_id).order_by("created_at", "id")]


Poll = Callable[[], Awaitable[Any]]
