"""`kassa dev`: a complete local gateway on a fresh machine, in one command.

Starts anvil on 127.0.0.1, deploys the payment contract and two test stablecoins, enables
the `devnet` network through the same settings an operator would write (set in-process),
creates a demo merchant and a test key, and serves the API, the checkout and the background
loops on SQLite (`kassa.db` in the working directory). Ctrl-C stops everything it started.

State that must survive a restart (the chain, the deployment, the operator secret) lives in
`.kassa/` next to `kassa.db`, so a second `kassa dev` continues where the first stopped.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import AsyncHTTPProvider, AsyncWeb3

from app.config import NetworkSettings, Settings, TokenSettings, load_settings

log = logging.getLogger("kassa.dev")

REPO_ROOT = Path(__file__).resolve().parent.parent
NPM_ANVIL = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
DEVNET_KEY = "devnet"
DEVNET_CHAIN_ID = 31337
STATE_DIR = ".kassa"
DEMO_MERCHANT = "Kassa Demo Shop"
# Devnet coins have no market: fixed, round prices keep amounts readable (USD and EUR, the
# currencies the README's examples use; USD stablecoins are pegged by the erc20 plugin).
DEVNET_RATES = {"ETH/USD": "2000", "ETH/EUR": "1850", "USDC/EUR": "0.925", "USDT/EUR": "0.925"}
# The test tokens are deployed as USDC/USDT look-alikes, pegged 1:1 like the real ones.
DEVNET_TOKENS = (("USDC", "TestUSDC"), ("USDT", "TestUSDT"))
TEST_WALLET_FUNDS = 1_000_000 * 10**6  # one million of each 6-decimals test token

# Anvil's deterministic dev accounts, by role (index into its account list).
DEPLOYER, SIGNER, TEST_WALLET, MERCHANT = 0, 1, 2, 3

_LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")


class DevnetError(RuntimeError):
    """`kassa dev` cannot start; the message says what to do."""


# ----------------------------------------------------------------------------- anvil


def find_anvil() -> str:
    """The anvil pinned in node_modules (npm ci), else `anvil` on PATH."""
    if NPM_ANVIL.is_file() and os.access(NPM_ANVIL, os.X_OK):
        return str(NPM_ANVIL)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise DevnetError(f"anvil not found at {NPM_ANVIL} nor on PATH: run `npm ci` first")


def die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook: Linux sends the child SIGTERM when its parent dies, even by SIGKILL
    (where no Python cleanup runs); None where prctl is unavailable.

    libc is resolved here, in the parent: the hook runs between fork and exec. Linux sends the
    signal when the *thread* that started the child exits, so start children from a thread
    that outlives them (the main thread).
    """
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return hook


@dataclass
class Anvil:
    """One anvil process on 127.0.0.1 with an OS-chosen port, its chain kept in `state_dir`."""

    state_dir: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    private_keys: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Anvil:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.state_dir / "anvil.log"
        config_path = self.state_dir / "anvil-accounts.json"
        config_path.unlink(missing_ok=True)
        command = [
            find_anvil(),
            "--host", "127.0.0.1",
            "--port", "0",
            "--chain-id", str(DEVNET_CHAIN_ID),
            # Makes `safe`/`finalized` advance (latest-1, latest-2), as the watcher expects.
            "--slots-in-an-epoch", "1",
            "--config-out", str(config_path),
            # The chain survives restarts, like kassa.db does.
            "--state", str(self.state_dir / "anvil-state.json"),
        ]  # fmt: skip
        with open(log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(log_path.read_text(errors="replace"))
            if match and config_path.exists():
                self.port = int(match.group(1))
                accounts = json.loads(config_path.read_text())
                self.private_keys = tuple(accounts["private_keys"])
                self.addresses = tuple(
                    to_checksum_address(a) for a in accounts["available_accounts"]
                )
                return self
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                raise DevnetError(f"anvil exited with {self.process.returncode}:\n{tail}")
            time.sleep(0.05)
        self.stop()
        raise DevnetError(f"anvil did not start within {timeout:.0f}s (see {log_path})")

    def stop(self) -> None:
        """SIGTERM (anvil then writes its state file), SIGKILL after 10 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------- deployment


@dataclass(frozen=True)
class Deployment:
    contract: str
    tokens: dict[str, str]  # symbol -> address

    def to_json(self) -> dict[str, Any]:
        return {"contract": self.contract, "tokens": self.tokens}


def _read_json(path: Path) -> Any:
    """Small state files: reading them synchronously costs nothing worth a thread."""
    return json.loads(path.read_text()) if path.exists() else None


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2))


async def _has_code(w3: AsyncWeb3[Any], address: str) -> bool:
    return len(await w3.eth.get_code(to_checksum_address(address))) > 0


async def deploy(w3: AsyncWeb3[Any], anvil: Anvil, record: Path) -> Deployment:
    """The recorded deployment if the chain still has it, else a fresh one."""
    from app.contract import deploy_artifact, deploy_checkout_contract, load_artifact

    saved = _read_json(record)
    if saved is not None:
        addresses = [saved["contract"], *saved["tokens"].values()]
        if all([await _has_code(w3, address) for address in addresses]):
            return Deployment(saved["contract"], dict(saved["tokens"]))
        log.warning("the devnet chain was reset; deploying the contracts again")
    deployer_key = anvil.private_keys[DEPLOYER]
    contract = await deploy_checkout_contract(
        w3,
        deployer_key,
        owner=anvil.addresses[DEPLOYER],
        signers=[anvil.addresses[SIGNER]],
        fee_recipient=None,
    )
    tokens: dict[str, str] = {}
    for symbol, artifact in DEVNET_TOKENS:
        address = await deploy_artifact(w3, deployer_key, artifact)
        tokens[symbol] = address
        token = w3.eth.contract(
            address=to_checksum_address(address), abi=load_artifact(artifact)["abi"]
        )
        # Fund the test wallet; the merchant already holds a unit, like real payout addresses.
        funding = (
            (anvil.addresses[TEST_WALLET], TEST_WALLET_FUNDS),
            (anvil.addresses[MERCHANT], 1),
        )
        for holder, amount in funding:
            tx_hash = await token.functions.mint(holder, amount).transact(
                {"from": anvil.addresses[DEPLOYER]}
            )
            await w3.eth.wait_for_transaction_receipt(tx_hash)
    deployment = Deployment(contract, tokens)
    _write_json(record, deployment.to_json())
    return deployment


# ----------------------------------------------------------------------------- settings


def _operator_secret(state_dir: Path, settings: Settings) -> str:
    """The configured secret, else one generated once and kept in `.kassa/` (mode 0600)."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    path = state_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def dev_settings(
    base: Settings, anvil: Anvil, deployment: Deployment, host: str, port: int, state_dir: Path
) -> Settings:
    """The operator settings `kassa dev` stands for: devnet enabled, dev mode, SQLite."""
    devnet = NetworkSettings(
        rpc_urls=[anvil.rpc_url],  # type: ignore[list-item]
        contract_address=deployment.contract,
        signer_key=anvil.private_keys[SIGNER],  # type: ignore[arg-type]
        tokens=[
            TokenSettings(symbol=symbol, address=address, decimals=6, name=f"Test {symbol}")
            for symbol, address in deployment.tokens.items()
        ],
    )
    return load_settings(
        database_url="sqlite://kassa.db",
        host=host,
        port=port,
        public_url=f"http://{host}:{port}",
        secret_key=_operator_secret(state_dir, base),
        dev_mode=True,
        run_background_loops=True,
        webhooks_allow_private_targets=True,
        networks={**base.networks, DEVNET_KEY: devnet},
        fixed_rates={**DEVNET_RATES, **base.fixed_rates},
    )


async def demo_merchant(state_dir: Path, payout: str) -> tuple[str, str]:
    """(merchant id, a new test secret key): the demo merchant is created once, keys per run."""
    from app.keys import create_key
    from app.models import Merchant, new_id

    record = state_dir / "merchant.json"
    merchant = None
    saved = _read_json(record)
    if saved is not None:
        merchant = await Merchant.get_or_none(id=saved["id"])
    if merchant is None:
        merchant = await Merchant.create(
            id=new_id("mer"), name=DEMO_MERCHANT, payout_addresses={DEVNET_KEY: payout}
        )
        _write_json(record, {"id": merchant.id})
    elif merchant.payout_addresses.get(DEVNET_KEY) != payout:
        merchant.payout_addresses = {**merchant.payout_addresses, DEVNET_KEY: payout}
        await merchant.save(update_fields=["payout_addresses"])
    created = await create_key(merchant, livemode=False)
    return merchant.id, created.secret


# ----------------------------------------------------------------------------- running


def ready_report(
    settings: Settings, secret: str, anvil: Anvil, deployment: Deployment
) -> dict[str, Any]:
    return {
        "api_base": f"{settings.base_url}/v1",
        "secret_key": secret,
        "rpc_url": anvil.rpc_url,
        "chain_id": DEVNET_CHAIN_ID,
        "contract": deployment.contract,
        "tokens": deployment.tokens,
        "network": DEVNET_KEY,
        "test_wallet": anvil.addresses[TEST_WALLET],
    }


def ready_text(report: dict[str, Any]) -> str:
    api = report["api_base"]
    curl = (
        f"curl -s {api}/checkout/sessions \\\n"
        f"  -u {report['secret_key']}: \\\n"
        "  -d amount_fiat=25.00 -d currency=USD \\\n"
        "  -d 'allowed_networks[]=devnet' \\\n"
        "  -d 'allowed_crypto_currencies[]=ETH' -d 'allowed_crypto_currencies[]=USDC' "
        "-d 'allowed_crypto_currencies[]=USDT' \\\n"
        "  -d success_url=https://example.com/success -d cancel_url=https://example.com/cancel"
    )
    tokens = ", ".join(f"{symbol} {address}" for symbol, address in report["tokens"].items())
    return "\n".join(
        [
            "",
            "Kassa dev is running.",
            f"  API:          {api}   (OpenAPI: {api}/openapi.json)",
            f"  Test key:     {report['secret_key']}",
            f"  Devnet RPC:   {report['rpc_url']}  (chain id {report['chain_id']})",
            f"  Contract:     {report['contract']}",
            f"  Test tokens:  {tokens}",
            "",
            "Create a checkout session, then open its checkout_url in a browser:",
            "",
            curl,
            "",
            'Pay with a browser wallet on the devnet, or press "Pay with test wallet".',
            "Ctrl-C stops the server and the devnet.",
            "",
        ]
    )


def _check_port_free(host: str, port: int) -> None:
    """Fail before starting anything: otherwise another server would answer the readiness check."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            raise DevnetError(
                f"cannot listen on {host}:{port} ({error.strerror}); use --port"
            ) from None


async def _wait_until_listening(host: str, port: int) -> None:
    deadline = asyncio.get_running_loop().time() + 30.0
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise DevnetError(f"the server did not listen on {host}:{port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def run_dev(host: str | None, port: int | None, as_json: bool) -> None:
    """Everything `kassa dev` does, until SIGINT/SIGTERM."""
    from hypercorn.asyncio import serve as hypercorn_serve

    from app import create_app
    from app.checkout.devwallet import CONFIG_KEY, DevWallet
    from app.db import close_database, migrate, open_database
    from app.server import hypercorn_config, stop_on_signals

    base = load_settings()
    host = host or base.host
    port = port if port is not None else base.port
    _check_port_free(host, port)
    state_dir = Path.cwd() / STATE_DIR
    state_dir.mkdir(exist_ok=True)
    anvil = Anvil(state_dir)
    stop = stop_on_signals()
    await asyncio.to_thread(anvil.start)
    try:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil.rpc_url))
        try:
            deployment = await deploy(w3, anvil, state_dir / "deployment.json")
        finally:
            await w3.provider.disconnect()
        settings = dev_settings(base, anvil, deployment, host, port, state_dir)
        await migrate(settings.database_url)
        await open_database(settings.database_url)
        try:
            _, secret = await demo_merchant(state_dir, anvil.addresses[MERCHANT])
        finally:
            await close_database()
        app = create_app(settings)
        app.config[CONFIG_KEY] = DevWallet(DEVNET_KEY, anvil.rpc_url, anvil.addresses[TEST_WALLET])
        report = ready_report(settings, secret, anvil, deployment)
        server = asyncio.create_task(
            hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)  # type: ignore[arg-type]
        )
        listening = asyncio.create_task(_wait_until_listening(host, port))
        await asyncio.wait({server, listening}, return_when=asyncio.FIRST_COMPLETED)
        if listening.done() and listening.exception() is None:
            print(json.dumps(report) if as_json else ready_text(report), flush=True)
        else:
            listening.cancel()
        await server
    finally:
        await asyncio.to_thread(anvil.stop)
        if not as_json:
            print("kassa dev stopped.", file=sys.stderr)
