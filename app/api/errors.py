"""The one error type of the API and its Stripe-shaped rendering."""

from __future__ import annotations

import json
from typing import Any

import orjson
from pydantic import ValidationError
from quart import Response

from app.refusals import Refused

ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "idempotency_error",
        "rate_limit_error",
        "api_error",
    }
)


class ApiError(Exception):
    """Rendered as `{"error": {"type", "code", "message", "param"}}` with `status`."""

    def __init__(
        self,
        status: int,
        type: str,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        assert type in ERROR_TYPES, type
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


def invalid_request(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", code, message, param)


def internal_error() -> ApiError:
    """Our fault; the details go to the log, never to the caller."""
    return ApiError(500, "api_error", "internal_error", "An internal error occurred.")


def not_found(what: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(
        404, "invalid_request_error", "resource_missing", f"No such {what}: '{object_id}'", param
    )


def refusal_error(refusal: Refused) -> ApiError:
    """A service's refusal as the API error it is: the caller's (4xx) or ours (5xx)."""
    kind = "invalid_request_error" if refusal.status < 500 else "api_error"
    return ApiError(refusal.status, kind, refusal.code, refusal.message, refusal.param)


def json_body(payload: Any) -> bytes:
    """The API's JSON spelling: two-space indent, UTF-8 as is.

    orjson writes exactly what `json.dumps(indent=2, ensure_ascii=False)` writes, about 20
    times faster (`json` falls back to its pure-Python encoder once asked to indent); what
    orjson refuses (integers beyond 64 bits, Decimal) goes through `json`, unchanged.
    """
    try:
        return orjson.dumps(payload, option=orjson.OPT_INDENT_2)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(payload, indent=2, ensure_ascii=False).encode("utf-8")


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json_body(payload), status=status, headers=headers, content_type="application/json"
    )


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), status=error.status, headers=error.headers)


# Pydantic's error types mapped to the codes Stripe clients know.
_PYDANTIC_CODES = {
    "missing": "parameter_missing",
    "extra_forbidden": "parameter_unknown",
    "int_type": "parameter_invalid_integer",
    "int_parsing": "parameter_invalid_integer",
    "int_from_float": "parameter_invalid_integer",
    "greater_than_equal": "parameter_out_of_range",
    "less_than_equal": "parameter_out_of_range",
    "greater_than": "parameter_out_of_range",
    "less_than": "parameter_out_of_range",
    "string_type": "parameter_invalid_string",
    "string_too_long": "parameter_invalid_string",
    "string_too_short": "parameter_invalid_empty",
    "too_short": "parameter_invalid_empty",
    "too_long": "parameter_too_many_items",
    "list_type": "parameter_invalid_array",
    "dict_type": "parameter_invalid_object",
    "model_type": "parameter_invalid_object",
    "model_attributes_type": "parameter_invalid_object",
    "enum": "parameter_invalid_value",
    "literal_error": "parameter_invalid_value",
    "bool_type": "parameter_invalid_boolean",
    "bool_parsing": "parameter_invalid_boolean",
}


def bracket_path(location: tuple[int | str, ...]) -> str | None:
    """("metadata", "order") -> "metadata[order]", the way Stripe names nested params."""
    parts = [str(part) for part in location if not str(part).startswith("function-")]
    if not parts:
        return None
    return parts[0] + "".join(f"[{part}]" for part in parts[1:])


def from_validation_error(error: ValidationError) -> ApiError:
    """The first problem pydantic found, as a 400 naming the parameter."""
    first = error.errors(include_url=False)[0]
    kind = str(first["type"])
    code = _PYDANTIC_CODES.get(
        kind, kind if kind.islower() and "_" in kind else "parameter_invalid"
    )
    param = bracket_path(tuple(first["loc"]))
    message = str(first["msg"])
    if param:
        message = f"{param}: {message}"
        if kind == "extra_forbidden":
            message = f"Received unknown parameter: {param}"
        elif kind == "missing":
            message = f"Missing required param: {param}."
    return invalid_request(code, message, param)
