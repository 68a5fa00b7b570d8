"""`kassa contracts deploy`: deploy the payment contract with the key in KASSA_DEPLOYER_KEY."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import CliError, emit
from app.config import Settings
from plugins.evm.contract import ContractDeploymentError, deploy_from_cli


async def cmd_contracts_deploy(args: argparse.Namespace, settings: Settings) -> None:
    try:
        address = await deploy_from_cli(args.rpc_url, args.owner, args.signer, args.fee_recipient)
    except ContractDeploymentError as error:
        raise CliError(str(error)) from None
    emit(args.json, {"address": address}, address)


def add_contract_commands(subcommands: Any, command: Any) -> None:
    contracts = subcommands.add_parser("contracts", help="payment contract").add_subparsers(
        dest="action", required=True
    )
    deploy = command(
        contracts,
        "deploy",
        cmd_contracts_deploy,
        "deploy the payment contract with the key in KASSA_DEPLOYER_KEY",
    )
    deploy.add_argument("--rpc-url", required=True)
    deploy.add_argument("--owner", required=True)
    deploy.add_argument(
        "--signer", action="append", required=True, help="intent signer (repeatable)"
    )
    deploy.add_argument("--fee-recipient")
