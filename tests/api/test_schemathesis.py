"""A bounded schemathesis run over /v1/openapi.json: no 5xx, no response that breaks the schema.

Driven through schemathesis' Python API with hypothesis directly (its pytest plugin does not
support pytest 9's node API yet).
"""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveServer, MerchantKeys

EXAMPLES_PER_OPERATION = 40
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def _fuzz(base_url: str, headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        run()
        tested.append(operation.label)
    return tested


async def test_api_conforms_to_its_openapi(live_server: LiveServer, merchant: MerchantKeys) -> None:
    tested = await asyncio.to_thread(_fuzz, live_server.base_url, merchant.auth())
    assert "POST /v1/checkout/sessions" in tested
    assert "GET /v1/checkout/sessions" in tested
