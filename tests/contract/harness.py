"""Test harness for the payment contract: roles, deployment and payment helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import to_checksum_address
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError

from plugins.evm.anvil import AnvilNode, AnvilNotFound
from plugins.evm.contract import (
    NATIVE_TOKEN,
    PaymentIntent,
    decode_contract_error,
    deploy_artifact,
    deploy_checkout_contract,
    encode_pay_call,
    load_artifact,
    revert_data,
    session_ref,
    sign_intent,
)
from plugins.evm.deposits import deploy_deposit_factory

# Gas for transactions expected to revert: sent with a fixed limit so web3 does not estimate
# (estimation would raise before anything reaches the chain).
REVERT_GAS = 1_000_000
TOKEN_SUPPLY = 10**30


def start_anvil(chain_id: int = 31337) -> AnvilNode:
    try:
        return AnvilNode(chain_id=chain_id).start()
    except AnvilNotFound as exc:
        pytest.skip(f"{exc}; the test command runs `npm ci` first, so this only happens outside it")


def contract_at(w3: AsyncWeb3[Any], address: str, artifact: str = "KassaCheckout") -> Any:
    """A web3 contract object for a committed artifact at `address`."""
    abi = load_artifact(artifact)["abi"]
    return w3.eth.contract(address=to_checksum_address(address), abi=abi)


async def rpc(w3: AsyncWeb3[Any], method: str, *params: Any) -> Any:
    response = await w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in response:
        raise RuntimeError(f"{method}: {response['error']}")
    return response["result"]


@dataclass
class Roles:
    """Anvil's funded dev accounts, one per role (keys are the public anvil test keys)."""

    owner_key: str
    signer_key: str
    keys: list[str]
    owner: str
    signer: str
    payer: str
    merchant: str
    fee_recipient: str
    stranger: str
    other: str

    @classmethod
    def from_node(cls, node: AnvilNode) -> Roles:
        a = node.addresses
        return cls(
            owner_key=node.private_keys[0],
            signer_key=node.private_keys[1],
            keys=node.private_keys,
            owner=a[0],
            signer=a[1],
            payer=a[2],
            merchant=a[3],
            fee_recipient=a[4],
            stranger=a[5],
            other=a[6],
        )


@dataclass
class Kassa:
    """The deployed contracts plus helpers to build, sign and send payments."""

    w3: AsyncWeb3[Any]
    node: AnvilNode
    roles: Roles
    address: str
    checkout: Any
    tokens: dict[str, Any]
    rejecting_recipient: str
    factory: Any  # KassaDepositFactory (tests/contract/deposit_helpers.py)
    next_session: int = 1

    @property
    def chain_id(self) -> int:
        return self.node.chain_id

    def token(self, name: str) -> Any:
        return self.tokens[name]

    def contract(self, artifact: str, address: str) -> Any:
        return contract_at(self.w3, address, artifact)

    async def now(self) -> int:
        return int((await self.w3.eth.get_block("latest"))["timestamp"])

    async def intent(
        self,
        token: str = NATIVE_TOKEN,
        amount: int = 10**18,
        fee: int = 0,
        recipient: str | None = None,
        session: int | None = None,
        payment_ref: bytes | None = None,
        deadline: int | None = None,
    ) -> PaymentIntent:
        if session is None:
            session, self.next_session = self.next_session, self.next_session + 1
        return PaymentIntent(
            session_ref=session_ref(session),
            payment_ref=payment_ref or (session + 10**6).to_bytes(32, "big"),
            token=token,
            amount=amount,
            recipient=recipient or self.roles.merchant,
            fee=fee,
            deadline=deadline if deadline is not None else await self.now() + 600,
        )

    def sign(self, intent: PaymentIntent, key: str | None = None) -> bytes:
        return sign_intent(intent, self.chain_id, self.address, key or self.roles.signer_key)

    def pay_tx(
        self,
        intent: PaymentIntent,
        payer: str,
        signature: bytes | None = None,
        value: int | None = None,
    ) -> dict[str, Any]:
        tx: dict[str, Any] = dict(
            encode_pay_call(
                intent, self.sign(intent) if signature is None else signature, self.address
            )
        )
        if value is not None:
            tx["value"] = value
        return {**tx, "from": payer}

    async def send(self, tx: dict[str, Any]) -> Any:
        tx_hash = await self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        return await self.w3.eth.wait_for_transaction_receipt(tx_hash)

    async def transact(self, call: Any, sender: str) -> Any:
        """Send a contract function call and require success."""
        receipt = await self.send(await call.build_transaction({"from": sender}))
        assert receipt["status"] == 1
        return receipt

    async def pay(
        self,
        intent: PaymentIntent,
        payer: str | None = None,
        signature: bytes | None = None,
        value: int | None = None,
    ) -> Any:
        receipt = await self.send(self.pay_tx(intent, payer or self.roles.payer, signature, value))
        assert receipt["status"] == 1
        return receipt

    async def revert_reason(self, tx: dict[str, Any]) -> str:
        """Decoded custom error of `tx`; also checks that the mined transaction reverts."""
        try:
            await self.w3.eth.call(tx)  # type: ignore[arg-type]
        except ContractLogicError as exc:
            data = revert_data(exc)
            reason = decode_contract_error(data if data is not None else b"")
        else:
            raise AssertionError("expected the call to revert")
        receipt = await self.send({**tx, "gas": REVERT_GAS})
        assert receipt["status"] == 0, "the mined transaction did not revert"
        return reason

    async def call_error(self, call: Any, sender: str) -> str:
        """Revert reason of a contract function call sent by `sender`."""
        tx = await call.build_transaction({"from": sender, "gas": REVERT_GAS})
        return await self.revert_reason(tx)

    async def pay_error(
        self,
        intent: PaymentIntent,
        payer: str | None = None,
        signature: bytes | None = None,
        value: int | None = None,
    ) -> str:
        return await self.revert_reason(
            self.pay_tx(intent, payer or self.roles.payer, signature, value)
        )

    async def balance(self, token: str, account: str) -> int:
        if token == NATIVE_TOKEN:
            return int(await self.w3.eth.get_balance(account))  # type: ignore[arg-type]
        erc20 = contract_at(self.w3, token, "TestERC20")
        return int(await erc20.functions.balanceOf(account).call())

    async def fund_tokens(self, token: Any, payer: str, amount: int) -> None:
        """Mint `amount` to `payer` and approve the checkout contract for it."""
        await self.transact(token.functions.mint(payer, amount), payer)
        await self.transact(token.functions.approve(self.address, amount), payer)


def error_name(reason: str) -> str:
    return reason.split("(", 1)[0]


async def deploy_kassa(w3: AsyncWeb3[Any], node: AnvilNode) -> Kassa:
    roles = Roles.from_node(node)
    # The checkout is the owner's first transaction, so its address is the same on every fresh
    # anvil (the cross-chain replay test relies on that).
    address = await deploy_checkout_contract(
        w3, roles.owner_key, roles.owner, [roles.signer], roles.fee_recipient
    )
    tokens: dict[str, Any] = {}
    for name, artifact in (
        ("usdc", "TestUSDC"),
        ("usdt", "TestUSDT"),
        ("fot", "FeeOnTransferToken"),
        ("reentrant", "ReentrantToken"),
    ):
        token_address = await deploy_artifact(w3, roles.owner_key, artifact)
        tokens[name] = contract_at(w3, token_address, artifact)
    rejecting = await deploy_artifact(w3, roles.owner_key, "RejectingRecipient")
    factory = await deploy_deposit_factory(w3, roles.owner_key)
    kassa = Kassa(
        w3=w3,
        node=node,
        roles=roles,
        address=address,
        checkout=contract_at(w3, address),
        tokens=tokens,
        rejecting_recipient=rejecting,
        factory=contract_at(w3, factory, "KassaDepositFactory"),
    )
    # Merchant and fee recipient already hold each token, as real payout addresses usually do.
    for token in tokens.values():
        for holder in (roles.merchant, roles.fee_recipient):
            await kassa.transact(token.functions.mint(holder, 1), holder)
    return kassa
