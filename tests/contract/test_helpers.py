"""plugins.evm.contract: intents, signing, call encoding, event and error decoding, deploy."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak

from plugins.evm.contract import (
    NATIVE_TOKEN,
    ContractDeploymentError,
    DeployerKeyMissing,
    PaymentIntent,
    checkout_abi,
    contract_error_name,
    decode_contract_error,
    decode_payment_received,
    deploy_from_cli,
    encode_pay_call,
    intent_digest,
    intent_typed_data,
    revert_data,
    session_ref,
    sign_intent,
)
from tests.contract.harness import Kassa, contract_at

SIGNER = Account.from_key("0x" + "11" * 32)
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MERCHANT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def make_intent(**changes: object) -> PaymentIntent:
    intent = PaymentIntent(
        session_ref=session_ref(7),
        payment_ref=b"\x01" * 32,
        token=NATIVE_TOKEN,
        amount=10**18,
        recipient=MERCHANT,
        fee=10**15,
        deadline=1_900_000_000,
    )
    return replace(intent, **changes)  # type: ignore[arg-type]


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


@pytest.mark.parametrize(
    "changes",
    [
        {"session_ref": b"\x00" * 31},
        {"payment_ref": "00" * 32},
        {"token": MERCHANT.lower()},
        {"recipient": "not an address"},
        {"amount": -1},
        {"fee": 2**256},
        {"deadline": True},
    ],
)
def test_payment_intent_validates_its_fields(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_intent(**changes)


def test_session_ref_is_the_big_endian_nonce_index() -> None:
    assert session_ref(0) == bytes(32)
    assert session_ref(257) == bytes(30) + b"\x01\x01"
    with pytest.raises(ValueError):
        session_ref(-1)


def test_sign_intent_recovers_to_the_signer() -> None:
    intent = make_intent()
    signature = sign_intent(intent, 31337, CONTRACT, SIGNER.key)
    assert len(signature) == 65
    digest = intent_digest(intent, 31337, CONTRACT)
    assert Account._recover_hash(digest, signature=signature) == SIGNER.address
    # The domain binds the chain id and the contract: change either, the digest changes.
    assert intent_digest(intent, 31338, CONTRACT) != digest
    assert intent_digest(intent, 31337, MERCHANT) != digest
    typed = intent_typed_data(intent, 31337, CONTRACT)
    assert typed["domain"] == {
        "name": "KassaCheckout",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": CONTRACT,
    }


async def test_intent_digest_matches_the_contract(kassa: Kassa) -> None:
    intent = await kassa.intent(amount=123, fee=4)
    on_chain = await kassa.checkout.functions.hashIntent(intent.as_abi_tuple()).call()
    assert on_chain == intent_digest(intent, kassa.chain_id, kassa.address)


def test_encode_pay_call() -> None:
    intent = make_intent()
    signature = sign_intent(intent, 1, CONTRACT, SIGNER.key)
    tx = encode_pay_call(intent, signature, CONTRACT.lower())
    assert tx["to"] == CONTRACT
    assert tx["value"] == intent.amount + intent.fee
    data = bytes.fromhex(tx["data"].removeprefix("0x"))
    assert data[:4] == selector(
        "pay((bytes32,bytes32,address,uint256,address,uint256,uint256),bytes)"
    )
    # Struct as calldata: 7 static words, then the offset, length and padded signature.
    assert len(data) == 4 + 7 * 32 + 32 + 32 + 96
    token_intent = make_intent(token=MERCHANT)
    assert encode_pay_call(token_intent, signature, CONTRACT)["value"] == 0


def test_decode_payment_received_rejects_other_logs() -> None:
    log = {
        "topics": [keccak(text="Transfer(address,address,uint256)")],
        "data": b"",
        "address": CONTRACT,
    }
    with pytest.raises(ValueError):
        decode_payment_received(log)


def test_decode_contract_error_formats_known_errors() -> None:
    custom = selector("IncorrectNativeValue(uint256,uint256,uint256)") + abi_encode(
        ["uint256", "uint256", "uint256"], [10, 2, 11]
    )
    assert decode_contract_error(custom) == "IncorrectNativeValue(amount=10, fee=2, value=11)"
    assert decode_contract_error("0x" + custom.hex()) == decode_contract_error(custom)
    assert contract_error_name(custom) == "IncorrectNativeValue"

    signer = selector("UnauthorizedSigner(address)") + abi_encode(["address"], [MERCHANT])
    assert decode_contract_error(signer) == f"UnauthorizedSigner(recovered={MERCHANT})"

    paid = selector("SessionAlreadyPaid(bytes32)") + session_ref(5)
    assert decode_contract_error(paid) == "SessionAlreadyPaid(sessionRef=0x" + "00" * 31 + "05)"

    text = selector("Error(string)") + abi_encode(["string"], ["nope"])
    assert decode_contract_error(text) == "Error(reason='nope')"
    panic = selector("Panic(uint256)") + abi_encode(["uint256"], [0x11])
    assert decode_contract_error(panic) == "Panic(code=0x11)"
    assert decode_contract_error(b"") == "EmptyRevert()"
    assert decode_contract_error("0xdeadbeef") == "UnknownError(0xdeadbeef)"
    truncated = selector("SessionAlreadyPaid(bytes32)") + b"\x01"
    assert contract_error_name(truncated) == "SessionAlreadyPaid"


def test_every_custom_error_of_the_abi_is_decodable() -> None:
    for entry in checkout_abi():
        if entry["type"] != "error":
            continue
        types = [param["type"] for param in entry["inputs"]]
        data = selector(f"{entry['name']}({','.join(types)})") + bytes(32 * len(types))
        assert contract_error_name(data) == entry["name"]


def test_revert_data_reads_web3_error_shapes() -> None:
    class Raised(Exception):
        def __init__(self, data: object) -> None:
            self.data = data

    assert revert_data(Raised("0x1234")) == b"\x12\x34"
    assert revert_data(Raised({"data": "0xab"})) == b"\xab"
    assert revert_data(Raised(None)) is None


async def test_deploy_from_cli_requires_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KASSA_DEPLOYER_KEY", raising=False)
    with pytest.raises(DeployerKeyMissing, match="KASSA_DEPLOYER_KEY"):
        await deploy_from_cli("http://127.0.0.1:1", MERCHANT, [MERCHANT], None)


async def test_deploy_from_cli_never_shows_the_key(
    monkeypatch: pytest.MonkeyPatch, kassa: Kassa
) -> None:
    bad_key = "0x" + "zz" * 32
    monkeypatch.setenv("KASSA_DEPLOYER_KEY", bad_key)
    with pytest.raises(ContractDeploymentError) as raised:
        await deploy_from_cli(kassa.node.rpc_url, MERCHANT, [MERCHANT], None)
    assert "zz" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_deploy_from_cli_deploys(
    monkeypatch: pytest.MonkeyPatch, kassa: Kassa, caplog: pytest.LogCaptureFixture
) -> None:
    r = kassa.roles
    monkeypatch.setenv("KASSA_DEPLOYER_KEY", r.keys[7])
    with caplog.at_level(logging.DEBUG):
        address = await deploy_from_cli(kassa.node.rpc_url, r.owner, [r.signer, r.other], None)
    assert r.keys[7].removeprefix("0x") not in caplog.text
    contract = contract_at(kassa.w3, address)
    assert await contract.functions.owner().call() == r.owner
    assert await contract.functions.isSigner(r.other).call()
    assert await contract.functions.feeRecipient().call() == NATIVE_TOKEN
