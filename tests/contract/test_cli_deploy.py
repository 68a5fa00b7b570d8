"""`kassa contracts deploy` deploys with the key from the environment and prints the addresses
of the payment contract and the deposit factory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import AsyncWeb3

from plugins.evm.anvil import AnvilNode
from tests.contract.harness import contract_at


def _deploy(
    anvil: AnvilNode, tmp_path: Path, key: str | None, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env["KASSA_CONFIG_FILE"] = str(tmp_path / "none.toml")
    if key is not None:
        env["KASSA_DEPLOYER_KEY"] = key
    owner = Account.from_key(anvil.private_keys[0]).address
    signer = Account.from_key(anvil.private_keys[1]).address
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "contracts",
            "deploy",
            "--rpc-url",
            anvil.rpc_url,
            "--owner",
            owner,
            "--signer",
            signer,
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_deploy_prints_address_json(
    anvil: AnvilNode, w3: AsyncWeb3[Any], tmp_path: Path
) -> None:
    key = anvil.private_keys[5]
    fee_recipient = Account.from_key(anvil.private_keys[6]).address
    done = _deploy(anvil, tmp_path, key, "--fee-recipient", fee_recipient, "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    address = printed["address"]
    assert await w3.eth.get_code(address)
    # The deposit-address factory comes with it (it has no owner: nothing to configure).
    factory = contract_at(w3, printed["deposit_factory"], "KassaDepositFactory")
    assert await w3.eth.get_code(factory.address)
    assert await w3.eth.get_code(await factory.functions.forwarderImplementation().call())
    checkout = contract_at(w3, address)
    assert (
        await checkout.functions.owner().call() == Account.from_key(anvil.private_keys[0]).address
    )
    signer = Account.from_key(anvil.private_keys[1]).address
    assert await checkout.functions.isSigner(signer).call() is True
    assert key.removeprefix("0x") not in done.stdout + done.stderr


def test_deploy_without_key_is_a_clear_error(anvil: AnvilNode, tmp_path: Path) -> None:
    done = _deploy(anvil, tmp_path, None)
    assert done.returncode == 2
    assert "KASSA_DEPLOYER_KEY" in done.stderr and "Traceback" not in done.stderr
