"""`kassa doctor` on a devnet, as an operator runs it (`python -m app.cli doctor --json` in a
fresh process): every check passes; a wrong contract address, an unauthorised signer, a dead
RPC, a wrong deposit factory and an unfunded sweeper each fail their own check with exit
status 2. `GET /v1/networks` and `kassa networks list` show the same network checks."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from app.models import Heartbeat
from app.networks import Registry
from app.states import utcnow
from app.watcher import ChainWatcher
from app.webhooks.worker import HEARTBEAT
from tests.chain import DEVNET, DevChain
from tests.conftest import free_port
from tests.core.test_doctor import doctor_report, kassa_cli
from tests.networks.conftest import Api, RegistryFactory

pytestmark = pytest.mark.chain

SECRET_KEY = "test-operator-secret-key-0123456789abcdef"
NETWORK_CHECKS = [
    "rpc #1",
    "payment contract",
    "intent signer",
    "deposit factory",
    "sweeper gas",
    "watcher",
]


def network_config(chain: DevChain, **overrides: Any) -> dict[str, Any]:
    """The devnet with deposit addresses, as an operator configures it."""
    return {
        "rpc_urls": [chain.node.rpc_url],
        "contract_address": chain.contract_address,
        "signer_key": chain.signer_key,
        "deposit_factory": chain.deposit_factory,
        "sweeper_key": chain.sweeper_key,
        **overrides,
    }


def kassa(
    database_url: str, cwd: Path, config: dict[str, Any], *args: str
) -> subprocess.CompletedProcess[str]:
    return kassa_cli(
        cwd,
        *args,
        KASSA_DATABASE_URL=database_url,
        KASSA_SECRET_KEY=SECRET_KEY,
        KASSA_NETWORKS=json.dumps({DEVNET: config}),
    )


def doctor(database_url: str, cwd: Path, config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = kassa(database_url, cwd, config, "doctor", "--json")
    report, _ = doctor_report(result)
    return result.returncode, report


@pytest.fixture
async def delivery_worker_alive(registry: Registry) -> AsyncIterator[None]:
    """What a running delivery worker leaves (the tests share one outbox with others)."""
    await Heartbeat.update_or_create({"beat_at": utcnow(), "process": "test:1"}, name=HEARTBEAT)
    yield
    await Heartbeat.filter(name=HEARTBEAT).delete()


async def test_every_check_passes_on_a_devnet(
    chain: DevChain,
    database_url: str,
    tmp_path: Path,
    watcher: ChainWatcher,
    delivery_worker_alive: None,
) -> None:
    await chain.mine(3)
    await watcher.poll_once()  # the watcher scanned to the head
    status, report = doctor(database_url, tmp_path, network_config(chain))
    assert status == 0, report
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == [
        "database",
        "migrations",
        "secret key",
        "networks",
        *(f"{DEVNET}: {name}" for name in NETWORK_CHECKS),
        "webhook workers",
    ]
    assert "KassaCheckout at" in checks[f"{DEVNET}: payment contract"]["detail"]
    signer = Account.from_key(chain.signer_key).address
    assert signer in checks[f"{DEVNET}: intent signer"]["detail"]
    assert "0 blocks (0 s) behind" in checks[f"{DEVNET}: watcher"]["detail"]
    assert "gas for 20 sweeps" in checks[f"{DEVNET}: sweeper gas"]["detail"]


def _fresh_key() -> str:
    return "0x" + bytes(Account.create().key).hex()


FAULTS: dict[str, tuple[Any, set[str], str]] = {
    # fault: (settings override from the chain, the checks that fail, what the first says)
    "contract is another contract": (
        lambda chain: {"contract_address": chain.token_address("usdc")},
        {"payment contract", "intent signer"},
        "holds other code than this version's KassaCheckout",
    ),
    "no contract at the address": (
        lambda chain: {"contract_address": chain.merchant},
        {"payment contract", "intent signer"},
        "no contract at",
    ),
    "unauthorised signer": (
        lambda chain: {"signer_key": _fresh_key()},
        {"intent signer"},
        "is not a signer of",
    ),
    "dead RPC": (
        lambda chain: {"rpc_urls": [f"http://op:hunter2@127.0.0.1:{free_port()}/k3y"]},
        {"rpc #1", "payment contract", "intent signer", "deposit factory", "sweeper gas"},
        "rpc_urls[0] does not answer",
    ),
    "dead RPC before a live one": (
        lambda chain: {
            "rpc_urls": [f"http://op:hunter2@127.0.0.1:{free_port()}/k3y", chain.node.rpc_url]
        },
        {"rpc #1"},
        "rpc_urls[0] does not answer",
    ),
    "deposit factory is another contract": (
        lambda chain: {"deposit_factory": chain.contract_address},
        {"deposit factory"},
        "holds other code than this version's KassaDepositFactory",
    ),
    "sweeper without gas": (
        lambda chain: {"sweeper_key": _fresh_key()},
        {"sweeper gas"},
        "holds 0 ETH",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_each_fault_fails_its_own_check(
    fault: str,
    chain: DevChain,
    database_url: str,
    tmp_path: Path,
    delivery_worker_alive: None,
) -> None:
    override, failing, says = FAULTS[fault]
    status, report = doctor(database_url, tmp_path, network_config(chain, **override(chain)))
    assert status == 2
    failed = {c["name"] for c in report["checks"] if not c["ok"]}
    assert failed == {f"{DEVNET}: {name}" for name in failing}
    first = next(c for c in report["checks"] if not c["ok"])
    assert says in first["detail"]
    assert "hunter2" not in json.dumps(report) and "k3y" not in json.dumps(report)


async def test_the_api_and_networks_list_show_the_same_checks(
    make_registry: RegistryFactory, api: Api, chain: DevChain, database_url: str, tmp_path: Path
) -> None:
    make_registry(deposit_factory=chain.deposit_factory, sweeper_key=chain.sweeper_key)
    [network] = (await api.get("/v1/networks"))["data"]
    assert [c["name"] for c in network["health"]] == NETWORK_CHECKS
    assert all(c["ok"] for c in network["health"]), network["health"]

    result = kassa(database_url, tmp_path, network_config(chain), "networks", "list", "--json")
    assert result.returncode == 0, result.stderr
    [listed] = json.loads(result.stdout)["networks"]
    assert [(c["name"], c["ok"]) for c in listed["health"]] == [
        (c["name"], c["ok"]) for c in network["health"]
    ]
    dead = network_config(chain, signer_key=_fresh_key())
    text = kassa(database_url, tmp_path, dead, "networks", "list").stdout
    assert "failing: intent signer" in text
