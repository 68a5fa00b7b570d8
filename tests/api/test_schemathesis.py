"""A bounded schemathesis run over /v1/openapi.json: no 5xx, no response that breaks the schema.

Driven through schemathesis' Python API with hypothesis directly (its pytest plugin does not
support pytest 9's node API yet). A second, smaller run puts hostile text in every path id and
query string: the characters that once made the API answer 500 (issue 12).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveServer, MerchantKeys

EXAMPLES_PER_OPERATION = 40
HOSTILE_EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

# Digits beyond ASCII ("²" passes str.isdigit() but not int(); "١", "０", "߁" pass both), NUL,
# CR/LF, and the characters of bracket and query syntax. No "/": an encoded slash is another
# route, not a bad id.
DIGITS = "019²١٢０߁"
HOSTILE_TEXT = st.text(st.sampled_from(DIGITS + "\x00\r\n[]&=%#?+ a_"), min_size=1, max_size=12)
# Bracket keys such as `metadata[00]`, `created[²]`, `x[0][١]` or `limit[\r\n]`.
HOSTILE_KEYS = st.builds(
    lambda name, indexes: name + "".join(f"[{index}]" for index in indexes),
    st.sampled_from(["metadata", "created", "limit", "x"]),
    st.lists(st.text(st.sampled_from(DIGITS), max_size=3) | HOSTILE_TEXT, min_size=1, max_size=3),
)

Mutate = Callable[[Any, st.DataObject], None]


def _unchanged(case: Any, data: st.DataObject) -> None:
    return None


def _hostile(case: Any, data: st.DataObject) -> None:
    """Hostile text for every path id and query value, plus hostile bracket keys."""
    case.path_parameters = {
        name: quote(data.draw(HOSTILE_TEXT), safe="") for name in case.path_parameters
    }
    query = {name: data.draw(HOSTILE_TEXT) for name in case.query or {}}
    query.update(data.draw(st.dictionaries(HOSTILE_KEYS, HOSTILE_TEXT, min_size=1, max_size=3)))
    case.query = query


def _fuzz(base_url: str, headers: dict[str, str], examples: int, mutate: Mutate) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), data=st.data())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case, data) -> None:  # type: ignore[no-untyped-def]
            mutate(case, data)
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        run()
        tested.append(operation.label)
    return tested


async def test_api_conforms_to_its_openapi(live_server: LiveServer, merchant: MerchantKeys) -> None:
    tested = await asyncio.to_thread(
        _fuzz, live_server.base_url, merchant.auth(), EXAMPLES_PER_OPERATION, _unchanged
    )
    assert "POST /v1/checkout/sessions" in tested
    assert "GET /v1/checkout/sessions" in tested


async def test_hostile_path_ids_and_query_strings_are_never_a_5xx(
    live_server: LiveServer, merchant: MerchantKeys
) -> None:
    tested = await asyncio.to_thread(
        _fuzz, live_server.base_url, merchant.auth(), HOSTILE_EXAMPLES_PER_OPERATION, _hostile
    )
    assert "GET /v1/payments/{payment_id}" in tested
    assert "POST /v1/events/{event_id}/resend" in tested
