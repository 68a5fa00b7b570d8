"""`kassa dev` on the EVM: anvil started with the devnet's chain id, the payment contract and
two test stablecoins deployed, and the `[networks.devnet]` block that enables them.

The chain and the deployment survive restarts in the state directory (anvil's `--state`
file and `deployment.json`), so a second `kassa dev` continues where the first stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import AsyncHTTPProvider, AsyncWeb3

from app.dev import DevError, DevNetwork
from plugins.evm.anvil import AnvilNode, AnvilNotFound, AnvilStartError
from plugins.evm.contract import deploy_artifact, deploy_checkout_contract, load_artifact
from plugins.evm.deposits import deploy_deposit_factory
from plugins.evm.network import ChainSpec

log = logging.getLogger("kassa.dev")

# Devnet coins have no market: fixed, round prices keep amounts readable (USD and EUR, the
# currencies the README's examples use; USD stablecoins are pegged by the erc20 plugin).
DEVNET_RATES = {"ETH/USD": "2000", "ETH/EUR": "1850", "USDC/EUR": "0.925", "USDT/EUR": "0.925"}
# The test tokens are deployed as USDC/USDT look-alikes, pegged 1:1 like the real ones.
DEVNET_TOKENS = (("USDC", "TestUSDC"), ("USDT", "TestUSDT"))
TEST_WALLET_FUNDS = 1_000_000 * 10**6  # one million of each 6-decimals test token

# Anvil's deterministic dev accounts, by role (index into its account list).
DEPLOYER, SIGNER, TEST_WALLET, MERCHANT, SWEEPER = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Deployment:
    contract: str
    tokens: dict[str, str]  # symbol -> address
    deposit_factory: str

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "tokens": self.tokens,
            "deposit_factory": self.deposit_factory,
        }


def _read_json(path: Path) -> Any:
    """Small state files: reading them synchronously costs nothing worth a thread."""
    return json.loads(path.read_text()) if path.exists() else None


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2))


async def _has_code(w3: AsyncWeb3[Any], address: str) -> bool:
    return len(await w3.eth.get_code(to_checksum_address(address))) > 0


async def deploy(w3: AsyncWeb3[Any], anvil: AnvilNode, record: Path) -> Deployment:
    """The recorded deployment if the chain still has it, else a fresh one."""
    saved = _read_json(record)
    # A record from before the deposit factory existed counts as a reset chain: redeploy all.
    if saved is not None and "deposit_factory" in saved:
        addresses = [saved["contract"], saved["deposit_factory"], *saved["tokens"].values()]
        if all([await _has_code(w3, address) for address in addresses]):
            return Deployment(saved["contract"], dict(saved["tokens"]), saved["deposit_factory"])
    if saved is not None:
        log.warning("the devnet chain was reset; deploying the contracts again")
    deployer_key = anvil.private_keys[DEPLOYER]
    contract = await deploy_checkout_contract(
        w3,
        deployer_key,
        owner=anvil.addresses[DEPLOYER],
        signers=[anvil.addresses[SIGNER]],
        fee_recipient=None,
    )
    tokens: dict[str, str] = {}
    for symbol, artifact in DEVNET_TOKENS:
        address = await deploy_artifact(w3, deployer_key, artifact)
        tokens[symbol] = address
        token = w3.eth.contract(
            address=to_checksum_address(address), abi=load_artifact(artifact)["abi"]
        )
        # Fund the test wallet; the merchant already holds a unit, like real payout addresses.
        funding = (
            (anvil.addresses[TEST_WALLET], TEST_WALLET_FUNDS),
            (anvil.addresses[MERCHANT], 1),
        )
        for holder, amount in funding:
            tx_hash = await token.functions.mint(holder, amount).transact(
                {"from": anvil.addresses[DEPLOYER]}
            )
            await w3.eth.wait_for_transaction_receipt(tx_hash)
    deposit_factory = await deploy_deposit_factory(w3, deployer_key)
    deployment = Deployment(contract, tokens, deposit_factory)
    _write_json(record, deployment.to_json())
    return deployment


async def start_devnet(spec: ChainSpec, state_dir: Path) -> DevNetwork:
    """Start anvil for `spec`, deploy (or find) the contracts, and say how to enable them."""
    node = AnvilNode(
        chain_id=spec.chain_id,
        # `safe`/`finalized` advance (latest-1, latest-2), as the watcher expects; the chain
        # survives restarts, like kassa.db does.
        extra_args=["--slots-in-an-epoch", "1", "--state", str(state_dir / "anvil-state.json")],
        startup_timeout=20.0,
    )
    try:
        await asyncio.to_thread(node.start)
    except (AnvilNotFound, AnvilStartError) as error:
        raise DevError(str(error)) from None
    try:
        w3 = AsyncWeb3(AsyncHTTPProvider(node.rpc_url))
        try:
            deployment = await deploy(w3, node, state_dir / "deployment.json")
        finally:
            await w3.provider.disconnect()
    except BaseException:
        node.stop()
        raise
    settings = {
        "rpc_urls": [node.rpc_url],
        "contract_address": deployment.contract,
        "signer_key": node.private_keys[SIGNER],
        "tokens": [
            {
                "symbol": symbol,
                "address": address,
                "decimals": 6,
                "display_decimals": 2,  # like the real USD stablecoins: "25.00 USDC"
                "name": f"Test {symbol}",
            }
            for symbol, address in deployment.tokens.items()
        ],
        # Browser wallets add the local chain with this URL; the test-wallet button pays
        # from an account anvil unlocks.
        "public_rpc_url": node.rpc_url,
        "test_wallet": node.addresses[TEST_WALLET],
        # Every payment also gets a deposit address; a funded dev account pays sweep gas.
        "deposit_factory": deployment.deposit_factory,
        "sweeper_key": node.private_keys[SWEEPER],
    }
    tokens = ", ".join(f"{symbol} {address}" for symbol, address in deployment.tokens.items())
    return DevNetwork(
        key=spec.key,
        settings=settings,
        payout_address=node.addresses[MERCHANT],
        currencies=[spec.native_symbol, *deployment.tokens],
        fixed_rates=dict(DEVNET_RATES),
        report={
            "rpc_url": node.rpc_url,
            "chain_id": spec.chain_id,
            "contract": deployment.contract,
            "deposit_factory": deployment.deposit_factory,
            "tokens": deployment.tokens,
            "test_wallet": node.addresses[TEST_WALLET],
            "payout_address": node.addresses[MERCHANT],
        },
        lines=[
            f"Devnet RPC:   {node.rpc_url}  (chain id {spec.chain_id})",
            f"Contract:     {deployment.contract}",
            f"Deposits:     factory {deployment.deposit_factory}",
            f"Payout:       {node.addresses[MERCHANT]} (the demo merchant's)",
            f"Test tokens:  {tokens}",
        ],
        stop=node.stop,
    )
