"""Logs never carry secrets, and keep what operators need (transaction and block hashes)."""

from __future__ import annotations

import logging

import pytest

from app.logs import RedactingFilter, keep_out_of_logs, redact

# A signer key, as the EVM plugin reads it from `signer_key` (and registers it).
PRIVATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SECRETS = [
    "sk_test_2W9Gbt8X5RjViBqJzm0CfuseBAOPVgFs",
    "sk_live_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    PRIVATE_KEY,
    "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
    "https://user:hunter2@rpc.example/",
    "https://rpc.example/?apikey=topsecret123",
]


@pytest.fixture(autouse=True)
def keys_kassa_read() -> None:
    keep_out_of_logs(PRIVATE_KEY)


@pytest.mark.parametrize("secret", SECRETS)
def test_redact(secret: str) -> None:
    text = redact(f"calling {secret} now")
    for fragment in (
        "2W9Gbt8X",
        "AbCdEfGh",
        "MfKQ9r8G",
        "59c6995e",
        "9aa3d95b",
        "hunter2",
        "topsecret",
    ):
        assert fragment not in text
    assert text.startswith("calling ") and text.endswith(" now")


def test_authorization_headers_are_redacted() -> None:
    assert "abc123" not in redact("Authorization: Bearer abc123")
    assert "dXNlcjpw" not in redact("headers={'authorization': 'Basic dXNlcjpwYXNz'}")


def test_filter_redacts_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("kassa.test-redaction")
    handler_filter = RedactingFilter()
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "rpc %s failed", (SECRETS[4],), None
    )
    try:
        raise RuntimeError(f"key {SECRETS[0]}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    handler_filter.filter(record)
    formatted = logging.Formatter().format(record)
    assert "9aa3d95b" not in formatted and "2W9Gbt8X" not in formatted
    assert "rpc https://mainnet.infura.io" in formatted


def test_known_keys_are_redacted_in_any_spelling() -> None:
    for spelling in (PRIVATE_KEY, PRIVATE_KEY[2:], PRIVATE_KEY.upper(), PRIVATE_KEY[2:].upper()):
        assert "59c6995e" not in redact(f"signing with {spelling}").lower()


@pytest.mark.parametrize(
    "line",
    [
        "signer_key=0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "{'sweeper_key': '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba'}",
        "KASSA_DEPLOYER_KEY=0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "KASSA_SECRET_KEY: 8b3a350cf5c34c9194ca85829a2df0ec",
        "private_key = 8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    ],
)
def test_values_under_a_secrets_name_are_redacted(line: str) -> None:
    """Keys Kassa never read (an environment dump, a validation error) are known by name."""
    assert "8b3a350c" not in redact(line)


def test_database_passwords_are_redacted() -> None:
    assert "s3cret" not in redact("cannot open postgres://kassa:s3cret@db.internal:5432/kassa")


def test_transaction_and_block_hashes_stay() -> None:
    """They look like keys but are what an operator looks up: a halt names the transaction."""
    tx = "0xd1e56bcaf17f3e4eb5d85ac7c2336b7507a128a8f8d4bddd7084690cd9884ea3"
    block = "0x5b1f3e0c2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
    line = f"reorg removed payment pay_1 (tx {tx}) in block 12 {block}"
    assert redact(line) == line
