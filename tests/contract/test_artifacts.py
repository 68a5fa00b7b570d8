"""Committed artifacts: reproducible from source, complete, and matching the Python helpers."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_utils import keccak

from plugins.evm.contract import (
    CHECKOUT_CONTRACT,
    PAY_SELECTOR,
    PAYMENT_RECEIVED_TOPIC,
    _abi_type,
    artifacts_dir,
    checkout_abi,
    is_runtime_code_of,
    load_artifact,
)
from plugins.evm.deposits import (
    DEPOSIT_DEPLOYED_TOPIC,
    DEPOSIT_FACTORY_CONTRACT,
    DEPOSIT_FORWARDER_CONTRACT,
    SWEEP_MANY_SELECTOR,
    SWEEP_SELECTOR,
    SWEPT_TOPIC,
    deposit_factory_abi,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = (CHECKOUT_CONTRACT, DEPOSIT_FACTORY_CONTRACT, DEPOSIT_FORWARDER_CONTRACT)
TEST_CONTRACTS = (
    "TestERC20",
    "TestUSDC",
    "TestUSDT",
    "FeeOnTransferToken",
    "ReentrantToken",
    "RejectingRecipient",
)


def test_build_check_reproduces_the_committed_artifacts_byte_for_byte() -> None:
    node = shutil.which("node")
    if node is None or not (REPO_ROOT / "node_modules" / "solc").is_dir():
        pytest.skip(
            "node or node_modules/solc missing; the test command runs `npm ci` first, "
            "so this only happens outside it"
        )
    result = subprocess.run(
        [node, "contracts/build.mjs", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "byte-identical" in result.stdout


def test_artifacts_location() -> None:
    # The code loads the committed files (installed as a data package; in the suite's editable
    # install that is the repository's folder), which the build check above rebuilds.
    assert artifacts_dir() == REPO_ROOT / "contracts" / "artifacts"
    for name in CONTRACTS:
        assert (artifacts_dir() / f"{name}.json").is_file()
    for name in TEST_CONTRACTS:
        assert (artifacts_dir() / "test" / f"{name}.json").is_file()
    with pytest.raises(FileNotFoundError):
        load_artifact("NoSuchContract")


@pytest.mark.parametrize("name", (*CONTRACTS, *TEST_CONTRACTS))
def test_artifact_records_compiler_settings_and_source_hashes(name: str) -> None:
    artifact = load_artifact(name)
    assert artifact["contractName"] == name
    assert artifact["compiler"]["version"].startswith("0.8.37+")
    assert artifact["settings"]["evmVersion"] == "cancun"
    assert artifact["settings"]["optimizer"]["enabled"] is True
    assert artifact["bytecode"].startswith("0x6")
    assert len(artifact["deployedBytecode"]) > 2
    source = REPO_ROOT / artifact["sourceName"]
    assert artifact["sourceHash"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert artifact["sources"][artifact["sourceName"]] == artifact["sourceHash"]


def test_checkout_has_no_receive_or_fallback_and_pins_the_pragma() -> None:
    # No "receive" or "fallback" entry: plain coin transfers to the contract revert.
    assert {e["type"] for e in checkout_abi()} == {"constructor", "function", "event", "error"}
    source = (REPO_ROOT / "contracts" / "KassaCheckout.sol").read_text()
    assert "pragma solidity 0.8.37;" in source


def test_paused_flag_and_fee_recipient_share_one_storage_slot() -> None:
    # A payment with a fee reads both for one cold SLOAD; see the NatSpec storage note.
    layout = {item["label"]: item for item in load_artifact(CHECKOUT_CONTRACT)["storageLayout"]}
    assert layout["_paused"]["slot"] == layout["feeRecipient"]["slot"]


def test_pay_selector_and_event_topic_match_the_abi() -> None:
    abi = checkout_abi()
    [pay] = [e for e in abi if e.get("name") == "pay"]
    components = ",".join(c["type"] for c in pay["inputs"][0]["components"])
    assert keccak(text=f"pay(({components}),bytes)")[:4] == PAY_SELECTOR
    assert pay["stateMutability"] == "payable"
    assert pay["inputs"][0]["internalType"] == "struct KassaCheckout.PaymentIntent"
    [event] = [e for e in abi if e.get("name") == "PaymentReceived"]
    signature = "PaymentReceived(" + ",".join(i["type"] for i in event["inputs"]) + ")"
    assert "0x" + keccak(text=signature).hex() == PAYMENT_RECEIVED_TOPIC
    assert [i["name"] for i in event["inputs"] if i["indexed"]] == [
        "sessionRef",
        "paymentRef",
        "payer",
    ]


def _signature(entry: dict) -> str:
    return f"{entry['name']}({','.join(_abi_type(p) for p in entry['inputs'])})"


def test_deposit_factory_interface_matches_the_python_helpers() -> None:
    abi = {entry.get("name"): entry for entry in deposit_factory_abi()}
    assert keccak(text=_signature(abi["sweep"]))[:4] == SWEEP_SELECTOR
    assert keccak(text=_signature(abi["sweepMany"]))[:4] == SWEEP_MANY_SELECTOR
    assert [p["name"] for p in abi["sweep"]["inputs"]] == [
        "payout",
        "feeRecipient",
        "feeBasisPoints",
        "paymentRef",
        "tokens",
    ]
    assert [p["name"] for p in abi["depositAddress"]["inputs"]] == [
        "payout",
        "feeRecipient",
        "feeBasisPoints",
        "paymentRef",
    ]
    assert abi["sweepMany"]["inputs"][0]["internalType"] == "struct KassaDepositFactory.Deposit[]"
    assert "0x" + keccak(text=_signature(abi["Swept"])).hex() == SWEPT_TOPIC
    assert "0x" + keccak(text=_signature(abi["DepositDeployed"])).hex() == DEPOSIT_DEPLOYED_TOPIC
    assert [i["name"] for i in abi["Swept"]["inputs"] if i["indexed"]] == [
        "deposit",
        "paymentRef",
        "token",
    ]
    # No receive or fallback: coins sent to the factory itself bounce.
    assert {e["type"] for e in deposit_factory_abi()} == {
        "constructor",
        "function",
        "event",
        "error",
    }
    source = (REPO_ROOT / "contracts" / "KassaDepositFactory.sol").read_text()
    assert "pragma solidity 0.8.37;" in source


def test_runtime_code_comparison_masks_only_the_immutables() -> None:
    """`kassa doctor` compares deployed code with the artifact: the constructor's immutables
    may differ, any other byte may not."""
    artifact = load_artifact(CHECKOUT_CONTRACT)
    code = bytearray(bytes.fromhex(artifact["deployedBytecode"][2:]))
    spans = [s for ranges in artifact["immutableReferences"].values() for s in ranges]
    assert spans, "the EIP-712 domain cache is immutable"
    assert is_runtime_code_of(CHECKOUT_CONTRACT, bytes(code))
    deployed = bytearray(code)
    for span in spans:
        deployed[span["start"] : span["start"] + span["length"]] = b"\x5a" * span["length"]
    assert is_runtime_code_of(CHECKOUT_CONTRACT, bytes(deployed))
    masked = {i for s in spans for i in range(s["start"], s["start"] + s["length"])}
    outside = next(i for i in range(len(code)) if i not in masked and i > 100)
    deployed[outside] ^= 0xFF
    assert not is_runtime_code_of(CHECKOUT_CONTRACT, bytes(deployed))
    assert not is_runtime_code_of(CHECKOUT_CONTRACT, bytes(code) + b"\x00")
    assert not is_runtime_code_of(DEPOSIT_FACTORY_CONTRACT, bytes(code))
