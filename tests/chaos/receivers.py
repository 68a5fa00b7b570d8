"""Webhook receivers for the chaos test: real HTTP servers on loopback that verify every
signature (the `standardwebhooks` library), answer 500 at random, and record what they saw.

A receiver answers 500 to about `failure_rate` of first attempts of a message and accepts its
retries: Kassa's second retry comes 5 minutes after the first (app/webhooks/retry.py), beyond
this test's bound, so failing retries too would only test patience. The first retry (5 s)
and the retakes of killed workers' claims are what the test exercises.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    name: str
    rng: random.Random
    failure_rate: float = 0.3
    secret: str = ""
    endpoint_id: str = ""
    port: int = 0
    # webhook-id -> every body accepted with a 2xx under that id (the receiver's "effects"
    # are applied once per id: the first; the rest must be the same body).
    accepted: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    requests: Counter[str] = field(default_factory=Counter)  # webhook-id -> requests received
    failed: Counter[str] = field(default_factory=Counter)  # webhook-id -> 500s answered
    bad_signatures: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{self.name}"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        self.requests[webhook_id] += 1
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as error:
            self.bad_signatures.append(f"{webhook_id}: {error}")
            return web.Response(status=400, text="bad signature")
        first_attempt = self.requests[webhook_id] == 1
        if first_attempt and self.rng.random() < self.failure_rate:
            self.failed[webhook_id] += 1
            return web.Response(status=500, text="random failure")
        self.accepted[webhook_id].append(body)
        return web.Response(status=200, text="ok")
