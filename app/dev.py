"""`kassa dev`: a complete local gateway on a fresh machine, in one command.

A network plugin starts a local chain (the `dev_network` hook: for the EVM plugin, anvil with
the contract and test tokens deployed) and says how to enable it; this module enables it
through the same settings an operator would write (set in-process), creates a demo merchant
and a test key, and serves the API, the checkout and the background loops on SQLite
(`kassa.db` in the working directory). Ctrl-C stops everything it started.

State that must survive a restart (the chain, the deployment, the operator secret) lives in
`.kassa/` next to `kassa.db`, so a second `kassa dev` continues where the first stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import NetworkSettings, Settings, load_settings
from app.plugins import await_me_maybe, make_plugin_manager
from app.secretbox import SECRET_KEY_FILE, read_or_create_secret_key

log = logging.getLogger("kassa.dev")

STATE_DIR = ".kassa"
DEMO_MERCHANT = "Kassa Demo Shop"


class DevError(RuntimeError):
    """`kassa dev` cannot start; the message says what to do."""


@dataclass
class DevNetwork:
    """A local chain a plugin started for `kassa dev`, and how to use it."""

    key: str
    # The `[networks.KEY]` block that enables it (the plugin's own fields included).
    settings: dict[str, Any]
    # The demo merchant's payout address on it.
    payout_address: str
    # Currencies the example session in the ready message allows.
    currencies: list[str]
    # Operator price pegs for its coins (they have no market).
    fixed_rates: dict[str, str] = field(default_factory=dict)
    # Facts for the ready report (`--json`) and its text lines, e.g. the RPC URL.
    report: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None


def _operator_secret(state_dir: Path, settings: Settings) -> str:
    """The configured secret, else one generated once and kept in `.kassa/` (mode 0600)."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    return read_or_create_secret_key(state_dir / SECRET_KEY_FILE.name)[0]


def dev_settings(
    base: Settings, devnet: DevNetwork, host: str, port: int, state_dir: Path
) -> Settings:
    """The operator settings `kassa dev` stands for: the local chain enabled, dev mode, SQLite."""
    return load_settings(
        database_url="sqlite://kassa.db",
        host=host,
        port=port,
        public_url=f"http://{host}:{port}",
        secret_key=_operator_secret(state_dir, base),
        dev_mode=True,
        run_background_loops=True,
        webhooks_allow_private_targets=True,
        networks={**base.networks, devnet.key: NetworkSettings.model_validate(devnet.settings)},
        fixed_rates={**devnet.fixed_rates, **base.fixed_rates},
    )


def _read_json(path: Path) -> Any:
    """Small state files: reading them synchronously costs nothing worth a thread."""
    return json.loads(path.read_text()) if path.exists() else None


DEMO_USER_EMAIL = "demo@kassa.test"


async def demo_user(state_dir: Path, merchant_id: str) -> tuple[str, str]:
    """(e-mail, password) of the demo merchant's dashboard owner, created once. The password
    is random and kept in the dev state folder: this is a local devnet, not production."""
    import secrets

    from app.audit import CLI_ACTOR
    from app.dashboard.users import Role, create_user
    from app.models import User

    record = state_dir / "dashboard_user.json"
    saved = _read_json(record)
    if saved is not None and await User.filter(email=saved["email"]).exists():
        return saved["email"], saved["password"]
    password = secrets.token_urlsafe(12)
    await User.filter(email=DEMO_USER_EMAIL).delete()
    await create_user(merchant_id, DEMO_USER_EMAIL, password, Role.OWNER, CLI_ACTOR)
    record.write_text(json.dumps({"email": DEMO_USER_EMAIL, "password": password}))
    record.chmod(0o600)
    return DEMO_USER_EMAIL, password


async def demo_merchant(state_dir: Path, network_key: str, payout: str) -> tuple[str, str]:
    """(merchant id, a new test secret key): the demo merchant is created once, keys per run."""
    from app.audit import CLI_ACTOR
    from app.keys import create_key
    from app.models import Merchant, new_id

    record = state_dir / "merchant.json"
    merchant = None
    saved = _read_json(record)
    if saved is not None:
        merchant = await Merchant.get_or_none(id=saved["id"])
    if merchant is None:
        merchant = await Merchant.create(
            id=new_id("mer"), name=DEMO_MERCHANT, payout_addresses={network_key: payout}
        )
        record.write_text(json.dumps({"id": merchant.id}))
    elif merchant.payout_addresses.get(network_key) != payout:
        merchant.payout_addresses = {**merchant.payout_addresses, network_key: payout}
        await merchant.save(update_fields=["payout_addresses"])
    created = await create_key(merchant, livemode=False, actor=CLI_ACTOR)
    return merchant.id, created.secret


def ready_report(
    settings: Settings, secret: str, devnet: DevNetwork, dashboard_user: tuple[str, str]
) -> dict[str, Any]:
    return {
        "api_base": f"{settings.base_url}/v1",
        "secret_key": secret,
        "dashboard_url": f"{settings.base_url}/dashboard/",
        "dashboard_email": dashboard_user[0],
        "dashboard_password": dashboard_user[1],
        "network": devnet.key,
        **devnet.report,
    }


def ready_text(report: dict[str, Any], devnet: DevNetwork) -> str:
    api = report["api_base"]
    currencies = " ".join(f"-d 'allowed_crypto_currencies[]={c}'" for c in devnet.currencies)
    curl = (
        f"curl -s {api}/checkout/sessions \\\n"
        f"  -u {report['secret_key']}: \\\n"
        "  -d amount_fiat=25.00 -d currency=USD \\\n"
        f"  -d 'allowed_networks[]={devnet.key}' \\\n"
        f"  {currencies} \\\n"
        "  -d success_url=https://example.com/success -d cancel_url=https://example.com/cancel"
    )
    return "\n".join(
        [
            "",
            "Kassa dev is running.",
            f"  API:          {api}   (OpenAPI: {api}/openapi.json)",
            f"  Test key:     {report['secret_key']}",
            f"  Dashboard:    {report['dashboard_url']}   "
            f"({report['dashboard_email']} / {report['dashboard_password']})",
            *(f"  {line}" for line in devnet.lines),
            "",
            "Create a checkout session, then open its checkout_url in a browser:",
            "",
            curl,
            "",
            'Pay with a browser wallet on the local chain, or press "Pay with test wallet".',
            "Ctrl-C stops the server and the local chain.",
            "",
        ]
    )


def _check_port_free(host: str, port: int) -> None:
    """Fail before starting anything: otherwise another server would answer the readiness check."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            raise DevError(
                f"cannot listen on {host}:{port} ({error.strerror}); use --port"
            ) from None


async def _wait_until_listening(host: str, port: int) -> None:
    deadline = asyncio.get_running_loop().time() + 30.0
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise DevError(f"the server did not listen on {host}:{port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def start_dev_network(state_dir: Path, base: Settings) -> DevNetwork:
    """Ask the plugins for a local chain; a clear error when none can run one."""
    started = make_plugin_manager(base).hook.dev_network(state_dir=state_dir, settings=base)
    if started is None:
        raise DevError("no installed plugin can run a local chain (the `dev_network` hook)")
    try:
        devnet: DevNetwork = await await_me_maybe(started)
    except DevError:
        raise
    except Exception as error:
        raise DevError(str(error)) from None
    return devnet


async def run_dev(host: str | None, port: int | None, as_json: bool) -> None:
    """Everything `kassa dev` does, until SIGINT/SIGTERM."""
    from hypercorn.asyncio import serve as hypercorn_serve

    from app import create_app
    from app.db import close_database, migrate, open_database
    from app.loops import stop_on_signals
    from app.server import hypercorn_config

    base = load_settings()
    host = host or base.host
    port = port if port is not None else base.port
    _check_port_free(host, port)
    state_dir = Path.cwd() / STATE_DIR
    state_dir.mkdir(exist_ok=True)
    stop = stop_on_signals()
    devnet = await start_dev_network(state_dir, base)
    try:
        settings = dev_settings(base, devnet, host, port, state_dir)
        await migrate(settings.database_url)
        await open_database(settings.database_url)
        try:
            merchant_id, secret = await demo_merchant(state_dir, devnet.key, devnet.payout_address)
            dashboard_user = await demo_user(state_dir, merchant_id)
        finally:
            await close_database()
        app = create_app(settings)
        report = ready_report(settings, secret, devnet, dashboard_user)
        server = asyncio.create_task(
            hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)  # type: ignore[arg-type]
        )
        listening = asyncio.create_task(_wait_until_listening(host, port))
        await asyncio.wait({server, listening}, return_when=asyncio.FIRST_COMPLETED)
        if listening.done() and listening.exception() is None:
            print(json.dumps(report) if as_json else ready_text(report, devnet), flush=True)
        else:
            listening.cancel()
        await server
    finally:
        await asyncio.to_thread(devnet.stop)
        if not as_json:
            print("kassa dev stopped.", file=sys.stderr)
