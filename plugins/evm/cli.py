"""`kassa contracts deploy`: deploy the payment contract and the deposit-address factory with
the key in KASSA_DEPLOYER_KEY."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import CliError, emit
from app.config import Settings
from plugins.evm.contract import ContractDeploymentError, deploy_from_cli
from plugins.evm.deposits import deploy_deposit_factory_from_cli


async def cmd_contracts_deploy(args: argparse.Namespace, settings: Settings) -> None:
    try:
        address = await deploy_from_cli(args.rpc_url, args.owner, args.signer, args.fee_recipient)
    except ContractDeploymentError as error:
        raise CliError(str(error)) from None
    try:
        factory = await deploy_deposit_factory_from_cli(args.rpc_url)
    except ContractDeploymentError as error:
        # The payment contract is on chain by now: say where, so it is not deployed twice.
        raise CliError(
            f"the payment contract was deployed at {address}, "
            f"but deploying the deposit factory failed: {error}"
        ) from None
    emit(
        args.json,
        {"address": address, "deposit_factory": factory},
        f"{address}\ndeposit factory: {factory}",
    )


def add_contract_commands(subcommands: Any, command: Any) -> None:
    contracts = subcommands.add_parser("contracts", help="payment contract").add_subparsers(
        dest="action", required=True
    )
    deploy = command(
        contracts,
        "deploy",
        cmd_contracts_deploy,
        "deploy the payment contract and the deposit factory with the key in KASSA_DEPLOYER_KEY",
    )
    deploy.add_argument("--rpc-url", required=True)
    deploy.add_argument("--owner", required=True)
    deploy.add_argument(
        "--signer", action="append", required=True, help="intent signer (repeatable)"
    )
    deploy.add_argument("--fee-recipient")
