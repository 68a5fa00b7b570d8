"""Browser-test helpers: `kassa dev --json` as a subprocess, a merchant site, a test wallet.

The test wallet stands in for a browser extension. An extension's RPC traffic does not
come from the page and is not bound by the page's CSP; an injected script is. So the
injected EIP-1193 provider `fetch`es a marker path on the page's own origin
(`/__test_wallet__/rpc`), which Playwright intercepts and forwards to anvil from Python:
the page's `connect-src 'self'` stays intact, and the marker makes the wallet's requests
easy to tell apart from the page's own when asserting that nothing leaves the origin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WALLET_RPC_PATH = "/__test_wallet__/rpc"
# Screenshots are always taken; they replace the committed ones in docs/img only when asked
# (KASSA_UPDATE_SCREENSHOTS=1), so an ordinary test run leaves the work tree clean.
SCREENSHOTS = (
    REPO_ROOT / "docs" / "img"
    if os.environ.get("KASSA_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "kassa-checkout-screenshots"
)
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 360, "height": 780}


@dataclass
class DevServer:
    """A running `kassa dev --json` and what it printed."""

    process: subprocess.Popen[bytes]
    info: dict[str, Any]
    cwd: Path

    @property
    def origin(self) -> str:
        return str(self.info["api_base"]).removesuffix("/v1")

    @property
    def auth(self) -> tuple[str, str]:
        return (str(self.info["secret_key"]), "")

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.info['api_base']}{path}", auth=self.auth, timeout=30, **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json()

    def create_session(self, shop: MerchantSite, **overrides: Any) -> dict[str, Any]:
        body = {
            "amount_fiat": "12.34",
            "currency": "USD",
            "allowed_networks": ["devnet"],
            "allowed_crypto_currencies": ["ETH", "USDC", "USDT"],
            "success_url": f"{shop.origin}/success?session={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{shop.origin}/cancel",
            **overrides,
        }
        session: dict[str, Any] = self.api("POST", "/checkout/sessions", json=body)
        return session

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: kassa dev stops the server and anvil
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_kassa_dev(cwd: Path, timeout: float = 60.0) -> DevServer:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env.update(
        {
            "KASSA_CONFIG_FILE": str(cwd / "absent.toml"),
            "KASSA_LOG_LEVEL": "WARNING",
            "KASSA_EXPIRY_INTERVAL_SECONDS": "1",
        }
    )
    log = open(cwd / "kassa-dev.log", "wb")  # noqa: SIM115 - the child keeps writing to it
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dev", "--json", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and not line:
        line = process.stdout.readline()
        if process.poll() is not None:
            break
    if not line:
        process.kill()
        raise RuntimeError(
            "kassa dev printed nothing:\n" + (cwd / "kassa-dev.log").read_text()[-3000:]
        )
    return DevServer(process, json.loads(line), cwd)


@dataclass
class MerchantSite:
    """The merchant's pages (success/cancel) and webhook receiver, on loopback."""

    port: int
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    secret: str = ""
    server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events_for(self, object_id: str) -> list[str]:
        return [
            event["type"]
            for event in list(self.webhooks)
            if event.get("data", {}).get("object", {}).get("id") == object_id
        ]

    def wait_for_event(self, object_id: str, event_type: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if event_type in self.events_for(object_id):
                return
            time.sleep(0.1)
        raise AssertionError(f"no {event_type} webhook for {object_id}: {self.webhooks}")


def start_merchant_site() -> MerchantSite:
    site = MerchantSite(free_port())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = f"<!doctype html><title>Shop</title><h1>{self.path}</h1>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            payload = json.loads(raw or b"{}")
            payload["_headers"] = {k.lower(): v for k, v in self.headers.items()}
            payload["_raw"] = raw.decode()
            site.webhooks.append(payload)
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", site.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.server = server
    return site


@contextmanager
def merchant_site(
    dev: DevServer | None = None, events: tuple[str, ...] = ("*",)
) -> Iterator[MerchantSite]:
    """A merchant site for a test module; with `dev`, subscribed to `events` through the API."""
    site = start_merchant_site()
    if dev is not None:
        endpoint = dev.api(
            "POST",
            "/webhook_endpoints",
            json={"url": f"{site.origin}/webhooks", "enabled_events": list(events)},
        )
        site.secret = endpoint["secret"]
    try:
        yield site
    finally:
        if site.server is not None:
            site.server.shutdown()


def wallet_init_script(account: str, start_chain_id: str | None = None) -> str:
    """An EIP-1193 provider announced via EIP-6963; RPC goes to the marker path.

    `window.__testWallet.rejectNext = true` makes the next eth_sendTransaction fail with
    4001 (user rejected). With `start_chain_id`, the wallet starts on another chain and
    does not know the devnet until `wallet_addEthereumChain` (the 4902 flow).
    """
    config = json.dumps({"account": account, "startChain": start_chain_id})
    return """
(() => {
  const config = __CONFIG__;
  const state = { rejectNext: false, chainId: config.startChain, knownChains: new Set(),
                  calls: [] };
  window.__testWallet = state;
  let id = 0;
  async function rpc(method, params) {
    const response = await fetch("__RPC_PATH__", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params || [] }) });
    const body = await response.json();
    if (body.error) { const e = new Error(body.error.message); e.code = body.error.code;
                      e.data = body.error.data; throw e; }
    return body.result;
  }
  const provider = {
    isKassaTestWallet: true,
    async request({ method, params }) {
      state.calls.push(method);
      // Also tell the test (through the marker route), since page state dies on redirect.
      if (!method.startsWith("eth_")) rpc("testwallet_log", [method]).catch(() => {});
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [config.account];
      if (method === "eth_chainId" && state.chainId) return state.chainId;
      if (method === "wallet_switchEthereumChain") {
        const target = params[0].chainId;
        if (state.chainId && !state.knownChains.has(target)) {
          const e = new Error("Unrecognized chain ID"); e.code = 4902; throw e; }
        state.chainId = null;  // now on the real (anvil) chain
        return null;
      }
      if (method === "wallet_addEthereumChain") { state.knownChains.add(params[0].chainId);
                                                  return null; }
      if (method === "eth_sendTransaction" && state.rejectNext) {
        state.rejectNext = false;
        const e = new Error("User rejected the request."); e.code = 4001; throw e; }
      return rpc(method, params);
    },
    on() {}, removeListener() {},
  };
  const info = { uuid: "5f0e7a1c-0000-4000-8000-000000000001", name: "Kassa Test Wallet",
                 icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E",
                 rdns: "dev.kassa.testwallet" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider",
    { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
""".replace("__CONFIG__", config).replace("__RPC_PATH__", WALLET_RPC_PATH)


async def add_test_wallet(
    context: Any, rpc_url: str, account: str, start_chain_id: str | None = None
) -> None:
    """The test wallet in every page of a Playwright browser context, its RPC answered by
    the node at `rpc_url` (the `testwallet_log` notes are acknowledged and dropped)."""
    await context.add_init_script(wallet_init_script(account, start_chain_id))

    async def forward(route: Any) -> None:
        call = json.loads(route.request.post_data or "{}")
        if call.get("method") == "testwallet_log":
            await route.fulfill(json={"jsonrpc": "2.0", "id": call["id"], "result": None})
            return
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                rpc_url,
                content=route.request.post_data,
                headers={"Content-Type": "application/json"},
            )
        await route.fulfill(status=200, body=answer.content, content_type="application/json")

    await context.route(f"**{WALLET_RPC_PATH}", forward)


def mint_test_tokens(rpc_url: str, token: str, account: str, amount: int) -> None:
    """TestUSDC/TestUSDT mint to anyone; anvil accounts are unlocked, so no key is needed."""
    data = "0x40c10f19" + account.lower().removeprefix("0x").rjust(64, "0") + f"{amount:064x}"
    result = httpx.post(
        rpc_url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_sendTransaction",
            "params": [{"from": account, "to": token, "data": data}],
        },
        timeout=30,
    ).json()
    assert "result" in result, result
