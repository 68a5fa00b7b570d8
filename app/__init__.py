"""Kassa: a self-hosted, non-custodial crypto checkout gateway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quart import Quart, Response, abort, g, request
from quart.typing import ResponseTypes
from quart.wrappers import Request
from werkzeug.exceptions import HTTPException, RequestTimeout

from app import objects as _objects  # noqa: F401 - registers event snapshots
from app.api import api
from app.api.errors import ApiError, error_response, internal_error
from app.checkout import checkout, compress_response, static_url
from app.checkout.assets import add_plugin_static
from app.checkout.refund_claim import refund_claim
from app.config import Settings, load_settings
from app.dashboard import BLUEPRINTS as DASHBOARD_BLUEPRINTS
from app.db import close_database, open_database
from app.logs import keep_out_of_logs
from app.models import random_base62
from app.networks import PluginError
from app.notify import process_listener
from app.plugins import make_plugin_manager, start_registry
from app.resources import static_folder, templates_folder
from app.workers import start_background_loops

log = logging.getLogger("kassa")

MAX_BODY_BYTES = 64 * 1024
# How long shutdown waits for requests still being handled (their clients may have left).
SHUTDOWN_GRACE_SECONDS = 10.0


class KassaRequest(Request):
    """Quart's request, its body timeout kept by `asyncio.timeout` around the wait rather than
    Quart's `asyncio.wait_for`, which on Python 3.11 runs each wait in a task of its own: one
    task less for every request that reads its body (2 % of a session create's time)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body_seconds = self.body_timeout
        self.body_timeout = None  # Quart's own waits then await the body directly

    async def get_data(  # type: ignore[override]
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> str | bytes:
        try:
            async with asyncio.timeout(self.body_seconds):
                return await super().get_data(cache, as_text, parse_form_data)
        except TimeoutError as error:
            raise RequestTimeout() from error

    async def _load_form_data(self) -> None:
        try:
            async with asyncio.timeout(self.body_seconds):
                await super()._load_form_data()
        except TimeoutError as error:
            raise RequestTimeout() from error


class KassaQuart(Quart):
    """Quart whose requests run to their end when their client goes away.

    Quart cancels a request's handler when the client disconnects. A cancellation that lands
    while Tortoise opens a transaction (between taking the connection and `BEGIN`) skips the
    transaction's exit: on SQLite its connection lock stays held and every later transaction
    hangs; on PostgreSQL a pooled connection leaks. So the handler runs in a task of its own
    that a disconnect does not cancel, as a request to Stripe does: a create whose client left
    is committed, and a retry with the same Idempotency-Key replays it. Streamed bodies (the
    status streams) are sent after this returns and still stop with their client.
    """

    request_class = KassaRequest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Requests still being handled, some perhaps for clients that left: shutdown waits
        # for them before it closes the database under them.
        self.handling: set[asyncio.Future[ResponseTypes]] = set()

    async def handle_request(self, request: Request) -> ResponseTypes:
        handling = asyncio.ensure_future(super().handle_request(request))
        self.handling.add(handling)
        handling.add_done_callback(self.handling.discard)
        try:
            return await asyncio.shield(handling)
        except asyncio.CancelledError:
            handling.add_done_callback(_report_orphan_failure)
            raise

    async def finish_requests(self, grace_seconds: float) -> None:
        """Wait up to `grace_seconds` for the requests being handled to end."""
        if self.handling:
            await asyncio.wait(set(self.handling), timeout=grace_seconds)


def _report_orphan_failure(task: asyncio.Future[ResponseTypes]) -> None:
    """A request whose client left still finishes, and nobody awaits it: say if it failed."""
    if not task.cancelled() and task.exception() is not None:
        log.error("request failed after its client disconnected", exc_info=task.exception())


def _api_error_for_http(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    if status == 413:
        return ApiError(
            413,
            "invalid_request_error",
            "body_too_large",
            f"The request body is larger than {MAX_BODY_BYTES} bytes.",
        )
    if status == 404:
        return ApiError(
            404,
            "invalid_request_error",
            "resource_missing",
            f"Unrecognized request URL ({request.method}: {request.path}).",
        )
    if status == 405:
        return ApiError(
            405,
            "invalid_request_error",
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}.",
        )
    if status < 500:
        return ApiError(status, "invalid_request_error", "invalid_request", exc.description or "")
    return internal_error()


def register_plugin_blueprints(
    app: Quart, settings: Settings, extra_plugins: Sequence[object] = ()
) -> None:
    """Routes, templates and static files plugins add (`register_blueprints`), once each.

    A plugin's static files are served under `/static/plugins/NAME/` (NAME: the blueprint's
    name), where `static_url("plugins/NAME/file")` finds them.
    """
    pm = make_plugin_manager(settings, extra_plugins)
    seen: set[int] = set()
    for blueprints in pm.hook.register_blueprints(settings=settings):
        for blueprint in blueprints or ():
            if id(blueprint) in seen:
                continue  # several plugin instances may share one blueprint
            seen.add(id(blueprint))
            if blueprint.has_static_folder:
                expected = f"/static/plugins/{blueprint.name}"
                if blueprint.static_url_path != expected:
                    raise PluginError(
                        f"blueprint {blueprint.name!r} serves static files at "
                        f"{blueprint.static_url_path!r}; use static_url_path={expected!r}"
                    )
                add_plugin_static(blueprint.name, Path(blueprint.static_folder))
            app.register_blueprint(blueprint)


def create_app(settings: Settings | None = None, extra_plugins: Sequence[object] = ()) -> Quart:
    """The application factory: routes, limits, database lifecycle, background loops.

    `extra_plugins` are registered beside the installed ones (tests, embedding apps).
    """
    settings = settings or load_settings()
    keep_out_of_logs(settings.secret_key.get_secret_value())
    app = KassaQuart(
        __name__, static_folder=str(static_folder()), template_folder=str(templates_folder())
    )
    app.config["KASSA_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["BODY_TIMEOUT"] = 15
    app.config["RESPONSE_TIMEOUT"] = 30
    app.register_blueprint(api)

    @app.get("/healthz")
    async def healthz() -> Response:
        """Liveness for load balancers; touches no database (also the benchmark baseline)."""
        return Response('{"status": "ok"}', content_type="application/json")

    app.register_blueprint(checkout)
    app.register_blueprint(refund_claim)
    for blueprint in DASHBOARD_BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_plugin_blueprints(app, settings, extra_plugins)
    app.jinja_env.globals["static_url"] = static_url
    app.after_request(compress_response)

    @app.before_request
    async def assign_request_id() -> None:
        g.request_id = f"req_{random_base62(16)}"

    @app.before_request
    async def hide_package_files() -> None:
        """Static folders are Python packages once installed (their `__init__.py` markers and
        `__pycache__` are not assets): never serve those."""
        if request.path.startswith("/static/") and any(
            part == "__pycache__" or part.endswith(".py") for part in request.path.split("/")
        ):
            abort(404)

    @app.after_request
    async def add_request_id(response: Response) -> Response:
        response.headers["Request-Id"] = g.get("request_id") or f"req_{random_base62(16)}"
        return response

    @app.errorhandler(ApiError)
    async def handle_api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    async def handle_http_exception(exc: HTTPException) -> Response:
        if request.path.startswith("/v1"):
            return error_response(_api_error_for_http(exc))
        return Response(
            exc.description or exc.name, status=exc.code or 500, content_type="text/plain"
        )

    @app.errorhandler(Exception)
    async def handle_unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return await handle_http_exception(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(internal_error())

    @app.before_serving
    async def start() -> None:
        # Plugins first: a bad network configuration stops startup before anything serves.
        app.config["KASSA_REGISTRY"] = start_registry(settings, extra_plugins)
        await open_database(settings.database_url)
        # Wake-ups from every process (PostgreSQL LISTEN): webhook workers, status streams,
        # the watcher's transaction hints.
        await process_listener().start(settings.database_url)
        if settings.run_background_loops:
            app.config["KASSA_LOOPS"] = start_background_loops(settings)

    @app.after_serving
    async def stop() -> None:
        await app.finish_requests(SHUTDOWN_GRACE_SECONDS)
        loops = app.config.pop("KASSA_LOOPS", None)
        if loops is not None:
            await loops.stop()
        registry = app.config.pop("KASSA_REGISTRY", None)
        if registry is not None:
            await registry.close()
        await process_listener().stop()
        await close_database()

    return app
