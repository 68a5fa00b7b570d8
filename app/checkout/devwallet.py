"""The "Pay with test wallet" button of `kassa dev`: the server pays from a devnet account.

Only ever active when the server runs in dev mode *and* the payment is on the local devnet
that `kassa dev` started (whose accounts anvil unlocks): the backend then sends the same
approve + `pay` transactions a browser wallet would, so a newcomer without a wallet can
finish a checkout. Anywhere else the route answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import Quart
from web3 import AsyncHTTPProvider, AsyncWeb3

from app.checkout.paydetails import PayDetails
from app.config import Settings
from app.contract import load_artifact

CONFIG_KEY = "KASSA_DEVNET_WALLET"
_TIMEOUT_SECONDS = 30


class DevWalletError(RuntimeError):
    """The devnet refused a transaction; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class DevWallet:
    """A funded, node-unlocked devnet account and the network it may pay on."""

    network_key: str
    rpc_url: str
    payer: str


def available(app: Quart, network_key: str) -> bool:
    settings: Settings = app.config["KASSA_SETTINGS"]
    wallet: DevWallet | None = app.config.get(CONFIG_KEY)
    return settings.dev_mode and wallet is not None and wallet.network_key == network_key


def rpc_url(app: Quart, network_key: str) -> str | None:
    """The devnet's RPC URL in dev mode (for wallet_addEthereumChain), else None."""
    return app.config[CONFIG_KEY].rpc_url if available(app, network_key) else None


async def _send(w3: AsyncWeb3[Any], tx: Any) -> str:
    tx_hash = await w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=_TIMEOUT_SECONDS)
    if receipt["status"] != 1:
        raise DevWalletError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return tx_hash.to_0x_hex()


async def pay(app: Quart, details: PayDetails) -> str:
    """Approve if needed, then send `pay`; returns the payment transaction hash."""
    wallet: DevWallet = app.config[CONFIG_KEY]
    w3 = AsyncWeb3(AsyncHTTPProvider(wallet.rpc_url))
    try:
        if details.approve is not None:
            token = w3.eth.contract(
                address=w3.to_checksum_address(details.approve.token),
                abi=load_artifact("TestERC20")["abi"],
            )
            needed = details.approve.amount
            balance = int(await token.functions.balanceOf(wallet.payer).call())
            if balance < needed:
                # Devnet test tokens mint to anyone: top the test wallet up instead of failing.
                await _send(
                    w3,
                    await token.functions.mint(wallet.payer, needed - balance).build_transaction(
                        {"from": wallet.payer}
                    ),
                )
            spender = w3.to_checksum_address(details.approve.spender)
            allowance = int(await token.functions.allowance(wallet.payer, spender).call())
            if allowance < needed:
                if allowance:
                    # USDT-like tokens refuse to change a non-zero allowance directly.
                    await _send(
                        w3,
                        await token.functions.approve(spender, 0).build_transaction(
                            {"from": wallet.payer}
                        ),
                    )
                await _send(
                    w3,
                    await token.functions.approve(spender, needed).build_transaction(
                        {"from": wallet.payer}
                    ),
                )
        return await _send(
            w3,
            {
                "from": wallet.payer,
                "to": w3.to_checksum_address(details.to),
                "data": details.data,
                "value": details.value,
            },
        )
    except DevWalletError:
        raise
    except Exception as error:
        raise DevWalletError(type(error).__name__ + ": " + str(error)[:200]) from None
    finally:
        await w3.provider.disconnect()
