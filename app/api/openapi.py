"""The OpenAPI 3.1 document, generated from the pydantic models that validate requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api.schemas import (
    CheckoutSessionCreate,
    CheckoutSessionList,
    CheckoutSessionListParams,
    CheckoutSessionObject,
    DeletedObject,
    ErrorEnvelope,
    EventList,
    EventListParams,
    EventObject,
    EventResend,
    LineItemList,
    LineItemListParams,
    ListParams,
    NetworkList,
    PaymentCreate,
    PaymentCreated,
    PaymentList,
    PaymentListParams,
    PaymentObject,
    RefundCreate,
    RefundList,
    RefundListParams,
    RefundObject,
    WebhookDeliveryList,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointUpdate,
    WebhookSecretRotate,
)

_COMPONENT_MODELS: list[type[BaseModel]] = [
    CheckoutSessionCreate,
    CheckoutSessionObject,
    CheckoutSessionList,
    LineItemList,
    ErrorEnvelope,
    PaymentCreate,
    PaymentObject,
    PaymentCreated,
    PaymentList,
    NetworkList,
]
_COMPONENT_MODELS += [
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookSecretRotate,
    WebhookEndpointObject,
    WebhookEndpointList,
    WebhookDeliveryList,
    DeletedObject,
    EventObject,
    EventList,
    EventResend,
]
_COMPONENT_MODELS += [RefundCreate, RefundObject, RefundList]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _json_or_csv(model: type[BaseModel], description: str) -> dict[str, Any]:
    """A list's answer: its JSON page, or with `Accept: text/csv` the whole filtered range as
    CSV (docs/api.md, "CSV exports")."""
    answer = _json(model, description + "; with Accept: text/csv, every match as CSV")
    answer["content"]["text/csv"] = {"schema": {"type": "string"}}
    return answer


_ERRORS = {
    "400": _json(ErrorEnvelope, "Invalid request"),
    "401": _json(ErrorEnvelope, "No valid API key"),
    "404": _json(ErrorEnvelope, "No such object"),
    "409": _json(ErrorEnvelope, "Idempotent request still in progress"),
    "413": _json(ErrorEnvelope, "Body larger than 64 KiB"),
    "415": _json(ErrorEnvelope, "Unsupported content type"),
    "429": _json(ErrorEnvelope, "Too many requests with this API key (see Retry-After)"),
}
_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_SESSION_ID = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Top-level query params; `created` is documented in the deepObject style."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    parameters = []
    for name, prop in schema["properties"].items():
        if name == "created":
            parameters.append(
                {
                    "name": "created",
                    "in": "query",
                    "style": "deepObject",
                    "explode": True,
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        # Unix seconds or an ISO 8601 time ("2025-11-23T13:05:00Z").
                        "properties": {
                            op: {
                                "anyOf": [
                                    {"type": "integer", "minimum": 0, "maximum": 253402300799},
                                    {"type": "string", "format": "date-time"},
                                ]
                            }
                            for op in ("gt", "gte", "lt", "lte")
                        },
                    },
                }
            )
            continue
        parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
    return parameters


def _body(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    return {
        "required": required,
        "content": {
            "application/json": {"schema": _ref(model)},
            "application/x-www-form-urlencoded": {"schema": _ref(model)},
        },
    }


def _path_id(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    }


def _webhook_paths() -> dict[str, Any]:
    """Webhook endpoints and events (docs/webhooks.md)."""
    endpoint_id = _path_id("endpoint_id")
    event_id = _path_id("event_id")
    return {
        "/v1/webhook_endpoints": {
            "post": {
                "operationId": "CreateWebhookEndpoint",
                "parameters": [_IDEMPOTENCY_HEADER],
                "requestBody": _body(WebhookEndpointCreate),
                "responses": {
                    "200": _json(WebhookEndpointObject, "The endpoint, with its secret (once)"),
                    **_ERRORS,
                },
            },
            "get": {
                "operationId": "ListWebhookEndpoints",
                "parameters": _query_parameters(ListParams),
                "responses": {"200": _json(WebhookEndpointList, "A page of endpoints"), **_ERRORS},
            },
        },
        "/v1/webhook_endpoints/{endpoint_id}": {
            "get": {
                "operationId": "RetrieveWebhookEndpoint",
                "parameters": [endpoint_id],
                "responses": {"200": _json(WebhookEndpointObject, "The endpoint"), **_ERRORS},
            },
            "post": {
                "operationId": "UpdateWebhookEndpoint",
                "parameters": [endpoint_id, _IDEMPOTENCY_HEADER],
                "requestBody": _body(WebhookEndpointUpdate, required=False),
                "responses": {"200": _json(WebhookEndpointObject, "The endpoint"), **_ERRORS},
            },
            "delete": {
                "operationId": "DeleteWebhookEndpoint",
                "parameters": [endpoint_id, _IDEMPOTENCY_HEADER],
                "responses": {"200": _json(DeletedObject, "Deleted"), **_ERRORS},
            },
        },
        "/v1/webhook_endpoints/{endpoint_id}/rotate_secret": {
            "post": {
                "operationId": "RotateWebhookEndpointSecret",
                "parameters": [endpoint_id, _IDEMPOTENCY_HEADER],
                "requestBody": _body(WebhookSecretRotate, required=False),
                "responses": {
                    "200": _json(WebhookEndpointObject, "The endpoint, with its new secret"),
                    **_ERRORS,
                },
            },
        },
        "/v1/webhook_endpoints/{endpoint_id}/test": {
            "post": {
                "operationId": "TestWebhookEndpoint",
                "parameters": [endpoint_id, _IDEMPOTENCY_HEADER],
                "responses": {
                    "200": _json(EventObject, "The webhook_endpoint.test event owed to it"),
                    **_ERRORS,
                },
            },
        },
        "/v1/webhook_endpoints/{endpoint_id}/deliveries": {
            "get": {
                "operationId": "ListWebhookDeliveries",
                "parameters": [endpoint_id, *_query_parameters(ListParams)],
                "responses": {
                    "200": _json(WebhookDeliveryList, "Deliveries with recent attempts"),
                    **_ERRORS,
                },
            },
        },
        "/v1/events": {
            "get": {
                "operationId": "ListEvents",
                "parameters": _query_parameters(EventListParams),
                "responses": {"200": _json(EventList, "A page of events"), **_ERRORS},
            },
        },
        "/v1/events/{event_id}": {
            "get": {
                "operationId": "RetrieveEvent",
                "parameters": [event_id],
                "responses": {"200": _json(EventObject, "The event"), **_ERRORS},
            },
        },
        "/v1/events/{event_id}/resend": {
            "post": {
                "operationId": "ResendEvent",
                "parameters": [event_id, _IDEMPOTENCY_HEADER],
                "requestBody": _body(EventResend, required=False),
                "responses": {
                    "200": _json(WebhookDeliveryList, "The deliveries scheduled now"),
                    **_ERRORS,
                },
            },
        },
    }


def _refund_paths() -> dict[str, Any]:
    """Refunds (docs/api.md, Refunds)."""
    refund_id = _path_id("refund_id")
    return {
        "/v1/refunds": {
            "post": {
                "operationId": "CreateRefund",
                "parameters": [_IDEMPOTENCY_HEADER],
                "requestBody": _body(RefundCreate),
                "responses": {
                    "200": _json(RefundObject, "The refund, waiting for the shopper's address"),
                    **_ERRORS,
                },
            },
            "get": {
                "operationId": "ListRefunds",
                "parameters": _query_parameters(RefundListParams),
                "responses": {"200": _json(RefundList, "A page of refunds"), **_ERRORS},
            },
        },
        "/v1/refunds/{refund_id}": {
            "get": {
                "operationId": "RetrieveRefund",
                "parameters": [refund_id],
                "responses": {"200": _json(RefundObject, "The refund"), **_ERRORS},
            },
        },
        "/v1/refunds/{refund_id}/cancel": {
            "post": {
                "operationId": "CancelRefund",
                "parameters": [refund_id, _IDEMPOTENCY_HEADER],
                "responses": {"200": _json(RefundObject, "The canceled refund"), **_ERRORS},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "validation") for model in _COMPONENT_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    request_body = {
        "required": True,
        "content": {
            "application/json": {"schema": _ref(CheckoutSessionCreate)},
            "application/x-www-form-urlencoded": {"schema": _ref(CheckoutSessionCreate)},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kassa API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"bearer": []}, {"basic": []}],
        "paths": {
            "/v1/checkout/sessions": {
                "post": {
                    "operationId": "CreateCheckoutSession",
                    "parameters": [_IDEMPOTENCY_HEADER],
                    "requestBody": request_body,
                    "responses": {
                        "200": _json(CheckoutSessionObject, "The new session"),
                        **_ERRORS,
                    },
                },
                "get": {
                    "operationId": "ListCheckoutSessions",
                    "parameters": _query_parameters(CheckoutSessionListParams),
                    "responses": {
                        "200": _json_or_csv(CheckoutSessionList, "A page of sessions"),
                        **_ERRORS,
                    },
                },
            },
            "/v1/checkout/sessions/{session_id}": {
                "get": {
                    "operationId": "RetrieveCheckoutSession",
                    "parameters": [_SESSION_ID],
                    "responses": {"200": _json(CheckoutSessionObject, "The session"), **_ERRORS},
                },
            },
            "/v1/checkout/sessions/{session_id}/line_items": {
                "get": {
                    "operationId": "ListCheckoutSessionLineItems",
                    "parameters": [_SESSION_ID, *_query_parameters(LineItemListParams)],
                    "responses": {
                        "200": _json(LineItemList, "A page of the session's line items"),
                        **_ERRORS,
                    },
                },
            },
            "/v1/checkout/sessions/{session_id}/expire": {
                "post": {
                    "operationId": "ExpireCheckoutSession",
                    "parameters": [_SESSION_ID, _IDEMPOTENCY_HEADER],
                    "responses": {
                        "200": _json(CheckoutSessionObject, "The expired session"),
                        **_ERRORS,
                    },
                },
            },
            "/v1/checkout/sessions/{session_id}/payments": {
                "post": {
                    "operationId": "CreatePayment",
                    "parameters": [_SESSION_ID, _IDEMPOTENCY_HEADER],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref(PaymentCreate)},
                            "application/x-www-form-urlencoded": {"schema": _ref(PaymentCreate)},
                        },
                    },
                    "responses": {
                        "200": _json(
                            PaymentCreated,
                            "The session's payment on this option, ready for a wallet: a new "
                            "one, or its pending payment while that is still valid",
                        ),
                        "503": _json(ErrorEnvelope, "No price or node available; retry"),
                        **_ERRORS,
                    },
                },
            },
            "/v1/payments": {
                "get": {
                    "operationId": "ListPayments",
                    "parameters": _query_parameters(PaymentListParams),
                    "responses": {
                        "200": _json_or_csv(PaymentList, "A page of payments"),
                        **_ERRORS,
                    },
                },
            },
            "/v1/payments/{payment_id}": {
                "get": {
                    "operationId": "RetrievePayment",
                    "parameters": [
                        {
                            "name": "payment_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                        }
                    ],
                    "responses": {"200": _json(PaymentObject, "The payment"), **_ERRORS},
                },
            },
            "/v1/networks": {
                "get": {
                    "operationId": "ListNetworks",
                    "responses": {
                        "200": _json(NetworkList, "Networks of the key's mode, with watchers"),
                        **_ERRORS,
                    },
                },
            },
            **_webhook_paths(),
            **_refund_paths(),
        },
    }
