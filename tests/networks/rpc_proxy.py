"""A small fault-injecting JSON-RPC proxy in front of anvil (127.0.0.1, OS-chosen port).

Knobs (plain attributes, change them between polls): `fail_every` (every Nth request gets
HTTP 502), `timeout_every` (every Nth request stalls for `stall_seconds`), `max_log_range`
("block range too large" for bigger `eth_getLogs`), `lag` (pretend to be that many blocks
behind: head, blocks and logs beyond it are hidden), `pad_extra_data` (PoA-style 97-byte
`extraData` in every block, as Polygon returns), `ignore_log_address` (drop the `address` of
`eth_getLogs` filters, as a buggy or hostile provider might: logs of every contract come back).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web


class RpcProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.fail_every = 0
        self.timeout_every = 0
        self.stall_seconds = 5.0
        self.max_log_range: int | None = None
        self.lag = 0
        self.pad_extra_data = False
        self.ignore_log_address = False
        self.requests = 0
        self.methods: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> RpcProxy:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)  # providers put API keys in paths
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self._session is not None
        async with self._session.post(self.upstream, json=body) as response:
            return dict(await response.json())

    async def _real_head(self) -> int:
        answer = await self._forward(
            {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []}
        )
        return int(answer["result"], 16)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests += 1
        if isinstance(body, list):  # a JSON-RPC batch: faults apply to it as a whole
            self.methods["batch"] += 1
            if self.fail_every and self.requests % self.fail_every == 0:
                self.injected["502"] += 1
                return web.Response(status=502, text="bad gateway")
            assert self._session is not None
            async with self._session.post(self.upstream, json=body) as response:
                return web.json_response(await response.json())
        method = body.get("method", "")
        self.methods[method] += 1
        if self.fail_every and self.requests % self.fail_every == 0:
            self.injected["502"] += 1
            return web.Response(status=502, text="bad gateway")
        if self.timeout_every and self.requests % self.timeout_every == 0:
            self.injected["timeout"] += 1
            await asyncio.sleep(self.stall_seconds)
        params = list(body.get("params") or [])
        if method == "eth_getLogs" and self.ignore_log_address:
            params = [{k: v for k, v in params[0].items() if k != "address"}]
            body = {**body, "params": params}
        if method == "eth_getLogs" and self.max_log_range is not None:
            low, high = await self._range(params[0])
            if high - low + 1 > self.max_log_range:
                self.injected["range"] += 1
                return web.json_response(
                    {
                        "jsonrpc": "2.0",
                        "id": body.get("id"),
                        "error": {"code": -32005, "message": "block range too large"},
                    }
                )
        if self.lag:
            lagged = await self._lagged(body, method, params)
            if lagged is not None:
                return web.json_response(lagged)
        answer = await self._forward(body)
        if self.pad_extra_data and method.startswith("eth_getBlockBy"):
            result = answer.get("result")
            if isinstance(result, dict):
                result["extraData"] = "0x" + "ab" * 97
        return web.json_response(answer)

    async def _range(self, filter_: dict[str, Any]) -> tuple[int, int]:
        def number(tag: Any, default: int) -> int:
            if isinstance(tag, str) and tag.startswith("0x"):
                return int(tag, 16)
            return default

        head = await self._real_head()
        return number(filter_.get("fromBlock"), head), number(filter_.get("toBlock"), head)

    async def _lagged(self, body: dict[str, Any], method: str, params: list[Any]) -> Any:
        """Answer as a node `lag` blocks behind, or None to forward unchanged."""
        visible = await self._real_head() - self.lag
        reply = {"jsonrpc": "2.0", "id": body.get("id")}
        if method == "eth_blockNumber":
            return {**reply, "result": hex(visible)}
        if method == "eth_getBlockByNumber":
            tag = params[0]
            if tag in ("latest", "pending", "safe", "finalized"):
                offset = {"latest": 0, "pending": 0, "safe": 1, "finalized": 2}[tag]
                params = [hex(max(0, visible - offset)), *params[1:]]
                return await self._forward({**body, "params": params})
            if int(tag, 16) > visible:
                return {**reply, "result": None}
            return None
        if method == "eth_getLogs":
            low, high = await self._range(params[0])
            if low > visible:
                return {**reply, "result": []}
            clamped = {**params[0], "fromBlock": hex(low), "toBlock": hex(min(high, visible))}
            return await self._forward({**body, "params": [clamped]})
        return None
