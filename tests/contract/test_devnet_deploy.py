"""plugins.evm.devnet.deploy: the deposit factory is deployed and recorded with the rest."""

from __future__ import annotations

import json
from pathlib import Path

from plugins.evm.devnet import deploy
from tests.contract.deposit_helpers import code_of
from tests.contract.harness import Kassa


async def test_deploy_records_the_deposit_factory_and_reuses_it(
    kassa: Kassa, tmp_path: Path
) -> None:
    record = tmp_path / "deployment.json"
    first = await deploy(kassa.w3, kassa.node, record)
    assert await code_of(kassa, first.deposit_factory)
    assert json.loads(record.read_text())["deposit_factory"] == first.deposit_factory
    assert await deploy(kassa.w3, kassa.node, record) == first


async def test_a_record_without_the_deposit_factory_counts_as_reset(
    kassa: Kassa, tmp_path: Path
) -> None:
    record = tmp_path / "deployment.json"
    first = await deploy(kassa.w3, kassa.node, record)
    old = json.loads(record.read_text())
    del old["deposit_factory"]
    record.write_text(json.dumps(old))

    again = await deploy(kassa.w3, kassa.node, record)

    assert again.contract != first.contract  # everything deployed anew
    assert await code_of(kassa, again.deposit_factory)
    assert json.loads(record.read_text())["deposit_factory"] == again.deposit_factory
