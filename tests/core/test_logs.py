"""Logs never carry secrets."""

from __future__ import annotations

import logging

import pytest

from app.logs import RedactingFilter, redact

SECRETS = [
    "sk_test_2W9Gbt8X5RjViBqJzm0CfuseBAOPVgFs",
    "sk_live_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
    "https://user:hunter2@rpc.example/",
    "https://rpc.example/?apikey=topsecret123",
]


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
