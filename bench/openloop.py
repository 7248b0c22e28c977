"""An open-loop HTTP load generator: requests arrive at a rate, whatever the answers.

    python bench/openloop.py < config.json

wrk keeps a fixed number of connections busy, so a slow server slows the load down
with it and hides its own queueing; Debian has no wrk2, and locust's gevent workers
need a core of their own at this rate. Arrivals here are a Poisson process at
`rate` per second; each request goes out on an idle keep-alive connection (opened
when none is free, as a proxy in front of the app would), and its latency counts
from its scheduled arrival, so a stalled server shows up in full. Prints one JSON
line: statuses, errors, latency percentiles and this process's own CPU time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sys
import time

# Idle connections are dropped before the server's keep-alive (WEB_HEADER_READ_TIMEOUT,
# 5 s) would close them.
IDLE_SECONDS = 4.0


class Pool:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0
        self.peak = 0
        self.free = asyncio.Condition()

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.free:
            while True:
                while self.idle:
                    since, reader, writer = self.idle.pop()
                    if time.monotonic() - since < IDLE_SECONDS:
                        return reader, writer
                    self._close(writer)
                if self.open < self.limit:
                    self.open += 1
                    self.peak = max(self.peak, self.open)
                    break
                await self.free.wait()
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            await self.lost()
            raise

    async def give(self, reader, writer) -> None:
        async with self.free:
            self.idle.append((time.monotonic(), reader, writer))
            self.free.notify()

    async def lost(self, writer=None) -> None:
        async with self.free:
            if writer is not None:
                writer.close()
            self.open -= 1
            self.free.notify()

    def _close(self, writer) -> None:
        writer.close()
        self.open -= 1

    def close_all(self) -> None:
        for _, _, writer in self.idle:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float]) -> dict:
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies, default=0) * 1000, 2),
    }


async def main(config: dict) -> dict:
    pool = Pool(config["host"], int(config["port"]), int(config["max_connections"]))
    workloads = config["workloads"]  # name -> {method, path, body, expect}
    tokens = config["tokens"]
    host_header = config.get("host_header") or config["host"]
    extra = "".join(f"{k}: {v}\r\n" for k, v in config.get("headers", {}).items())
    timeout = float(config.get("timeout", 10))
    rate, duration = float(config["rate"]), float(config["duration"])
    warmup = float(config.get("warmup", 0))
    rng = random.Random(config.get("seed", 14))  # noqa: S311 (arrival times)
    serial = itertools.count()
    names = list(workloads)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    problems = {"unexpected_status": 0, "connection_errors": 0, "timeouts": 0}
    statuses: dict[str, int] = {}

    def encode(name: str, user: int) -> bytes:
        spec = workloads[name]
        body = b""
        if spec.get("body") == "json":
            n = next(serial)
            body = json.dumps(
                {"title": f"open-loop {n}", "description": "x" * 120, "data": {"n": n}}
            ).encode()
        head = (
            f"{spec['method']} {spec['path']} HTTP/1.1\r\nHost: {host_header}\r\n"
            f"Authorization: Bearer {tokens[user % len(tokens)]}\r\n{extra}"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n").encode() + body

    async def one(name: str, user: int, due: float, counted: bool) -> None:
        writer = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await pool.take()
                writer.write(encode(name, user))
                await writer.drain()
                status, closing = await read_response(reader)
        except TimeoutError:
            if writer is not None:
                await pool.lost(writer)
            if counted:
                problems["timeouts"] += 1
            return
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            if writer is not None:
                await pool.lost(writer)
            if counted:
                problems["connection_errors"] += 1
            return
        if closing:
            await pool.lost(writer)
        else:
            await pool.give(reader, writer)
        if counted:
            latencies[name].append(time.monotonic() - due)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status != workloads[name]["expect"]:
                problems["unexpected_status"] += 1

    cpu_before = time.process_time()
    tasks = set()
    start = time.monotonic()
    due = start
    end = start + warmup + duration
    while True:
        due += rng.expovariate(rate)
        if due >= end:
            break
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        name = names[rng.randrange(len(names))]
        task = asyncio.create_task(
            one(name, rng.randrange(int(config["users"])), due, due >= start + warmup)
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    pool.close_all()
    everything = [value for values in latencies.values() for value in values]
    return {
        **summary(everything),
        "rate": rate,
        "duration_s": duration,
        "achieved_rps": round(len(everything) / duration, 1),
        "per_workload": {name: summary(values) for name, values in latencies.items()},
        "statuses": statuses,
        **problems,
        "peak_connections": pool.peak,
        "client_cpu_s": round(time.process_time() - cpu_before, 2),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
