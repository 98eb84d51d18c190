"""What oversized request bodies cost a gateway process: its memory while they arrive.

Starts the demo city and one `govgraph serve` process, then sends 50 MB request bodies
as an authenticated client (a request without credentials is refused before its body
is read, so only a client's own key gets this far): one with Content-Length, eight at
once with Content-Length, eight at once chunked. Prints, for each round, the process's
resident memory before it, the peak while the bodies arrive (sampled every 10 ms) and
after, and what each request got back.

    .venv/bin/python -m bench.edge_memory      # embedded PostgreSQL, or the one at $DATABASE_URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from demo.stack import DemoStack
from demo.synth import CityConfig

ROOT = Path(__file__).parents[1]
MB = 1024 * 1024
HEAD = (
    "POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
    "X-API-Key: demo-only-developer-api-key\r\nX-Purpose: development\r\n"
)
CHUNK = b'{"query": "{ __typename }", "pad": "' + b"x" * (MB - 40)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def send(port: int, size: int, chunked: bool) -> tuple[str, bytes]:
    """POST `size` bytes as an authenticated client: the answer's status code and body, or
    how the connection ended and b""."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    writer.write(f"{HEAD}{framing}\r\n\r\n".encode())
    sent = 0
    try:
        while sent < size:
            piece = CHUNK[: min(len(CHUNK), size - sent)]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            sent += len(piece)
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server stopped reading: its answer, if any, is waiting
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head.split()[1].decode(), await reader.readexactly(length)
    except (ConnectionResetError, asyncio.IncompleteReadError):
        return f"connection ended after {sent // MB} MB sent", b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def measured(pid: int, port: int, count: int, size: int, chunked: bool) -> tuple[float, float, float]:
    """(RSS before, peak, after) in MB around `count` concurrent bodies."""
    process = psutil.Process(pid)
    before = process.memory_info().rss / MB
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss / MB)
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    outcomes = [
        status for status, _ in await asyncio.gather(*(send(port, size, chunked) for _ in range(count)))
    ]
    await asyncio.sleep(0.2)
    done.set()
    await sampler
    after = process.memory_info().rss / MB
    framing = "chunked" if chunked else "Content-Length"
    print(
        f"{count} x {size // MB} MB ({framing}): RSS {before:.0f} MB before, peak {peak:.0f} MB "
        f"(+{peak - before:.0f}), {after:.0f} MB after; answers {sorted(set(outcomes))}",
        flush=True,
    )
    return before, peak, after


async def run(size_mb: int, data_dir: Path) -> None:
    stack = DemoStack(
        data_dir=data_dir, database_url=os.environ.get("DATABASE_URL"), city=CityConfig(persons=2000)
    )
    await stack.start()
    port = free_port()
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--allow-demo-keys"]
    command += ["--ops-listen", f"127.0.0.1:{free_port()}"]
    server = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env={**os.environ, **stack.gateway_env()}, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, "the gateway did not start"
                await asyncio.sleep(0.2)
            for _ in range(20):  # warm: the first requests allocate what every later one reuses
                await client.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ __typename }"},
                    headers={"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"},
                )
        size = size_mb * MB
        await measured(server.pid, port, 1, size, chunked=False)
        await measured(server.pid, port, 8, size, chunked=False)
        await measured(server.pid, port, 8, size, chunked=True)
    finally:
        server.terminate()
        await server.wait()
        await stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=50, help="size of each body (default %(default)s)")
    parser.add_argument("--data-dir", help="the demo city's data directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govgraph-edge-") as scratch:
        asyncio.run(run(args.mb, Path(args.data_dir or scratch)))


if __name__ == "__main__":
    main()
