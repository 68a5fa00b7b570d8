"""Checkout page weight and time to first byte, against the real server (`kassa dev`).

    .venv/bin/python bench/checkout.py [--requests 300]

Starts `kassa dev --json` in a temporary directory (its own anvil and SQLite), creates a
session, and measures the checkout page as a shopper's browser loads it, with gzip:
the HTML plus every script, stylesheet and icon it references, in bytes on the wire. Both
steps are measured: choosing (the first view) and paying (QR code and wallet button). Then
it times the first byte of the page over many sequential requests (p50/p99).
The budget is 60 KB for the page with all its assets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BUDGET_BYTES = 60 * 1024
REPO_ROOT = Path(__file__).resolve().parent.parent
_ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+href)="(/[^"]+)"')


def start_dev(cwd: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASSA_")}
    env["KASSA_CONFIG_FILE"] = str(cwd / "absent.toml")
    env["KASSA_LOG_LEVEL"] = "WARNING"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dev", "--json", "--port", str(port)],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=open(cwd / "kassa-dev.log", "wb"),  # noqa: SIM115 - the child writes to it
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise SystemExit("kassa dev did not start:\n" + (cwd / "kassa-dev.log").read_text())
    return process, json.loads(line)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wire_bytes(response: httpx.Response) -> int:
    """Body bytes as transferred plus the response head (status line and headers)."""
    head = len("HTTP/1.1 200 OK\r\n\r\n") + sum(
        len(name) + len(value) + 4 for name, value in response.headers.raw
    )
    return head + response.num_bytes_downloaded


def page_weight(client: httpx.Client, url: str) -> tuple[int, int, list[tuple[str, int, str]]]:
    """(wire bytes, decoded body bytes, [(path, wire bytes, encoding)]) for a page + assets."""
    rows: list[tuple[str, int, str]] = []
    page = client.get(url)
    page.raise_for_status()
    rows.append(
        (
            url.split("/", 3)[-1][:40],
            wire_bytes(page),
            page.headers.get("content-encoding", "-"),
        )
    )
    decoded = len(page.content)
    base = url.split("/checkout/", 1)[0]
    for path in dict.fromkeys(_ASSET.findall(page.text)):
        asset = client.get(base + path)
        asset.raise_for_status()
        rows.append((path, wire_bytes(asset), asset.headers.get("content-encoding", "-")))
        decoded += len(asset.content)
    return sum(size for _, size, _ in rows), decoded, rows


def ttfb(url: str, count: int) -> list[float]:
    """Seconds from sending the request to the response headers, over one kept-alive connection."""
    times = []
    with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
        for _ in range(count):
            start = time.perf_counter()
            with client.stream("GET", url) as response:
                times.append(time.perf_counter() - start)
                response.read()
    return times


def report(label: str, wire: int, decoded: int, rows: list[tuple[str, int, str]]) -> None:
    print(f"\n{label}: {wire} bytes on the wire ({wire / 1024:.1f} KB), {decoded} decoded")
    for path, size, encoding in rows:
        print(f"  {size:>7}  {encoding:<5} {path}")
    verdict = "within" if wire < BUDGET_BYTES else "OVER"
    print(f"  -> {verdict} the {BUDGET_BYTES // 1024} KB budget")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kassa-bench-") as tmp:
        process, info = start_dev(Path(tmp), free_port())
        try:
            auth = (info["secret_key"], "")
            session = httpx.post(
                f"{info['api_base']}/checkout/sessions",
                auth=auth,
                json={
                    "amount_fiat": "49.90",
                    "currency": "USD",
                    "allowed_networks": ["devnet"],
                    "allowed_crypto_currencies": ["ETH", "USDC", "USDT"],
                    "success_url": "https://shop.example/thanks",
                    "cancel_url": "https://shop.example/cart",
                },
            ).json()
            url = session["checkout_url"]
            # A fresh client per measurement: nothing cached, as for a first-time shopper.
            with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
                choose = page_weight(client, url)
                form = client.get(url).text
                token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
                assert token, "no CSRF token on the page"
                paid = client.post(
                    f"{url}/pay", data={"option": "devnet:USDC", "csrf_token": token.group(1)}
                )
                assert paid.status_code == 303, paid.text
            with httpx.Client(headers={"Accept-Encoding": "gzip"}, cookies=client.cookies) as fresh:
                pay = page_weight(fresh, url)
            report("Checkout page, choose step", *choose)
            report("Checkout page, pay step (QR code, wallet button)", *pay)
            times = sorted(ttfb(url, args.requests))
            p50 = statistics.median(times) * 1000
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
            print(
                f"\nTTFB over {len(times)} sequential requests: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            )
            return 0 if max(choose[0], pay[0]) < BUDGET_BYTES else 1
        finally:
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
