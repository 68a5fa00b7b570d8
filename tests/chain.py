"""Reusable chain helpers for tests that pay through a real devnet (anvil).

`DevChain` wraps one anvil with the Kassa contract and test tokens deployed (see
tests/contract/harness.py), and knows how to pay a payment object the API returned, mine,
travel in time and reorganise. `devnet_settings()` builds operator settings that enable the
`devnet` network on it; `install_devnet_registry()` starts the plugins for those settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from app.config import Settings
from app.networks import Registry, install_registry
from app.plugins import start_registry
from plugins.evm.anvil import AnvilNode, AnvilNotFound
from tests.contract.harness import Kassa, contract_at, deploy_kassa, rpc

DEVNET = "devnet"
# Rates the tests quote with: 1 ETH = 2000.00 USD / 1850.00 EUR; stablecoins are pegged by
# the erc20 plugin (USD only).
FIXED_RATES = {"ETH/USD": "2000", "ETH/EUR": "1850"}


def start_devnet(chain_id: int = 31337) -> AnvilNode:
    """anvil with `finalized` advancing every block (latest N, safe N-1, finalized N-2)."""
    import pytest

    try:
        return AnvilNode(chain_id=chain_id, extra_args=["--slots-in-an-epoch", "1"]).start()
    except AnvilNotFound as exc:
        pytest.skip(str(exc))


@dataclass
class DevChain:
    """A devnet with the contract and tokens; helpers to pay and to bend the chain."""

    kassa: Kassa

    @property
    def w3(self) -> AsyncWeb3[Any]:
        return self.kassa.w3

    @property
    def node(self) -> AnvilNode:
        return self.kassa.node

    @property
    def contract_address(self) -> str:
        return self.kassa.address

    @property
    def signer_key(self) -> str:
        return self.kassa.roles.signer_key

    @property
    def merchant(self) -> str:
        return self.kassa.roles.merchant

    @property
    def payer_key(self) -> str:
        return self.kassa.roles.keys[2]

    def token_address(self, name: str) -> str:
        return str(self.kassa.tokens[name].address)

    async def rpc(self, method: str, *params: Any) -> Any:
        return await rpc(self.w3, method, *params)

    async def head(self) -> int:
        return int(await self.w3.eth.block_number)

    async def mine(self, blocks: int = 1) -> None:
        await self.rpc("anvil_mine", hex(blocks))

    async def timestamp(self) -> int:
        return int((await self.w3.eth.get_block("latest"))["timestamp"])

    async def set_next_timestamp(self, timestamp: int) -> None:
        await self.rpc("evm_setNextBlockTimestamp", hex(timestamp))

    async def snapshot(self) -> str:
        return str(await self.rpc("evm_snapshot"))

    async def revert(self, snapshot: str) -> None:
        assert await self.rpc("evm_revert", snapshot) is True

    async def reorg(self, depth: int, txs: Sequence[tuple[dict[str, Any], int]] = ()) -> None:
        """Replace the last `depth` blocks; `txs` are (tx request, block offset) to include."""
        await self.rpc("anvil_reorg", depth, [[tx, offset] for tx, offset in txs])

    async def _send(self, tx: dict[str, Any], key: str) -> str:
        account = Account.from_key(key)
        tx = {
            **tx,
            "from": account.address,
            "nonce": await self.w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": await self.w3.eth.chain_id,
        }
        tx.setdefault("gas", 300_000)
        tx.setdefault("maxFeePerGas", 50 * 10**9)
        tx.setdefault("maxPriorityFeePerGas", 10**9)
        signed = account.sign_transaction(tx)
        tx_hash = await self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = await self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, receipt
        return tx_hash.to_0x_hex()

    async def pay(self, payment: dict[str, Any], key: str | None = None) -> str:
        """What a wallet does with a payment object: approve if needed, then send `pay`.

        Signed locally with the payer's key, like a wallet; returns the pay tx hash.
        """
        key = key or self.payer_key
        payer = Account.from_key(key).address
        approve = payment.get("approve")
        if approve:
            token = contract_at(self.w3, approve["token"], "TestERC20")
            amount = int(approve["amount"])
            mint = await token.functions.mint(payer, amount).build_transaction(
                {"from": payer, "gas": 200_000}
            )
            await self._send(dict(mint), key)
            call = await token.functions.approve(approve["spender"], amount).build_transaction(
                {"from": payer, "gas": 200_000}
            )
            await self._send(dict(call), key)
        tx = {"to": payment["to_contract"], "data": payment["data"], "value": int(payment["value"])}
        return await self._send(tx, key)

    async def transfer(
        self, to: str, amount: int, token: str | None = None, key: str | None = None
    ) -> str:
        """What an exchange withdrawal or a phone wallet does: a plain transfer of the coin
        (`token` None) or of a token (by address, minted to the sender first); the tx hash."""
        key = key or self.exchange_key
        if token is None:
            return await self._send({"to": to, "value": amount, "gas": 21_000}, key)
        sender = Account.from_key(key).address
        contract = contract_at(self.w3, token, "TestERC20")
        mint = await contract.functions.mint(sender, amount).build_transaction(
            {"from": sender, "gas": 200_000}
        )
        await self._send(dict(mint), key)
        call = await contract.functions.transfer(to, amount).build_transaction(
            {"from": sender, "gas": 200_000}
        )
        return await self._send(dict(call), key)

    async def balance(self, account: str, token: str | None = None) -> int:
        if token is None:
            return int(await self.w3.eth.get_balance(account))
        contract = contract_at(self.w3, token, "TestERC20")
        return int(await contract.functions.balanceOf(account).call())

    @property
    def exchange_key(self) -> str:
        """An account that pays like an exchange: plain transfers, never the contract."""
        return self.kassa.roles.keys[8]

    @property
    def sweeper_key(self) -> str:
        return self.kassa.roles.keys[7]

    @property
    def deposit_factory(self) -> str:
        return str(self.kassa.factory.address)

    def pay_request(self, payment: dict[str, Any], payer: str | None = None) -> dict[str, Any]:
        """The pay call as an unsigned request (for `anvil_reorg` re-inclusion)."""
        return {
            "from": payer or self.kassa.roles.payer,
            "to": payment["to_contract"],
            "data": payment["data"],
            "value": hex(int(payment["value"])),
            "gas": hex(300_000),
        }


async def deploy_devchain(node: AnvilNode) -> DevChain:
    w3 = AsyncWeb3(AsyncHTTPProvider(node.rpc_url))
    return DevChain(await deploy_kassa(w3, node))


def devnet_settings(
    base: Settings,
    chain: DevChain,
    rpc_urls: Sequence[str] | None = None,
    **network: Any,
) -> Settings:
    """`base` with the devnet enabled on `chain` (tokens USDC and USDT are the test ones)."""
    config: dict[str, Any] = {
        "rpc_urls": list(rpc_urls or [chain.node.rpc_url]),
        "contract_address": chain.contract_address,
        "signer_key": chain.signer_key,
        "tokens": [
            {"symbol": "USDC", "address": chain.token_address("usdc"), "decimals": 6},
            {"symbol": "USDT", "address": chain.token_address("usdt"), "decimals": 6},
        ],
        "poll_interval_seconds": 0.05,
        "rpc_timeout_seconds": 2.0,
        **network,
    }
    values = base.model_dump()
    values.update(
        networks={DEVNET: config},
        fixed_rates=FIXED_RATES,
        plugins=None,
    )
    return Settings(**values)


def install_devnet_registry(settings: Settings, extra_plugins: Sequence[object] = ()) -> Registry:
    return start_registry(settings, extra_plugins)


def restore_registry(previous: Registry | None) -> None:
    install_registry(previous)
