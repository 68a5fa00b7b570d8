"""The plugin contract: loading, registration errors, every hook, docs and core purity."""

from __future__ import annotations

import asyncio
import contextvars
import re
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.models import Payment
from app.networks import PluginError, build_registry
from app.plugins import default_plugins, hook_names, make_plugin_manager
from app.watcher import ChainWatcher
from tests.chain import DEVNET, DevChain, devnet_settings
from tests.networks.conftest import Api, RegistryFactory
from tests.plugins import fakes

REPO = Path(__file__).resolve().parents[2]


def _settings(**values: object) -> Settings:
    return Settings(database_url="sqlite://:memory:", **values)  # type: ignore[arg-type]


def _mainnet(key: str) -> dict[str, object]:
    return {
        "rpc_urls": ["http://127.0.0.1:9"],
        "contract_address": "0x" + "33" * 20,
        "signer_key": "0x" + "44" * 32,
    }


# ------------------------------------------------------------------- loading


def test_builtins_load_through_entry_points() -> None:
    pm = make_plugin_manager(_settings())
    names = {name for name, _ in pm.list_name_plugin()}
    evm = {"ethereum", "polygon", "base", "arbitrum", "optimism"}
    assert set(default_plugins()) == evm | {"erc20", "fiat"}
    assert set(default_plugins()) <= names
    from plugins.evm import EvmPlugin

    for name in evm:
        assert isinstance(pm.get_plugin(name), EvmPlugin), name


def test_allow_list_and_core_without_plugins() -> None:
    pm = make_plugin_manager(_settings(plugins=["erc20"]))
    assert pm.get_plugin("ethereum") is None and pm.get_plugin("erc20") is not None
    registry = build_registry(_settings(plugins=[]), make_plugin_manager(_settings(plugins=[])))
    assert registry.networks == {}
    with pytest.raises(PluginError, match="not installed"):
        make_plugin_manager(_settings(plugins=["nope"]))
    settings = _settings(plugins=["erc20"], networks={"ethereum": _mainnet("ethereum")})
    with pytest.raises(PluginError, match="provided by no loaded plugin: ethereum"):
        build_registry(settings, make_plugin_manager(settings))


def test_check_pending_catches_misspelt_hooks() -> None:
    with pytest.raises(PluginError, match="register_netwroks"):
        make_plugin_manager(_settings(), [fakes.Misspelt()])


def test_register_networks_duplicates_are_startup_errors() -> None:
    settings = _settings(networks={"ethereum": _mainnet("ethereum")})
    with pytest.raises(PluginError, match="network key 'ethereum'"):
        build_registry(
            settings, make_plugin_manager(settings, [fakes.AddsNetwork("ethereum", 999)])
        )
    with pytest.raises(PluginError, match=r"are the same chain \(eip155:1\)"):
        build_registry(settings, make_plugin_manager(settings, [fakes.AddsNetwork("other", 1)]))
    registry = build_registry(
        settings, make_plugin_manager(settings, [fakes.AddsNetwork("fake", 999)])
    )
    assert set(registry.networks) == {"ethereum", "fake"}
    assert registry.networks["ethereum"].chain_id == 1
    assert registry.networks["ethereum"].finality.confirmations == 12


def test_register_networks_polygon_defaults() -> None:
    settings = _settings(networks={"polygon": _mainnet("polygon"), "amoy": _mainnet("amoy")})
    registry = build_registry(settings, make_plugin_manager(settings))
    polygon = registry.networks["polygon"]
    assert (polygon.chain_id, polygon.testnet, polygon.finality.confirmations) == (137, False, 128)
    assert registry.networks["amoy"].chain_id == 80002
    assert registry.token("polygon", "POL") is not None
    # The PoA middleware is the one extra layer (its behaviour: test_conformance's Amoy run).
    plain = build_registry(
        _settings(networks={"ethereum": _mainnet("ethereum")}),
        make_plugin_manager(_settings()),
    ).networks["ethereum"]
    onion = list(polygon.rpc.current.middleware_onion)  # type: ignore[attr-defined]
    assert len(onion) == len(list(plain.rpc.current.middleware_onion)) + 1  # type: ignore[attr-defined]


def test_register_tokens_known_and_configured() -> None:
    settings = _settings(
        networks={
            "ethereum": _mainnet("ethereum"),
            "sepolia": {
                **_mainnet("sepolia"),
                "tokens": [{"symbol": "tst", "address": "0x" + "55" * 20, "decimals": 6}],
            },
        }
    )
    registry = build_registry(settings, make_plugin_manager(settings, [fakes.ExtraTokens()]))
    usdc = registry.token("ethereum", "USDC")
    assert usdc is not None and usdc.decimals == 6
    assert usdc.address == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    assert registry.token("ethereum", "DAI").decimals == 18  # type: ignore[union-attr]
    assert registry.token("ethereum", "ETH").address is None  # type: ignore[union-attr]
    assert registry.token("sepolia", "TST").decimals == 6  # type: ignore[union-attr]
    assert registry.token("sepolia", "GOLD") is not None


async def test_register_price_sources_order() -> None:
    settings = _settings(fixed_rates={"ETH/USD": "3000", "USDC/USD": "0.99"})
    registry = build_registry(settings, make_plugin_manager(settings, [fakes.GoldPrice()]))
    names = [s.name for s in registry.price_sources]
    assert names[0] == "operator" and names[-1] == "stablecoin-peg" and "gold" in names
    from app.quotes import QuoteBook

    book = QuoteBook(registry.price_sources, 60)
    assert (await book.quote("USDC", "USD")).source == "operator"  # operator wins over peg
    assert (await book.quote("USDT", "USD")).source == "stablecoin-peg"
    assert (await book.quote("GOLD", "USD")).rate == 12.5


def test_min_confirmations_layers(chain: DevChain, app) -> None:
    base = devnet_settings(app.config["KASSA_SETTINGS"], chain)
    registry = build_registry(base, make_plugin_manager(base, [fakes.BigPaymentsWaitLonger()]))
    devnet = registry.networks[DEVNET]
    eth = registry.token(DEVNET, "ETH")
    hook = registry.pm.hook.min_confirmations
    assert hook(network=devnet, token=eth, amount=1) == 1  # network default (trylast)
    assert hook(network=devnet, token=eth, amount=10**18) == 2  # a plugin's policy
    overridden = devnet_settings(app.config["KASSA_SETTINGS"], chain, confirmations=7)
    registry = build_registry(
        overridden, make_plugin_manager(overridden, [fakes.BigPaymentsWaitLonger()])
    )
    hook = registry.pm.hook.min_confirmations
    assert hook(network=registry.networks[DEVNET], token=eth, amount=10**18) == 7  # tryfirst


async def test_register_blueprints_routes_and_static(tmp_path: Path) -> None:
    from app import create_app

    (tmp_path / "hello.js").write_text("// a plugin's script")
    settings = _settings()
    app = create_app(settings)
    client = app.test_client()
    response = await client.get("/static/plugins/evm/wallet.js")
    assert response.status_code == 200  # the EVM plugin's own blueprint
    from app.checkout.assets import static_url

    fresh = create_app(settings, [fakes.AddsPage(tmp_path)])
    page = await fresh.test_client().get("/fake-plugin-page")
    assert page.status_code == 200 and await page.get_data(as_text=True) == "hello from a plugin"
    url = static_url("plugins/fakepage/hello.js")
    assert url.startswith("/static/plugins/fakepage/hello.js?v=")
    script = await fresh.test_client().get(url)
    assert await script.get_data(as_text=True) == "// a plugin's script"


def test_register_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import build_parser

    parser = build_parser(_settings())
    assert parser.parse_args(["contracts", "deploy", "--rpc-url", "u", "--owner", "o",
                              "--signer", "s"]).action == "deploy"  # fmt: skip
    pm = make_plugin_manager(_settings(), [fakes.AddsCommand()])
    import argparse

    from app.cli import command

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    pm.hook.register_commands(subcommands=sub, command=command)
    args = parser.parse_args(["hello", "world", "--json"])
    assert args.who == "world" and args.json


async def test_dev_network(tmp_path: Path) -> None:
    import app.dev as dev_module
    from app.dev import DevError, start_dev_network

    original = dev_module.make_plugin_manager
    try:
        dev_module.make_plugin_manager = lambda s: original(s, [fakes.RunsDevNetwork()])  # type: ignore[assignment]
        started = await start_dev_network(tmp_path, _settings(plugins=[]))
        assert (started.key, started.currencies) == ("toy", ["TOY"])
    finally:
        dev_module.make_plugin_manager = original  # type: ignore[assignment]
    with pytest.raises(DevError, match="no installed plugin can run a local chain"):
        await start_dev_network(tmp_path, _settings(plugins=[]))
    # The EVM plugin's anvil devnet itself: tests/checkout/test_devnet.py (`kassa dev`).


async def test_payment_status_changed_after_commit(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    recorder = fakes.Recorder()
    registry = make_registry(extra_plugins=(fakes.Broken(), recorder))
    watcher = ChainWatcher(registry.networks[DEVNET], registry)
    session = await api.session()
    _, payment = await api.payment(session["id"], "ETH")
    await watcher.poll_once()
    await chain.pay(payment)
    await watcher.poll_once()
    assert recorder.calls == [
        (payment["id"], "payment.created", "pending"),
        (payment["id"], "payment.pending", "pending"),
        (payment["id"], "payment.confirmed", "confirmed"),
    ]
    assert (await Payment.get(id=payment["id"])).status == "confirmed"


class CommittedChecker:
    """Asks, from another task, whether the payment it hears about is committed (another
    task reads through another connection on PostgreSQL; on SQLite it waits for the open
    transaction, so a call made inside one would time out)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    @fakes.hookimpl
    async def payment_status_changed(self, payment: Any, event: Any) -> None:
        async def committed() -> bool:
            return await Payment.exists(id=payment.id)

        # A fresh context: not the caller's transaction connection (Tortoise keeps it in a
        # context variable, which a task would otherwise inherit).
        lookup = asyncio.create_task(committed(), context=contextvars.Context())
        try:
            found: object = await asyncio.wait_for(lookup, timeout=2)
        except TimeoutError:
            found = "blocked by an open transaction"
        self.seen.append((event.type, found))


async def test_payment_status_changed_after_the_idempotency_commit(
    api: Api, chain: DevChain, make_registry: RegistryFactory
) -> None:
    """Under an Idempotency-Key the handler's transactions are savepoints of the key's
    transaction: listeners hear of the payment once that one committed."""
    checker = CommittedChecker()
    make_registry(extra_plugins=(checker,))
    session = await api.session()
    response = await api.client.post(
        f"/v1/checkout/sessions/{session['id']}/payments",
        json={"network": DEVNET, "crypto_currency": "ETH"},
        headers={**api.shop.auth(), "Idempotency-Key": "pay-once"},
    )
    assert response.status_code == 200, await response.get_json()
    assert checker.seen == [("payment.created", True)]


# Every hook and the test that exercises it; a new hook without a test fails here.
HOOK_TESTS = {
    "register_networks": test_register_networks_duplicates_are_startup_errors,
    "register_tokens": test_register_tokens_known_and_configured,
    "register_price_sources": test_register_price_sources_order,
    "min_confirmations": test_min_confirmations_layers,
    "register_blueprints": test_register_blueprints_routes_and_static,
    "register_commands": test_register_commands,
    "dev_network": test_dev_network,
    "payment_status_changed": test_payment_status_changed_after_commit,
}


def test_every_hook_is_tested() -> None:
    assert sorted(HOOK_TESTS) == hook_names()


def test_every_hook_is_documented_with_its_signature() -> None:
    import inspect

    from app import hookspecs

    docs = (REPO / "docs" / "plugin_hooks.md").read_text()
    for name in hook_names():
        parameters = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"{name}({parameters})" in docs, f"{name} is not documented with its signature"


def test_core_names_no_chain() -> None:
    """app/ never hard-codes a chain: no chain names, no chain ids, no 0x addresses, and no
    EVM library. Nothing is exempt."""
    names = re.compile(r"\b(ethereum|polygon|sepolia|amoy|matic|mainnet\s*=)\b", re.IGNORECASE)
    ids = re.compile(
        r"\b(31337|11155111|80002|137|8453|84532|42161|421614|11155420)\b"
        r"|chain_?id\s*[=:]\s*\d",
        re.IGNORECASE,
    )
    address = re.compile(r"0x[0-9a-fA-F]{40}")
    evm_imports = re.compile(r"^\s*(from|import)\s+(web3|eth_\w+|hexbytes)\b")
    offenders = []
    for path in sorted((REPO / "app").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in (names, ids, address, evm_imports)):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_known_token_addresses_are_checksummed() -> None:
    """A typo in a built-in address would almost surely break its EIP-55 checksum."""
    from eth_utils import is_checksum_address

    from plugins.erc20 import KNOWN_TOKENS

    for (network, symbol), (address, decimals, _) in KNOWN_TOKENS.items():
        assert is_checksum_address(address), (network, symbol)
        assert decimals == (18 if symbol == "DAI" else 6)
