"""The `kassa` command line: scriptable operator commands (`--json` prints one object)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from app.config import Settings, load_settings
from app.db import (
    DatabaseUnreachable,
    MigrationsMissing,
    close_database,
    migrate,
    open_database,
)
from app.logs import configure_logging, keep_out_of_logs
from app.loops import run_event_loop
from app.secretbox import SecretKeyMissing, create_secret_key_file, with_secret_key


class CliError(Exception):
    """A problem the operator can fix; printed without a traceback, exit status 2."""


def emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload) if as_json else text)


async def _with_database(settings: Settings, work: Callable[[], Awaitable[None]]) -> None:
    await open_database(settings.database_url)
    try:
        await work()
    finally:
        await close_database()


def _parse_payouts(pairs: list[str]) -> dict[str, str]:
    payouts: dict[str, str] = {}
    for pair in pairs:
        network, sep, address = pair.partition("=")
        if not sep or not network.strip() or not address.strip():
            raise CliError(f"--payout takes NETWORK=ADDRESS, got {pair!r}")
        payouts[network.strip()] = address.strip()
    return payouts


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    """Apply migrations; without `secret_key`, also create the secret's file (SQLite, or
    `secret_key_file`), so a first `kassa serve` can store webhook secrets."""
    try:
        applied = await migrate(settings.database_url)
    except (MigrationsMissing, DatabaseUnreachable) as error:
        raise CliError(f"migrate: {error}") from None
    created = create_secret_key_file(settings)
    lines = [f"applied {name}" for name in applied] or ["database is up to date"]
    payload: dict[str, Any] = {"applied": applied}
    if created is not None:
        payload["created_secret_key_file"] = str(created)
        lines.append(
            f"created the operator secret key in {created} (mode 0600): back it up with the "
            "database, it opens the stored webhook secrets"
        )
    emit(args.json, payload, "\n".join(lines))


async def cmd_merchants_create(args: argparse.Namespace, settings: Settings) -> None:
    from app.models import Merchant, new_id

    payouts = await _checked_payouts(settings, _parse_payouts(args.payout))

    async def work() -> None:
        merchant = await Merchant.create(
            id=new_id("mer"),
            name=args.name,
            payout_addresses=payouts,
            underpayment_tolerance_bps=args.underpayment_tolerance_bps,
        )
        emit(args.json, {"id": merchant.id}, f"created merchant {merchant.id} ({merchant.name})")

    await _with_database(settings, work)


async def _checked_payouts(settings: Settings, payouts: dict[str, str]) -> dict[str, str]:
    """Addresses on enabled networks are checked and normalised by the network's plugin;
    others are kept as given (the network may be enabled later)."""
    from app.networks import PluginError
    from app.plugins import start_registry

    try:
        registry = start_registry(settings)
    except PluginError as error:
        raise CliError(str(error)) from None
    try:
        checked = {}
        for key, address in payouts.items():
            network = registry.network(key)
            try:
                checked[key] = network.normalize_address(address) if network else address
            except ValueError as error:
                raise CliError(f"--payout {key}: {error}") from None
        return checked
    finally:
        await registry.close()


async def cmd_networks_list(args: argparse.Namespace, settings: Settings) -> None:
    """Enabled networks, their watchers (halted ones with the reason) and health checks."""
    from app.doctor import CLI_SECONDS, as_json, network_health
    from app.models import ChainCursor
    from app.networks import PluginError
    from app.plugins import start_registry
    from app.watcher import recent_warnings

    try:
        registry = start_registry(settings)
    except PluginError as error:
        raise CliError(str(error)) from None

    async def work() -> None:
        rows = []
        for network in registry.networks.values():
            cursor = await ChainCursor.get_or_none(network=network.key)
            rows.append(
                {
                    "id": network.key,
                    "chain": network.chain_ref,
                    **network.public_facts(),
                    "testnet": network.testnet,
                    "block_number": cursor.block_number if cursor else None,
                    "halted": bool(cursor and cursor.halted),
                    "halt_reason": cursor.halt_reason if cursor else None,
                    "warnings": recent_warnings(cursor),
                    "health": as_json(await network_health(network, registry, CLI_SECONDS)),
                }
            )
        lines = []
        for r in rows:
            state = (
                f"HALTED: {r['halt_reason']}" if r["halted"] else f"at block {r['block_number']}"
            )
            failing = ", ".join(c["name"] for c in r["health"] if not c["ok"])
            health = f"failing: {failing}" if failing else "checks ok"
            lines.append(f"{r['id']} ({r['chain']}): {state}; {health}")
            lines += [
                f"  WARNING: {w['message']} (tx {w['tx_id']}, block {w['block_number']})"
                for w in r["warnings"]
            ]
        emit(args.json, {"networks": rows}, "\n".join(lines) or "no networks enabled")

    try:
        await _with_database(settings, work)
    finally:
        await registry.close()


async def cmd_networks_resume(args: argparse.Namespace, settings: Settings) -> None:
    """Clear a watcher halt after the operator investigated it."""
    from app.network_status import resume_watcher

    async def work() -> None:
        if not await resume_watcher(args.network):
            raise CliError(f"the watcher of {args.network!r} is not halted")
        emit(args.json, {"id": args.network, "resumed": True}, f"resumed {args.network}")

    await _with_database(settings, work)


async def cmd_doctor(args: argparse.Namespace, settings: Settings) -> None:
    """Every check of app/doctor.py; exit status 2 when one fails, naming it."""
    from app.doctor import as_json, run_checks

    checks = await run_checks(settings)
    failed = [check.name for check in checks if not check.ok]
    emit(
        args.json,
        {"ok": not failed, "checks": as_json(checks)},
        "\n".join(f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks),
    )
    if failed:
        raise CliError(f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}")


async def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> None:
    from app.audit import CLI_ACTOR
    from app.keys import create_key
    from app.models import Merchant

    async def work() -> None:
        merchant = await Merchant.get_or_none(id=args.merchant)
        if merchant is None:
            raise CliError(f"no merchant {args.merchant!r}")
        created = await create_key(merchant, livemode=args.mode == "live", actor=CLI_ACTOR)
        emit(
            args.json,
            {"id": created.key.id, "secret": created.secret},
            f"created {args.mode} key {created.key.id}\n"
            f"secret (shown once, store it now): {created.secret}",
        )

    await _with_database(settings, work)


async def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> None:
    from app.audit import CLI_ACTOR
    from app.keys import revoke_key

    async def work() -> None:
        if not await revoke_key(args.key_id, actor=CLI_ACTOR):
            raise CliError(f"no active key {args.key_id!r}")
        emit(args.json, {"id": args.key_id, "revoked": True}, f"revoked {args.key_id}")

    await _with_database(settings, work)


def _password_from_stdin() -> str:
    """The first line of standard input (`--password-stdin`), never an argument: command
    lines end up in shell histories and process listings."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("--password-stdin: standard input held no password")
    return password


async def cmd_users_create(args: argparse.Namespace, settings: Settings) -> None:
    from app.audit import CLI_ACTOR
    from app.dashboard.users import Role, UserError, create_user

    password = _password_from_stdin()

    async def work() -> None:
        try:
            user = await create_user(
                args.merchant, args.email, password, Role(args.role), CLI_ACTOR
            )
        except UserError as error:
            raise CliError(str(error)) from None
        emit(
            args.json,
            {"id": user.id, "email": user.email, "role": user.role, "merchant": user.merchant_id},
            f"created {user.role} {user.id} ({user.email}) for {user.merchant_id}; "
            f"sign in at {settings.base_url}/dashboard/",
        )

    await _with_database(settings, work)


async def cmd_users_reset_password(args: argparse.Namespace, settings: Settings) -> None:
    from app.audit import CLI_ACTOR
    from app.dashboard.users import UserError, reset_password

    password = _password_from_stdin()

    async def work() -> None:
        try:
            user = await reset_password(args.email, password, CLI_ACTOR)
        except UserError as error:
            raise CliError(str(error)) from None
        emit(
            args.json,
            {"id": user.id, "email": user.email},
            f"new password set for {user.email}; every session of it was signed out",
        )

    await _with_database(settings, work)


async def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    from app.server import ServeError, serve, serve_processes
    from app.webhooks.signing import secret_box

    try:
        secret_box(settings)  # or webhook endpoints could not be created
    except SecretKeyMissing as error:
        raise CliError(f"serve: {error}") from None

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=overrides)
    if args.workers < 1:
        raise CliError("serve: --workers takes a number of processes, 1 or more")
    try:
        if args.workers > 1:
            await serve_processes(settings, args.workers)
        else:
            await serve(settings, listen_fd=args.listen_fd)
    except ServeError as error:
        raise CliError(f"serve: {error}") from None


async def cmd_dev(args: argparse.Namespace, settings: Settings) -> None:
    """A local chain, a demo merchant and key, and the server: see app/dev.py."""
    from app.db import DatabaseUnreachable, MigrationsMissing
    from app.dev import DevError, run_dev

    try:
        await run_dev(args.host, args.port, args.json)
    except (DevError, DatabaseUnreachable, MigrationsMissing) as error:
        raise CliError(str(error)) from None


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    """Background loops without the web server, for production deployments."""
    from app.workers import run_worker

    await run_worker(settings)


async def cmd_listen(args: argparse.Namespace, settings: Settings) -> None:
    """Forward test-mode events to a local URL, signed with a fresh secret."""
    import os

    import httpx

    from app.http import outbound_client
    from app.webhooks.listen import ListenError, forward_events

    api_key = args.api_key or os.environ.get("KASSA_API_KEY", "")
    if not api_key:
        raise CliError("give --api-key sk_test_... or set KASSA_API_KEY")
    api_base = (args.api_base or settings.base_url).rstrip("/")
    async with outbound_client(base_url=api_base, timeout=15.0, follow_redirects=False) as api:
        try:
            await forward_events(
                api,
                api_key,
                args.forward_to,
                poll_interval=args.interval,
                emit=lambda line: print(line, flush=True),
            )
        except ListenError as error:
            raise CliError(str(error)) from None
        except httpx.HTTPError as error:
            raise CliError(f"cannot reach the Kassa API at {api_base}: {error}") from None


def command(sub: Any, name: str, handler: Callable[..., Awaitable[None]], help: str) -> Any:
    """A subcommand running `await handler(args, settings)`; every command takes `--json`."""
    p = sub.add_parser(name, help=help, description=help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handler)
    return p


def installed_version() -> str:
    """The version of the installed `kassa` distribution (its metadata, not the source tree)."""
    try:
        return version("kassa")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "(not installed)"


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """Kassa's commands, plus those of the plugins `settings` allows (`register_commands`)."""
    parser = argparse.ArgumentParser(prog="kassa", description="Kassa checkout gateway")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = command(commands, "serve", cmd_serve, "serve the API, checkout and background loops")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes on one port (PostgreSQL; default 1)",
    )
    # A `--workers` child serves the supervisor's socket; not for operators.
    serve.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    dev = command(
        commands, "dev", cmd_dev, "run a local devnet with a demo merchant and serve everything"
    )
    dev.add_argument("--host")
    dev.add_argument("--port", type=int)
    command(commands, "migrate", cmd_migrate, "apply database migrations")
    command(
        commands,
        "doctor",
        cmd_doctor,
        "check the database, secret key, networks and workers; exit 2 if a check fails",
    )
    command(commands, "worker", cmd_worker, "run background loops (watchers, deliveries, expiry)")
    listen = command(
        commands, "listen", cmd_listen, "forward test-mode events to a local URL, signed"
    )
    listen.add_argument("--forward-to", required=True, metavar="URL")
    listen.add_argument("--api-base", metavar="URL", help="default: this server's base URL")
    listen.add_argument("--api-key", help="an sk_test_ key (default: $KASSA_API_KEY)")
    listen.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")

    merchants = commands.add_parser("merchants", help="manage merchants").add_subparsers(
        dest="action", required=True
    )
    create_merchant = command(merchants, "create", cmd_merchants_create, "create a merchant")
    create_merchant.add_argument("--name", required=True)
    create_merchant.add_argument(
        "--payout",
        action="append",
        default=[],
        metavar="NETWORK=ADDRESS",
        help="payout address on a network (repeatable)",
    )
    create_merchant.add_argument(
        "--underpayment-tolerance-bps",
        type=int,
        default=0,
        choices=range(0, 10_001),
        metavar="BPS",
        help="a plain transfer this many basis points short still confirms (default 0)",
    )

    networks = commands.add_parser("networks", help="enabled networks").add_subparsers(
        dest="action", required=True
    )
    command(networks, "list", cmd_networks_list, "enabled networks and their watchers")
    resume = command(networks, "resume", cmd_networks_resume, "clear a halted watcher")
    resume.add_argument("network")

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create_key = command(keys, "create", cmd_keys_create, "create an API key (secret shown once)")
    create_key.add_argument("--merchant", required=True)
    create_key.add_argument("--mode", choices=("test", "live"), required=True)
    revoke = command(keys, "revoke", cmd_keys_revoke, "revoke an API key")
    revoke.add_argument("key_id")

    users = commands.add_parser("users", help="manage dashboard users").add_subparsers(
        dest="action", required=True
    )
    create_user = command(
        users, "create", cmd_users_create, "create a dashboard user (password on stdin)"
    )
    create_user.add_argument("--merchant", required=True, metavar="MERCHANT_ID")
    create_user.add_argument("--email", required=True)
    create_user.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from the first line of standard input",
    )
    create_user.add_argument(
        "--role",
        choices=("owner", "developer", "viewer"),
        default="owner",
        help="owner: everything; developer: also keys and webhooks; viewer: reads (default owner)",
    )
    reset = command(
        users,
        "reset-password",
        cmd_users_reset_password,
        "set a user's password (stdin), lift a lockout and sign them out everywhere",
    )
    reset.add_argument("--email", required=True)
    reset.add_argument("--password-stdin", action="store_true", required=True)
    if settings is not None:
        _add_plugin_commands(commands, settings)
    return parser


def _add_plugin_commands(commands: Any, settings: Settings) -> None:
    from app.networks import PluginError
    from app.plugins import make_plugin_manager

    try:
        pm = make_plugin_manager(settings)
    except PluginError as error:  # the core commands still work; say why the others are gone
        print(f"kassa: plugin commands unavailable: {error}", file=sys.stderr)
        return
    pm.hook.register_commands(subcommands=commands, command=command)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = with_secret_key(load_settings())
    except Exception as error:  # pydantic's message names the bad setting
        print(f"kassa: invalid settings: {error}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    configure_logging(settings.log_level)
    keep_out_of_logs(settings.secret_key.get_secret_value())
    try:
        run_event_loop(args.handler(args, settings))
    except CliError as error:
        print(f"kassa: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    # Run the `app.cli` module, not this `__main__` copy: plugin commands raise
    # `app.cli.CliError`, which must be the class `main` catches.
    from app.cli import main as cli_main

    sys.exit(cli_main())
