"""The plugin contract: loading, registration errors, every hook, docs and core purity."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert set(default_plugins()) == {"ethereum", "polygon", "erc20"}
    assert set(default_plugins()) <= names
    assert pm.get_plugin("ethereum").__name__ == "plugins.ethereum"


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
    with pytest.raises(PluginError, match="share chain id 1"):
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


async def test_build_payment_request_override(api: Api, make_registry: RegistryFactory) -> None:
    make_registry(extra_plugins=(fakes.CustomRequest(),))
    session = await api.session()
    _, usdt = await api.payment(session["id"], "USDT")
    assert usdt["data"] == "0x" and usdt["eip681_uri"] == "x:"
    _, eth = await api.payment(session["id"], "ETH")
    assert eth["data"].startswith("0x") and len(eth["data"]) > 10  # the default EVM request


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


# Every hook and the test that exercises it; a new hook without a test fails here.
HOOK_TESTS = {
    "register_networks": test_register_networks_duplicates_are_startup_errors,
    "register_tokens": test_register_tokens_known_and_configured,
    "register_price_sources": test_register_price_sources_order,
    "min_confirmations": test_min_confirmations_layers,
    "build_payment_request": test_build_payment_request_override,
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


# `kassa dev` starts its own anvil and still names that chain's id; it belongs next to the
# devnet's ChainSpec in plugins/ethereum (reported to its owner). Nothing else is exempt.
DEV_TOOLING_EXCEPTIONS = {"app/devnet.py"}


def test_core_names_no_chain() -> None:
    """app/ never hard-codes a chain: no chain names, no chain ids."""
    names = re.compile(r"\b(ethereum|polygon|sepolia|amoy|matic|mainnet\s*=)\b", re.IGNORECASE)
    ids = re.compile(r"\b(31337|11155111|80002|137)\b|chain_?id\s*[=:]\s*\d", re.IGNORECASE)
    offenders = []
    for path in sorted((REPO / "app").rglob("*.py")):
        if path.relative_to(REPO).as_posix() in DEV_TOOLING_EXCEPTIONS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if names.search(line) or ids.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_known_token_addresses_are_checksummed() -> None:
    """A typo in a built-in address would almost surely break its EIP-55 checksum."""
    from eth_utils import is_checksum_address

    from plugins.erc20 import KNOWN_TOKENS

    for (network, symbol), (address, decimals, _) in KNOWN_TOKENS.items():
        assert is_checksum_address(address), (network, symbol)
        assert decimals == (18 if symbol == "DAI" else 6)
