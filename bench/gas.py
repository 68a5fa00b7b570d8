"""Gas used by KassaCheckout payments and by deposit addresses (KassaDepositFactory), beside a
plain transfer measured in the same run.

    .venv/bin/python bench/gas.py [--payments N] [--json]

Starts its own anvil, deploys the contracts and a 6-decimals test token, and pays from one
account to a merchant that already holds coins and tokens (the usual case; a first ever credit
to an empty account costs every transfer the same extra 25k / 17.1k gas). Sessions use
sequential nonce indexes as the backend assigns them, so one payment in 256 also pays for a
fresh "session paid" slot; that cost is reported on its own line.

Deposit addresses: a fresh address per payment (random 32-byte payment refs, a 1% fee), paid by
a plain transfer, then swept by another account: the first sweep deploys the deposit's
forwarder, a later one (after a top-up) finds it deployed; `sweepMany` sweeps DEPOSIT_BATCH
fresh deposits in one transaction and is reported per payment.
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
from plugins.evm.deposits import (  # noqa: E402
    DepositTerms,
    compute_deposit_address,
    deploy_deposit_factory,
    encode_sweep_call,
    encode_sweep_many_call,
    forwarder_implementation,
)

TOKEN_UNIT = 10**6  # the test token has 6 decimals
DEPOSIT_FEE_BPS = 100
DEPOSIT_BATCH = 10


class Bench:
    def __init__(self, w3: AsyncWeb3[Any], node: AnvilNode) -> None:
        self.w3 = w3
        self.chain_id = node.chain_id
        self.deployer_key = node.private_keys[0]
        self.signer_key = node.private_keys[1]
        self.payer = node.addresses[2]
        self.merchant = node.addresses[3]
        self.fee_recipient = node.addresses[4]
        self.sweeper = node.addresses[5]
        self.next_nonce = 0
        self.next_deposit = 0
        self.checkout = ""
        self.token = ""
        self.factory = ""
        self.forwarder = ""

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
        self.factory = await deploy_deposit_factory(self.w3, self.deployer_key)
        self.forwarder = await forwarder_implementation(self.w3, self.factory)
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

    # ------------------------------------------------------------------ deposit addresses

    def new_deposit(self) -> tuple[DepositTerms, str]:
        """Terms and address of a fresh deposit (computed offline, as the gateway can)."""
        n, self.next_deposit = self.next_deposit, self.next_deposit + 1
        terms = DepositTerms(
            payout=self.merchant,
            fee_recipient=self.fee_recipient,
            fee_basis_points=DEPOSIT_FEE_BPS,
            payment_ref=hashlib.sha256(b"deposit" + n.to_bytes(8, "big")).digest(),
        )
        return terms, compute_deposit_address(self.factory, self.forwarder, terms)

    async def pay_deposit(self, token: str, deposit: str) -> int:
        """The shopper's plain transfer to a deposit address."""
        if token == NATIVE_TOKEN:
            return await self.gas_of({"from": self.payer, "to": deposit, "value": 10**16})
        transfer = self.token_contract().functions.transfer(deposit, 25 * TOKEN_UNIT)
        return await self.gas_of(await transfer.build_transaction({"from": self.payer}))

    def listed(self, token: str) -> list[str]:
        return [] if token == NATIVE_TOKEN else [token]

    async def sweep(self, terms: DepositTerms, token: str) -> int:
        tx = encode_sweep_call(self.factory, terms, self.listed(token))
        return await self.gas_of({"from": self.sweeper, **tx})

    async def deposit_transfer(self, token: str) -> int:
        return await self.pay_deposit(token, self.new_deposit()[1])

    async def first_sweep(self, token: str) -> int:
        terms, deposit = self.new_deposit()
        await self.pay_deposit(token, deposit)
        return await self.sweep(terms, token)

    async def top_up_transfer(self) -> int:
        """A native transfer to a deposit that was swept once (it has code now)."""
        terms, deposit = self.new_deposit()
        await self.sweep(terms, NATIVE_TOKEN)
        return await self.pay_deposit(NATIVE_TOKEN, deposit)

    async def later_sweep(self, token: str) -> int:
        terms, deposit = self.new_deposit()
        await self.pay_deposit(token, deposit)
        await self.sweep(terms, token)
        await self.pay_deposit(token, deposit)
        return await self.sweep(terms, token)

    async def batch_sweep_per_payment(self, token: str) -> int:
        batch = []
        for _ in range(DEPOSIT_BATCH):
            terms, deposit = self.new_deposit()
            await self.pay_deposit(token, deposit)
            batch.append((terms, self.listed(token)))
        tx = encode_sweep_many_call(self.factory, batch)
        return await self.gas_of({"from": self.sweeper, **tx}) // DEPOSIT_BATCH


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
                "deposit_native_transfer": lambda: bench.deposit_transfer(NATIVE_TOKEN),
                "deposit_token_transfer": lambda: bench.deposit_transfer(bench.token),
                "deposit_native_top_up_transfer": lambda: bench.top_up_transfer(),
                "first_sweep_native": lambda: bench.first_sweep(NATIVE_TOKEN),
                "first_sweep_token": lambda: bench.first_sweep(bench.token),
                "later_sweep_native": lambda: bench.later_sweep(NATIVE_TOKEN),
                "later_sweep_token": lambda: bench.later_sweep(bench.token),
                "batch_sweep_native_per_payment": lambda: bench.batch_sweep_per_payment(
                    NATIVE_TOKEN
                ),
                "batch_sweep_token_per_payment": lambda: bench.batch_sweep_per_payment(bench.token),
            }
            results = {}
            for name, run in cases.items():
                results[name] = int(statistics.median([await run() for _ in range(payments)]))
            results["fresh_session_slot_extra"] = fresh_slot - results["native_payment"]
            return results
        finally:
            await w3.provider.disconnect()


def _table(title: str, rows: list[tuple[str, int, int]]) -> list[str]:
    """Rows of (case, gas, plain-transfer gas to compare with), under a header."""
    width = max(len(title), *(len(name) for name, _, _ in rows))
    lines = [f"{title:<{width}} {'gas':>8}  {'vs plain':>8}"]
    lines += [f"{name:<{width}} {gas:>8}  {gas / base:>7.2f}x" for name, gas, base in rows]
    return lines


def report(results: dict[str, int]) -> str:
    native, token = results["native_transfer"], results["token_transfer"]
    payments = [
        ("plain native-coin transfer", native, native),
        ("plain ERC-20 transfer", token, token),
        ("native payment, no fee", results["native_payment"], native),
        ("native payment, with fee", results["native_payment_with_fee"], native),
        ("token payment, no fee", results["token_payment"], token),
        ("token payment, with fee", results["token_payment_with_fee"], token),
    ]
    batch = f"sweepMany of {DEPOSIT_BATCH}, per payment"
    deposits = [
        ("shopper: native transfer to a deposit", results["deposit_native_transfer"], native),
        ("shopper: token transfer to a deposit", results["deposit_token_transfer"], token),
        (
            "shopper: native top-up, swept deposit",
            results["deposit_native_top_up_transfer"],
            native,
        ),
        ("first sweep (deploy + sweep), native", results["first_sweep_native"], native),
        ("first sweep (deploy + sweep), token", results["first_sweep_token"], token),
        ("later sweep, native", results["later_sweep_native"], native),
        ("later sweep, token", results["later_sweep_token"], token),
        (f"{batch}, native", results["batch_sweep_native_per_payment"], native),
        (f"{batch}, token", results["batch_sweep_token_per_payment"], token),
    ]
    return "\n".join(
        [
            *_table("case", payments),
            f"first payment of each 256-session word: +{results['fresh_session_slot_extra']} gas",
            "",
            *_table(f"deposit addresses ({DEPOSIT_FEE_BPS / 100:g}% fee)", deposits),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=5, help="payments per case (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = asyncio.run(measure(args.payments))
    print(json.dumps(results, indent=2, sort_keys=True) if args.json else report(results))


if __name__ == "__main__":
    main()
