"""Gas used by KassaCheckout payments, beside a plain transfer measured in the same run.

    .venv/bin/python bench/gas.py [--payments N] [--json]

Starts its own anvil, deploys the contract and a 6-decimals test token, and pays from one
account to a merchant that already holds coins and tokens (the usual case; a first ever credit
to an empty account costs every transfer the same extra 25k / 17.1k gas). Sessions use
sequential nonce indexes as the backend assigns them, so one payment in 256 also pays for a
fresh "session paid" slot; that cost is reported on its own line.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any, cast

REPO_ROOT = Path(__file__).resolve().parent.parent
# The anvil helper lives in tests/; this script runs as a file, so put the repo on the path.
sys.path.insert(0, str(REPO_ROOT))

from eth_account import Account  # noqa: E402
from eth_utils import to_checksum_address  # noqa: E402
from web3 import AsyncHTTPProvider, AsyncWeb3  # noqa: E402
from web3.types import TxParams  # noqa: E402

from plugins.evm.anvil import AnvilNode  # noqa: E402
from plugins.evm.contract import (  # noqa: E402
    NATIVE_TOKEN,
    PaymentIntent,
    deploy_artifact,
    deploy_checkout_contract,
    encode_pay_call,
    load_artifact,
    session_ref,
    sign_intent,
)

TOKEN_UNIT = 10**6  # the test token has 6 decimals


class Bench:
    def __init__(self, w3: AsyncWeb3[Any], node: AnvilNode) -> None:
        self.w3 = w3
        self.chain_id = node.chain_id
        self.deployer_key = node.private_keys[0]
        self.signer_key = node.private_keys[1]
        self.payer = node.addresses[2]
        self.merchant = node.addresses[3]
        self.fee_recipient = node.addresses[4]
        self.next_nonce = 0
        self.checkout = ""
        self.token = ""

    async def gas_of(self, tx: dict[str, Any]) -> int:
        # anvil's dev accounts are unlocked, so the node signs.
        tx_hash = await self.w3.eth.send_transaction(cast(TxParams, tx))
        receipt = await self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction reverted: {tx}")
        return int(receipt["gasUsed"])

    async def setup(self) -> None:
        owner = Account.from_key(self.deployer_key).address
        signer = Account.from_key(self.signer_key).address
        self.checkout = await deploy_checkout_contract(
            self.w3, self.deployer_key, owner, [signer], self.fee_recipient
        )
        self.token = await deploy_artifact(self.w3, self.deployer_key, "TestUSDC")
        token = self.token_contract()
        for holder, amount in (
            (self.payer, 10**9 * TOKEN_UNIT),
            (self.merchant, TOKEN_UNIT),
            (self.fee_recipient, TOKEN_UNIT),
        ):
            await self.gas_of(await token.functions.mint(holder, amount).build_transaction({}))
        # A large allowance that stays non-zero: a wallet approving once for many payments.
        approve = token.functions.approve(self.checkout, 10**8 * TOKEN_UNIT)
        await self.gas_of(await approve.build_transaction({"from": self.payer}))

    def token_contract(self) -> Any:
        abi = load_artifact("TestUSDC")["abi"]
        return self.w3.eth.contract(address=to_checksum_address(self.token), abi=abi)

    async def plain_native_transfer(self) -> int:
        return await self.gas_of({"from": self.payer, "to": self.merchant, "value": 10**15})

    async def plain_token_transfer(self) -> int:
        transfer = self.token_contract().functions.transfer(self.merchant, 25 * TOKEN_UNIT)
        return await self.gas_of(await transfer.build_transaction({"from": self.payer}))

    async def payment(self, token: str, amount: int, fee: int) -> int:
        nonce, self.next_nonce = self.next_nonce, self.next_nonce + 1
        latest = await self.w3.eth.get_block("latest")
        intent = PaymentIntent(
            session_ref=session_ref(nonce),
            # Random-looking, like the gateway's refs (zero bytes would make calldata cheaper).
            payment_ref=hashlib.sha256(nonce.to_bytes(8, "big")).digest(),
            token=token,
            amount=amount,
            recipient=self.merchant,
            fee=fee,
            deadline=latest["timestamp"] + 900,
        )
        signature = sign_intent(intent, self.chain_id, self.checkout, self.signer_key)
        tx = encode_pay_call(intent, signature, self.checkout)
        return await self.gas_of({"from": self.payer, **tx})


async def measure(payments: int) -> dict[str, int]:
    with AnvilNode() as node:
        w3 = AsyncWeb3(AsyncHTTPProvider(node.rpc_url))
        try:
            bench = Bench(w3, node)
            await bench.setup()
            # The very first payment opens the first bitmap word (a fresh storage slot).
            fresh_slot = await bench.payment(NATIVE_TOKEN, 10**16, 0)
            cases = {
                "native_transfer": lambda: bench.plain_native_transfer(),
                "token_transfer": lambda: bench.plain_token_transfer(),
                "native_payment": lambda: bench.payment(NATIVE_TOKEN, 10**16, 0),
                "native_payment_with_fee": lambda: bench.payment(NATIVE_TOKEN, 10**16, 10**14),
                "token_payment": lambda: bench.payment(bench.token, 25 * TOKEN_UNIT, 0),
                "token_payment_with_fee": lambda: bench.payment(
                    bench.token, 25 * TOKEN_UNIT, TOKEN_UNIT // 4
                ),
            }
            results = {}
            for name, run in cases.items():
                results[name] = int(statistics.median([await run() for _ in range(payments)]))
            results["fresh_session_slot_extra"] = fresh_slot - results["native_payment"]
            return results
        finally:
            await w3.provider.disconnect()


def report(results: dict[str, int]) -> str:
    native, token = results["native_transfer"], results["token_transfer"]
    rows = [
        ("plain native-coin transfer", native, native),
        ("plain ERC-20 transfer", token, token),
        ("native payment, no fee", results["native_payment"], native),
        ("native payment, with fee", results["native_payment_with_fee"], native),
        ("token payment, no fee", results["token_payment"], token),
        ("token payment, with fee", results["token_payment_with_fee"], token),
    ]
    lines = [f"{'case':<28} {'gas':>8}  {'vs plain':>8}"]
    lines += [f"{name:<28} {gas:>8}  {gas / base:>7.2f}x" for name, gas, base in rows]
    lines.append(
        f"first payment of each 256-session word: +{results['fresh_session_slot_extra']} gas"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=5, help="payments per case (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = asyncio.run(measure(args.payments))
    print(json.dumps(results, indent=2, sort_keys=True) if args.json else report(results))


if __name__ == "__main__":
    main()
