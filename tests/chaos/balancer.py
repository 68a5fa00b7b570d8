"""A small round-robin TCP load balancer (asyncio) in front of the `kassa serve` processes.

Each client connection goes to the next backend in turn; when that backend refuses the
connection (its process was killed), the next one is tried, as a real load balancer does.
Bytes are relayed both ways until either side closes. Per backend it records when it last
sent a client any bytes, so the test can tell that a restarted process served again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


@dataclass
class Backend:
    port: int
    connections: int = 0
    refused: int = 0
    answered_at: list[float] = field(default_factory=list)  # monotonic, first reply byte


class RoundRobinBalancer:
    def __init__(self, backend_ports: list[int]) -> None:
        self.backends = [Backend(port) for port in backend_ports]
        self._next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> RoundRobinBalancer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    async def _connect(
        self,
    ) -> tuple[Backend, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            backend = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", backend.port), timeout=2
                )
            except (OSError, TimeoutError):
                backend.refused += 1
                continue
            backend.connections += 1
            return backend, reader, writer
        return None

    async def _accept(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            connected = await self._connect()
            if connected is None:
                return  # every backend is down: the client sees the connection close
            backend, reader, writer = connected
            try:
                await asyncio.gather(
                    self._pipe(client_reader, writer, None),
                    self._pipe(reader, client, backend),
                )
            finally:
                writer.close()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            client.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answering: Backend | None
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if answering is not None:
                    answering.answered_at.append(time.monotonic())
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()
