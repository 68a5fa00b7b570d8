"""A service's refusal becomes one API error, the same from every route."""

from __future__ import annotations

from app.api.errors import refusal_error
from app.payments import PaymentRefused


def test_refusal_the_caller_can_fix_is_an_invalid_request() -> None:
    error = refusal_error(PaymentRefused("network_unavailable", "Not here.", "network"))
    assert error.status == 400
    assert error.body() == {
        "error": {
            "type": "invalid_request_error",
            "code": "network_unavailable",
            "message": "Not here.",
            "param": "network",
        }
    }


def test_refusal_that_is_ours_is_an_api_error() -> None:
    error = refusal_error(PaymentRefused("quote_unavailable", "No rate.", "crypto_currency", 503))
    assert error.status == 503
    assert error.type == "api_error"
    assert (error.code, error.message, error.param) == (
        "quote_unavailable",
        "No rate.",
        "crypto_currency",
    )
