"""Fixtures for the payment-contract tests: one anvil per session, contracts deployed once,
and a chain snapshot reverted after every test (`kassa` fixture) so tests stay independent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from plugins.evm.anvil import AnvilNode
from tests.contract.harness import Kassa, deploy_kassa, rpc, start_anvil


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    node = start_anvil()
    yield node
    node.stop()


@pytest.fixture(scope="session")
async def w3(anvil: AnvilNode) -> AsyncIterator[AsyncWeb3[Any]]:
    web3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
    yield web3
    await web3.provider.disconnect()


@pytest.fixture(scope="session")
async def deployed(w3: AsyncWeb3[Any], anvil: AnvilNode) -> Kassa:
    return await deploy_kassa(w3, anvil)


@pytest.fixture
async def kassa(deployed: Kassa) -> AsyncIterator[Kassa]:
    """The deployment, with every chain change of the test reverted afterwards."""
    snapshot = await rpc(deployed.w3, "evm_snapshot")
    yield deployed
    assert await rpc(deployed.w3, "evm_revert", snapshot) is True
