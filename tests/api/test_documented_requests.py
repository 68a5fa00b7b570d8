"""The request bodies docs/api.md shows are accepted verbatim, and answer the documented objects.

Every code block in docs/api.md under a `<!-- request: METHOD PATH -->` marker is sent as it is
written: a JSON block as the JSON body, a `curl` block as curl would send it (its `-d` values
joined by `&`, form-encoded, the key from `-u` replaced by the test merchant's). The answers'
field sets and JSON types are compared with the documented objects
(tests/api/test_documented_objects.py), so an example that drifts from the API fails here.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

import pytest

from app.networks import Registry
from tests.api.test_documented_objects import (
    DOCS,
    PAYMENT_FIELDS,
    QUOTE_FIELDS,
    SESSION_FIELDS,
    assert_shape,
)
from tests.chain import DevChain
from tests.networks.conftest import (  # noqa: F401 - the devnet fixtures, used by name
    Api,
    api,
    chain,
    deployed_chain,
    devnet_node,
    make_registry,
    registry,
    shop,
)

_MARKED_BLOCK = re.compile(
    r"<!-- request: (?P<method>[A-Z]+) (?P<path>\S+) -->\n```(?P<kind>json|sh)\n(?P<body>.*?)```",
    re.DOTALL,
)


@dataclass(frozen=True)
class DocumentedRequest:
    method: str
    path: str
    content_type: str
    body: bytes

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.content_type}): {self.body[:60]!r}…"


def _curl_form_body(command: str) -> bytes:
    """What `curl -d a -d b …` sends: the values as written, joined by '&'."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl", command
    data = [words[i + 1] for i, word in enumerate(words) if word == "-d"]
    assert data, command
    return "&".join(data).encode()


def documented_requests() -> list[DocumentedRequest]:
    requests = []
    for match in _MARKED_BLOCK.finditer((DOCS / "api.md").read_text()):
        body = match["body"]
        if match["kind"] == "json":
            json.loads(body)  # the example itself must be valid JSON
            request = DocumentedRequest(
                match["method"], match["path"], "application/json", body.encode()
            )
        else:
            request = DocumentedRequest(
                match["method"],
                match["path"],
                "application/x-www-form-urlencoded",
                _curl_form_body(body),
            )
        requests.append(request)
    return requests


def test_the_docs_mark_their_request_examples() -> None:
    found = {(r.path, r.content_type) for r in documented_requests()}
    assert found == {
        ("/v1/checkout/sessions", "application/json"),
        ("/v1/checkout/sessions", "application/x-www-form-urlencoded"),
        ("/v1/checkout/sessions/{id}/payments", "application/json"),
    }


async def _send(merchant_api: Api, request: DocumentedRequest, path: str) -> tuple[int, Any]:
    # Basic auth with the key as the user, as the docs' `curl -u sk_test_…:` does.
    basic = base64.b64encode(f"{merchant_api.shop.test_secret}:".encode()).decode()
    response = await merchant_api.client.open(
        path,
        method=request.method,
        headers={"Authorization": f"Basic {basic}", "Content-Type": request.content_type},
        data=request.body,
    )
    return response.status_code, await response.get_json()


@pytest.mark.chain
async def test_documented_request_bodies_answer_the_documented_objects(
    api: Api,  # noqa: F811 - the fixtures imported above
    chain: DevChain,  # noqa: F811
    registry: Registry,  # noqa: F811 - the devnet on anvil, not the closed test RPC port
) -> None:
    requests = documented_requests()
    sessions = []
    for request in (r for r in requests if r.path == "/v1/checkout/sessions"):
        status, session = await _send(api, request, request.path)
        assert status == 200, (str(request), session)
        assert_shape(session, SESSION_FIELDS, str(request))
        assert session["mode"] == "payment" and session["fiat_currency"] == "EUR"
        sessions.append(session)
    # The JSON example and its form-encoded twin describe the same session.
    json_session, form_session = sessions[0], sessions[1]
    for field in ("amount_fiat", "allowed_crypto_currencies", "metadata", "client_reference_id"):
        assert json_session[field] == form_session[field], field
    assert sessions[2]["amount_fiat"] == "44.99"  # the line items' total, as the docs say

    (pay,) = (r for r in requests if r.path.endswith("/payments"))
    status, answer = await _send(api, pay, pay.path.replace("{id}", json_session["id"]))
    assert status == 200, answer
    assert list(answer) == ["payment"]
    assert_shape(answer["payment"], PAYMENT_FIELDS, str(pay))
    assert_shape(answer["payment"]["quote"], QUOTE_FIELDS, "payment.quote")
    assert answer["payment"]["session"] == json_session["id"]
