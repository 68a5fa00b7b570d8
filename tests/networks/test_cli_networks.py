"""Operator CLI for networks: payout addresses checked by the plugin, status, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.models import ChainCursor, Merchant
from tests.chain import DEVNET, DevChain

pytestmark = pytest.mark.chain


def kassa(
    database_url: str, cwd: Path, chain: DevChain, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env.update(
        KASSA_DATABASE_URL=database_url,
        KASSA_CONFIG_FILE=str(cwd / "none.toml"),
        KASSA_NETWORKS__DEVNET__RPC_URLS=json.dumps([chain.node.rpc_url]),
        KASSA_NETWORKS__DEVNET__CONTRACT_ADDRESS=chain.contract_address,
        KASSA_NETWORKS__DEVNET__SIGNER_KEY=chain.signer_key,
    )
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


async def test_networks_cli(app, chain: DevChain, database_url: str, tmp_path: Path) -> None:
    lower = chain.merchant.lower()
    out = kassa(database_url, tmp_path, chain, "merchants", "create", "--name", "N",
                "--payout", f"{DEVNET}={lower}", "--json")  # fmt: skip
    merchant = await Merchant.get(id=json.loads(out.stdout)["id"])
    assert merchant.payout_addresses == {DEVNET: chain.merchant}  # checksummed by the plugin
    bad = kassa(database_url, tmp_path, chain, "merchants", "create", "--name", "N",
                "--payout", f"{DEVNET}=0x1234", check=False)  # fmt: skip
    assert bad.returncode == 2 and "not an address" in bad.stderr
    assert chain.signer_key not in bad.stderr + bad.stdout

    await ChainCursor.filter(network=DEVNET).delete()
    await ChainCursor.create(
        network=DEVNET, block_number=1, block_hash="0x01", halted=True, halt_reason="deep reorg"
    )
    listed = json.loads(kassa(database_url, tmp_path, chain, "networks", "list", "--json").stdout)
    [devnet] = listed["networks"]
    assert devnet["id"] == DEVNET and devnet["halted"] and devnet["halt_reason"] == "deep reorg"
    kassa(database_url, tmp_path, chain, "networks", "resume", DEVNET)
    assert not (await ChainCursor.get(network=DEVNET)).halted
    again = kassa(database_url, tmp_path, chain, "networks", "resume", DEVNET, check=False)
    assert again.returncode == 2
    await ChainCursor.filter(network=DEVNET).delete()
