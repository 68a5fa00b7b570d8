"""Request parameters from JSON bodies, form bodies (bracket notation) and query strings."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from quart import g, request

from app.api.errors import ApiError, bracket_path, from_validation_error, invalid_request

MAX_DEPTH = 8  # deeper input is refused before any model sees it
MAX_PARAMS = 1000

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)


async def body_params() -> dict[str, Any]:
    """The request body as a dict, read once per request (handlers and idempotency share it)."""
    cached = g.get("body_params")
    if cached is not None:
        return cached
    raw = await request.get_data(as_text=False)
    assert isinstance(raw, bytes)
    media_type = (request.mimetype or "").lower()
    if not raw.strip():
        params: dict[str, Any] = {}
    elif media_type in JSON_TYPES:
        params = _parse_json(raw)
    elif media_type in FORM_TYPES or not media_type:
        params = parse_bracket_params(_decode(raw), "body")
    else:
        raise ApiError(
            415,
            "invalid_request_error",
            "content_type_unsupported",
            f"Unsupported Content-Type {media_type!r}: send application/json or "
            "application/x-www-form-urlencoded.",
        )
    g.body_params = params
    return params


P = TypeVar("P", bound=BaseModel)


def validate(model: type[P], params: dict[str, Any]) -> P:
    """Parameters as `model`, or the first problem as a 400 naming the parameter."""
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise from_validation_error(error) from None


def query_params() -> dict[str, Any]:
    return parse_bracket_params(request.query_string.decode("latin-1"), "query")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request("body_invalid", "The request body is not valid UTF-8.") from None


# Decimal keeps JSON numbers exact: money never passes through a float.
_JSON_DECODER = json.JSONDecoder(parse_float=Decimal)


def _parse_json(raw: bytes) -> dict[str, Any]:
    text = _decode(raw)
    try:
        value = _JSON_DECODER.decode(text)
    except (ValueError, RecursionError):
        raise invalid_request("body_invalid", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise invalid_request("body_invalid", "The JSON body must be an object.")
    # JSON text cannot hold a raw NUL (the decoder refuses control characters in strings):
    # only the escape brings one, so without it the depth alone needs checking.
    if "\\u0000" in text:
        _check_values(value, 1)
    else:
        _check_depth(value, 1)
    return value


def _check_depth(container: dict[str, Any] | list[Any], depth: int) -> None:
    """`_check_values`' bound on nesting, for values known to hold no NUL."""
    for child in container.values() if isinstance(container, dict) else container:
        if depth >= MAX_DEPTH:
            raise invalid_request(
                "body_invalid", f"Parameters nest deeper than {MAX_DEPTH} levels."
            )
        if isinstance(child, dict | list):
            _check_depth(child, depth + 1)


def _check_values(value: Any, depth: int) -> None:
    """Bounded nesting, and no NUL characters (PostgreSQL text cannot store them)."""
    if depth > MAX_DEPTH:
        raise invalid_request("body_invalid", f"Parameters nest deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        if "\x00" in value:
            raise invalid_request("parameter_invalid_string", "Strings must not contain NUL.")
        return
    if isinstance(value, dict) and any("\x00" in key for key in value):
        raise invalid_request("parameter_invalid_string", "Names must not contain NUL.")
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _check_values(child, depth + 1)


def parse_bracket_params(text: str, where: str) -> dict[str, Any]:
    """`a[b]=1&l[0]=x&l[1]=y` -> {"a": {"b": "1"}, "l": ["x", "y"]} (Stripe's encoding)."""
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PARAMS
        )
    except ValueError:
        raise invalid_request("body_invalid", f"Too many {where} parameters.") from None
    root: dict[str, Any] = {}
    for name, value in pairs:
        path = _split_brackets(name)
        if len(path) > MAX_DEPTH:
            raise invalid_request(
                "body_invalid", f"Parameters nest deeper than {MAX_DEPTH} levels."
            )
        _insert(root, path, value, name)
    params = {key: _lists_from_indexes(child, (key,)) for key, child in root.items()}
    _check_values(params, 1)
    return params


def _split_brackets(name: str) -> list[str]:
    head, _, rest = name.partition("[")
    if not rest:
        return [name]
    parts = [head]
    for chunk in ("[" + rest).split("[")[1:]:
        if not chunk.endswith("]"):
            raise invalid_request("parameter_invalid", f"Malformed parameter name {name!r}.", name)
        parts.append(chunk[:-1])
    return parts


def _insert(node: dict[str, Any], path: list[str], value: str, name: str) -> None:
    for position, part in enumerate(path):
        if part == "":  # `a[]=x` appends to the list `a`
            part = str(len(node))
        if position == len(path) - 1:
            if part in node:
                raise invalid_request("parameter_invalid", f"Parameter {name!r} given twice.", name)
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid_request("parameter_invalid", f"Conflicting parameter {name!r}.", name)
        node = child


def _lists_from_indexes(node: Any, path: tuple[str, ...]) -> Any:
    """Keys made of digits are list indexes: `l[0]=x&l[1]=y` is ["x", "y"], as Stripe's
    clients send lists. One list's indexes are exactly 0..n-1 in plain ASCII digits: "00",
    "²" and "١" also pass `str.isdigit()`, and reading them with `int()` would be ambiguous
    or fail, so they are refused with the key named, like gaps and indexes mixed with names.
    """
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexes(child, (*path, key)) for key, child in node.items()}
    indexes = [key for key in converted if key.isdigit()]
    if not indexes:
        return converted
    for key in indexes:
        if not key.isascii() or (key.startswith("0") and key != "0"):
            raise _bad_index(path, key, "list indexes are written 0, 1, 2, ... in ASCII digits")
    if len(indexes) != len(converted):
        raise _bad_index(path, indexes[0], "keys made of digits are list indexes, not names")
    expected = {str(position) for position in range(len(indexes))}
    # Plain ASCII integers sort numerically by (length, text), without int() on huge keys.
    beyond = sorted(set(indexes) - expected, key=lambda key: (len(key), key))
    if beyond:
        raise _bad_index(path, beyond[0], "a list's indexes run 0, 1, 2, ... without gaps")
    return [converted[str(position)] for position in range(len(indexes))]


def _bad_index(path: tuple[str, ...], key: str, rule: str) -> ApiError:
    param = bracket_path((*path, key))
    return invalid_request("parameter_invalid", f"Invalid list index in {param}: {rule}.", param)
