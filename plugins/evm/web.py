"""The EVM plugin's part of the hosted checkout: the pay-step template, `wallet.js`, and the
"Pay with test wallet" button of `kassa dev`.

The test wallet is only ever active when the server runs in dev mode *and* the operator's
settings name a node-unlocked `test_wallet` account for the payment's network (as `kassa dev`
does for its anvil): the backend then sends the same approve + `pay` transactions a browser
wallet would, so a newcomer without a wallet can finish a checkout. Anywhere else the route
answers 404.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, abort, current_app, render_template, request
from web3 import AsyncHTTPProvider, AsyncWeb3

from app.checkout.routes import (
    csrf_refused,
    html,
    is_htmx,
    load_session,
    notice,
    page_url,
    redirect_to,
)
from app.checkout.security import csrf_ok
from app.checkout.state import active_payment
from app.config import Settings
from app.models import Payment
from app.networks import current_registry
from app.resources import package_folder
from app.states import PaymentStatus
from app.watcher import send_tx_hint
from plugins.evm.contract import load_artifact
from plugins.evm.network import EvmNetwork

_TIMEOUT_SECONDS = 30

blueprint = Blueprint(
    "evm",
    __name__,
    template_folder=str(package_folder("plugins.evm", "templates")),
    static_folder=str(package_folder("plugins.evm", "static")),
    static_url_path="/static/plugins/evm",
)


class DevWalletError(RuntimeError):
    """The devnet refused a transaction; the message is safe to show."""


def test_wallet_network(payment: Payment | None) -> EvmNetwork | None:
    """The payment's network when the test wallet may pay it (dev mode, a test wallet set)."""
    settings: Settings = current_app.config["KASSA_SETTINGS"]
    if not settings.dev_mode or payment is None or payment.status != PaymentStatus.PENDING:
        return None
    network = current_registry().network(payment.network)
    if isinstance(network, EvmNetwork) and network.test_wallet:
        return network
    return None


@blueprint.app_template_global("evm_test_wallet")
def _test_wallet_global(payment: Payment | None) -> bool:
    return test_wallet_network(payment) is not None


async def _send(w3: AsyncWeb3[Any], tx: Any) -> str:
    tx_hash = await w3.eth.send_transaction(tx)
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=_TIMEOUT_SECONDS)
    if receipt["status"] != 1:
        raise DevWalletError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return tx_hash.to_0x_hex()


async def _top_up(w3: AsyncWeb3[Any], token: Any, payer: str, needed: int) -> None:
    """Devnet test tokens mint to anyone: top the test wallet up instead of failing."""
    balance = int(await token.functions.balanceOf(payer).call())
    if balance < needed:
        mint = token.functions.mint(payer, needed - balance)
        await _send(w3, await mint.build_transaction({"from": payer}))


async def _approve(w3: AsyncWeb3[Any], payer: str, approve: dict[str, Any]) -> None:
    token = w3.eth.contract(
        address=w3.to_checksum_address(approve["token"]), abi=load_artifact("TestERC20")["abi"]
    )
    needed = int(approve["amount"])
    await _top_up(w3, token, payer, needed)
    spender = w3.to_checksum_address(approve["spender"])
    allowance = int(await token.functions.allowance(payer, spender).call())
    if allowance >= needed:
        return
    if allowance:
        # USDT-like tokens refuse to change a non-zero allowance directly.
        await _send(
            w3, await token.functions.approve(spender, 0).build_transaction({"from": payer})
        )
    await _send(
        w3, await token.functions.approve(spender, needed).build_transaction({"from": payer})
    )


@contextlib.asynccontextmanager
async def _devnet(network: EvmNetwork) -> AsyncIterator[AsyncWeb3[Any]]:
    """A connection to the devnet; any failure becomes a `DevWalletError` the page shows."""
    w3 = AsyncWeb3(AsyncHTTPProvider(network.public_rpc_url))
    try:
        yield w3
    except DevWalletError:
        raise
    except Exception as error:
        raise DevWalletError(type(error).__name__ + ": " + str(error)[:200]) from None
    finally:
        await w3.provider.disconnect()


async def transfer_from_test_wallet(network: EvmNetwork, payment: Payment) -> str:
    """What an exchange does: a plain transfer of the amount to the deposit address."""
    wallet = network.test_wallet
    assert wallet is not None and payment.deposit_address
    total = int(payment.amount_base_units) + int(payment.fee_base_units or 0)
    async with _devnet(network) as w3:
        if payment.token_address is None:
            return await _send(w3, {"from": wallet, "to": payment.deposit_address, "value": total})
        token = w3.eth.contract(
            address=w3.to_checksum_address(payment.token_address),
            abi=load_artifact("TestERC20")["abi"],
        )
        await _top_up(w3, token, wallet, total)
        call = token.functions.transfer(payment.deposit_address, total)
        return await _send(w3, await call.build_transaction({"from": wallet}))


async def pay_with_test_wallet(network: EvmNetwork, payment: Payment) -> str:
    """Approve if needed, then send `pay`; returns the payment transaction hash."""
    wallet = network.test_wallet
    assert wallet is not None
    request = payment.wallet_request or {}
    async with _devnet(network) as w3:
        if request.get("approve"):
            await _approve(w3, wallet, request["approve"])
        return await _send(
            w3,
            {
                "from": wallet,
                "to": w3.to_checksum_address(request["to"]),
                "data": request["data"],
                "value": int(request["value"]),
            },
        )


@blueprint.post("/checkout/<session_id>/test-wallet")
async def checkout_test_wallet(session_id: str) -> Response:
    """Dev mode only: pay the active payment from a funded devnet account (server-side)."""
    session = await load_session(session_id)
    if not await csrf_ok(session.id):
        return await csrf_refused(session)
    payment = await active_payment(session)
    network = test_wallet_network(payment)
    if network is None or payment is None:
        abort(404)
    by_transfer = (await request.form).get("way") == "transfer" and payment.deposit_address
    try:
        if by_transfer:
            tx_hash = await transfer_from_test_wallet(network, payment)
        else:
            tx_hash = await pay_with_test_wallet(network, payment)
    except DevWalletError as error:
        return await notice(session, f"The test wallet could not pay: {error}", 502)
    if not by_transfer:
        await send_tx_hint(network, payment.id, tx_hash)
    if is_htmx():
        return html(
            await render_template(
                "_notice.html", message=f"Test wallet sent {tx_hash}.", kind="info"
            )
        )
    return redirect_to(page_url(session))
