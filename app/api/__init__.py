"""The `/v1` merchant API."""

from __future__ import annotations

from quart import Blueprint, Response

from app.api import checkout_sessions, events, webhook_endpoints
from app.api import networks as networks_api
from app.api import payments as payments_api
from app.api import refunds as refunds_api
from app.api.errors import json_response
from app.api.openapi import openapi_document

api = Blueprint("api", __name__, url_prefix="/v1")
api.register_blueprint(checkout_sessions.blueprint)
api.register_blueprint(payments_api.blueprint)
api.register_blueprint(networks_api.blueprint)
api.register_blueprint(webhook_endpoints.blueprint)
api.register_blueprint(events.blueprint)
api.register_blueprint(refunds_api.blueprint)


@api.get("/openapi.json")
async def openapi_json() -> Response:
    return json_response(openapi_document())
