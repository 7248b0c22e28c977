"""`make bench`: Gatehouse under wrk, beside a bare WSGI floor, on a fresh PostgreSQL.

    python bench/run.py [--quick] [--workloads W1,W3] [--connections 16] ...

Creates a scratch PostgreSQL database, migrates it with the Procfile's release line,
seeds it in bulk (bench/seed.py), starts the Procfile's web line in a production
environment and the floor (bench/floor.py under gunicorn gthread), signs the users in,
then runs W1-W5 with wrk (bench/wrk/bench.lua) at each connection count, the targets
interleaved in every repetition, and the 1,000-user open-loop scenario
(bench/openloop.py). Prints a markdown table and writes it to bench/results/latest.md.
Loopback only; every run has a time limit; everything started is stopped by its PID
and the database is dropped, on success, failure or Ctrl-C.
Every option has a BENCH_* environment variable (see --help).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "wrk" / "bench.lua"
HOST = "gatehouse.bench"  # the Host header: ALLOWED_HOSTS is this name only
PASSWORD = "bench-passphrase-long-enough"  # noqa: S105
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    method: str
    path: str
    expect: int
    bearer: bool = False
    body: str = ""
    # Same-run goals from issue 14: req/s as a multiple of the template's when it
    # ran, else as a fraction of the floor (its equivalents); p95 at 16.
    min_floor_ratio: float | None = None
    max_p95_ms: float | None = None
    min_template_ratio: float | None = None


# The template's figures as fractions of the floor (issue 14): W2 0.048x,
# W3 0.0098-0.019x (the upper end is used), W4 0.026x; the goals multiply them.
WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            name="W1", label="`GET /health`", method="GET", path="/health",
            expect=200, min_floor_ratio=0.80, max_p95_ms=10,
        ),
        Workload(
            name="W2", label="`GET /api/v1/auth/me/`", method="GET",
            path="/api/v1/auth/me/", expect=200, bearer=True,
            min_floor_ratio=2.5 * 0.048, max_p95_ms=20, min_template_ratio=2.5,
        ),
        Workload(
            name="W3", label="`GET /api/v1/resources/?page_size=100`", method="GET",
            path="/api/v1/resources/?page_size=100", expect=200, bearer=True,
            min_floor_ratio=3 * 0.019, max_p95_ms=60, min_template_ratio=3,
        ),
        Workload(
            name="W4", label="`POST /api/v1/resources/` ~200 B", method="POST",
            path="/api/v1/resources/", expect=201, bearer=True, body="json",
            min_floor_ratio=2 * 0.026, max_p95_ms=40, min_template_ratio=2,
        ),
        Workload(
            name="W5", label="`POST /api/v1/auth/login/`", method="POST",
            path="/api/v1/auth/login/", expect=200, body="login",
            min_template_ratio=1,
        ),
    ]
}  # fmt: skip

# The FastAPI full-stack template's equivalents (BENCH_TEMPLATE_DIR), by workload.
# Its create answers 200; its sign-in is the OAuth2 form; its item has no data field.
TEMPLATE_WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            name="W1", label="`GET /api/v1/utils/health-check/`", method="GET",
            path="/api/v1/utils/health-check/", expect=200,
        ),
        Workload(
            name="W2", label="`GET /api/v1/users/me`", method="GET",
            path="/api/v1/users/me", expect=200, bearer=True,
        ),
        Workload(
            name="W3", label="`GET /api/v1/items/?limit=100`", method="GET",
            path="/api/v1/items/?limit=100", expect=200, bearer=True,
        ),
        Workload(
            name="W4", label="`POST /api/v1/items/` ~200 B", method="POST",
            path="/api/v1/items/", expect=200, bearer=True, body="item",
        ),
        Workload(
            name="W5", label="`POST /api/v1/login/access-token` (form)",
            method="POST", path="/api/v1/login/access-token", expect=200,
            body="form_login",
        ),
    ]
}  # fmt: skip


def env_default(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = env_default("QUICK", "") not in ("", "0", "false")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add(
        "--quick",
        action="store_true",
        default=quick,
        help="1 s runs, no warm-up, one repetition (BENCH_QUICK=1)",
    )
    add(
        "--workloads",
        default=env_default("WORKLOADS", "W1,W2,W3,W4,W5"),
        help="BENCH_WORKLOADS, comma-separated",
    )
    add(
        "--connections",
        default=env_default("CONNECTIONS", "16,64"),
        help="BENCH_CONNECTIONS, comma-separated",
    )
    add(
        "--duration",
        type=float,
        default=None,
        help="seconds per run (BENCH_DURATION, 10)",
    )
    add(
        "--warmup",
        type=float,
        default=None,
        help="seconds before each run (BENCH_WARMUP, 2)",
    )
    add("--repetitions", type=int, default=None, help="BENCH_REPETITIONS (2)")
    add(
        "--threads",
        type=int,
        default=int(env_default("THREADS", "1")),
        help="wrk threads (BENCH_THREADS)",
    )
    add(
        "--timeout",
        default=env_default("TIMEOUT", "5s"),
        help="wrk's per-request timeout, counted as an error (BENCH_TIMEOUT)",
    )
    add(
        "--users",
        type=int,
        default=int(env_default("USERS", "10")),
        help="seeded users (BENCH_USERS)",
    )
    add(
        "--resources-per-user",
        type=int,
        default=int(env_default("RESOURCES_PER_USER", "1000")),
        help="BENCH_RESOURCES_PER_USER",
    )
    add(
        "--open-loop-rate",
        type=float,
        default=float(env_default("OPEN_LOOP_RATE", "200")),
        help="requests/s of the 1,000-user scenario, 0 to skip (BENCH_OPEN_LOOP_RATE)",
    )
    add(
        "--open-loop-users",
        type=int,
        default=int(env_default("OPEN_LOOP_USERS", "1000")),
        help="BENCH_OPEN_LOOP_USERS",
    )
    add(
        "--postgres",
        default=env_default("POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="server URL; a fresh database is created there (BENCH_POSTGRES)",
    )
    add(
        "--database-prefix",
        default=env_default("DATABASE_PREFIX", "gatehouse_bench"),
        help="BENCH_DATABASE_PREFIX",
    )
    add(
        "--redis",
        default=env_default("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="the production cache, '' for none (BENCH_REDIS_URL)",
    )
    add(
        "--compare",
        action="append",
        default=[
            line.strip()
            for line in env_default("COMPARE", "").splitlines()
            if line.strip()
        ],
        metavar="NAME=COMMAND",
        help="another way to serve Gatehouse, run beside it on the same database and "
        "interleaved with it, e.g. to measure a server setting; $PORT is its port "
        "(repeatable; BENCH_COMPARE: one NAME=COMMAND a line)",
    )
    add(
        "--template-dir",
        default=env_default("TEMPLATE_DIR", ""),
        help="the FastAPI full-stack template's folder (its backend/ and .venv/), "
        "run beside Gatehouse when set (BENCH_TEMPLATE_DIR)",
    )
    add(
        "--output",
        default=env_default("OUTPUT", str(BENCH / "results" / "latest.md")),
        help="BENCH_OUTPUT",
    )
    args = parser.parse_args(argv)
    short = {"duration": 1.0, "warmup": 0.0, "repetitions": 1}
    full = {"duration": 10.0, "warmup": 2.0, "repetitions": 2}
    for name, kind in (("duration", float), ("warmup", float), ("repetitions", int)):
        if getattr(args, name) is None:
            fallback = (short if args.quick else full)[name]
            setattr(args, name, kind(env_default(name.upper(), str(fallback))))
    args.workloads = [
        WORKLOADS[name.strip().upper()] for name in args.workloads.split(",")
    ]
    args.connections = [int(n) for n in args.connections.split(",")]
    args.compare = [compare_variant(text) for text in args.compare]
    return args


COMPARE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,19}")


def compare_variant(text: str) -> tuple[str, str]:
    """--compare NAME=COMMAND: a lowercase name of its own, and a command."""
    name, _, command = text.partition("=")
    name, command = name.strip(), command.strip()
    if not COMPARE_NAME.fullmatch(name) or name in TARGET_ORDER or not command:
        raise SystemExit(
            f"--compare {text!r}: NAME=COMMAND, NAME lowercase and not one of "
            f"{', '.join(TARGET_ORDER)}"
        )
    return name, command


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def procfile_line(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise SystemExit(f"Procfile has no {kind}: line")


def process_cpu_seconds(pid: int) -> float:
    """CPU time of a server's main process and its workers, the exited ones
    included (granian's main process and its worker processes; gunicorn's master
    and workers for the floor)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(value) for value in fields[11:15])  # utime..cstime
        # Children of any of its threads: a worker is started by whichever spawns it.
        children = [
            child
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def wait_until_idle(pid: int, *, limit: float = 120.0) -> None:
    """Waits for requests a finished run left queued (wrk hangs up, workers go on)."""
    deadline = time.monotonic() + limit
    before = process_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = process_cpu_seconds(pid)
        if now - before < 0.02:  # under 8% of a core
            return
        before = now
    raise SystemExit(f"the server (pid {pid}) stayed busy {limit:g} s after a run")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Server:
    """A process group started here and stopped by its PID."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict,
        log: Path,
        *,
        cwd: Path = ROOT,
    ) -> None:
        self.name, self.log = name, log
        self.log_file = log.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log_file.close()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{self.name} exited ({self.process.returncode}):\n{tail}")


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: dict | None = None,
    form: dict | None = None,
    headers=None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        all_headers = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            payload = urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_serving(server: Server, port: int, path: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            if http_request(port, "GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{server.name} did not answer {path} in {STARTUP_SECONDS} s")


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: dict
    server_cpu_s: float
    client_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def wrk(
    *,
    port: int,
    workload: Workload,
    connections: int,
    seconds: float,
    args,
    env: dict,
    server_pid: int,
) -> Run:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{max(seconds, 1):g}s",
        f"--timeout={args.timeout}",
        "-s",
        str(LUA),
        f"http://{LOOPBACK}:{port}{workload.path}",
    ]
    cpu_server, cpu_client = process_cpu_seconds(server_pid), children_cpu_seconds()
    done = subprocess.run(
        command,
        env={
            **os.environ,
            **env,
            "BENCH_METHOD": workload.method,
            "BENCH_BODY": workload.body,
            "BENCH_EXPECT": str(workload.expect),
        },
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    cpu_server = process_cpu_seconds(server_pid) - cpu_server
    cpu_client = children_cpu_seconds() - cpu_client
    line = next(
        (row for row in done.stdout.splitlines() if row.startswith("BENCH_JSON ")), None
    )
    if done.returncode != 0 or line is None:
        raise SystemExit(
            f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = {
        "no response": int(data["requests"] == 0),
        f"status (last {data['last_unexpected_status']})": data["unexpected_status"],
        "connect": data["connect_errors"],
        "read": data["read_errors"],
        "write": data["write_errors"],
        "timeout": data["timeouts"],
    }
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        server_cpu_s=cpu_server,
        client_cpu_s=cpu_client,
    )


@dataclass
class Row:
    workload: Workload
    connections: int
    target: str
    runs: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.fmean(run.rps for run in self.runs)

    def worst(self, name: str) -> float:
        return max(getattr(run, name) for run in self.runs)

    @property
    def errors(self) -> dict:
        total: dict[str, int] = {}
        for run in self.runs:
            for kind, count in run.errors.items():
                total[kind] = total.get(kind, 0) + count
        return {kind: count for kind, count in total.items() if count}

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * sum(r.server_cpu_s for r in self.runs) / max(self.requests, 1)

    @property
    def client_cpu_percent(self) -> float:
        seconds = sum(run.seconds for run in self.runs)
        return 100 * sum(r.client_cpu_s for r in self.runs) / max(seconds, 1e-9)


def goal_verdict(
    row: Row, floor_rps: float | None, template_rps: float | None = None
) -> tuple[str, str]:
    """The goals of issue 14 for one Gatehouse row, and whether the run met them.

    Throughput is judged against the template where it ran (W2-W5), else against
    the floor: W1 always, W2-W4 through the template's floor equivalents.
    """
    w = row.workload
    goals, misses = [], []
    multiple = w.min_template_ratio
    beside_template = template_rps is not None and multiple is not None
    if template_rps is not None and multiple is not None:
        goals.append(f"≥ {multiple:g}× template")
        if row.rps < multiple * template_rps:
            misses.append("req/s")
    elif w.min_floor_ratio is not None:
        goals.append(f"≥ {w.min_floor_ratio:.3g}× floor")
        if floor_rps is None or row.rps < w.min_floor_ratio * floor_rps:
            misses.append("req/s")
    if row.connections == 16 and w.max_p95_ms is not None:
        goals.append(f"p95 < {w.max_p95_ms:g} ms, p99 < 3× p95")
        if not 0 < row.worst("p95_ms") < w.max_p95_ms:
            misses.append("p95")
        if row.worst("p99_ms") >= 3 * row.worst("p95_ms"):
            misses.append("p99")
    if w.name == "W5" and not beside_template:
        goals.append("no worse than the template (no figure of it here)")
    goals.append("0 errors")
    if row.errors:
        misses.append("errors")
    if misses:
        return "; ".join(goals), "not met: " + ", ".join(misses)
    # Without the template in the run, W5's own goal can't be judged either way.
    if w.name == "W5" and not beside_template:
        return "; ".join(goals), "not judged"
    return "; ".join(goals), "met"


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def ms(value: float) -> str:
    """A latency; 0 means no sample (wrk keeps none beyond its timeout)."""
    return fmt(value, 2) if value > 0 else "–"


def by_target(rows: list[Row], target: str) -> dict[tuple[str, int], Row]:
    return {(r.workload.name, r.connections): r for r in rows if r.target == target}


def row_label(row: Row) -> str:
    if row.target == "floor":
        return f"{row.workload.name} (floor app)"
    if row.target == "template":
        label = TEMPLATE_WORKLOADS[row.workload.name].label
        return f"{row.workload.name} (template) {label}"
    if row.target != "gatehouse":  # a --compare variant
        return f"{row.workload.name} ({row.target}) {row.workload.label}"
    return f"{row.workload.name} {row.workload.label}"


def results_table(rows: list[Row]) -> list[str]:
    floor = {r.connections: r.rps for r in rows if r.target == "floor"}
    template = by_target(rows, "template")
    lines = [
        "| workload | conns | server | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| ÷ floor | server CPU ms/req | wrk CPU | goal | |",
        "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = floor.get(row.connections)
        errors = ", ".join(f"{n} {kind}" for kind, n in row.errors.items()) or "0"
        beside = template.get((row.workload.name, row.connections))
        # A template run that served nothing can't be a yardstick either way.
        yardstick = beside.rps if beside and beside.requests else None
        goal, verdict = (
            goal_verdict(row, ratio, yardstick)
            if row.target == "gatehouse"
            else ("", "")
        )
        lines.append(
            f"| {row_label(row)} "
            f"| {row.connections} | {row.target} | {fmt(row.rps, 0)} "
            f"| {ms(row.worst('p50_ms'))} | {ms(row.worst('p95_ms'))} "
            f"| {ms(row.worst('p99_ms'))} | {errors} "
            f"| {f'{row.rps / ratio:.3f}×' if ratio else ''} "
            f"| {fmt(row.cpu_ms_per_request, 2) if row.requests else '–'} | {fmt(row.client_cpu_percent, 0)}% "
            f"| {goal} | {verdict} |"
        )
    return lines


def comparison_table(rows: list[Row]) -> list[str]:
    """Gatehouse beside the template, as issue 14 lays it out; [] without it."""
    template = by_target(rows, "template")
    if not template:
        return []
    floor = {r.connections: r for r in rows if r.target == "floor"}
    lines = [
        "| workload | conns | Gatehouse req/s (p95 ms) | template req/s (p95 ms) "
        "| floor req/s | Gatehouse ÷ template |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for (name, connections), gatehouse in by_target(rows, "gatehouse").items():
        beside = template.get((name, connections))
        base = floor.get(connections) if name == "W1" else None
        ratio = f"{gatehouse.rps / beside.rps:.2f}×" if beside and beside.rps else ""
        theirs = (
            f"{fmt(beside.rps, 0)} ({ms(beside.worst('p95_ms'))})" if beside else "–"
        )
        lines.append(
            f"| {name} {gatehouse.workload.label} | {connections} "
            f"| {fmt(gatehouse.rps, 0)} ({ms(gatehouse.worst('p95_ms'))}) "
            f"| {theirs} | {fmt(base.rps, 0) if base else ''} | {ratio} |"
        )
    return lines


def variants_table(rows: list[Row], names: list[str]) -> list[str]:
    """Each --compare variant beside Gatehouse's Procfile line; [] without any."""
    if not names:
        return []
    lines = [
        "| workload | conns | server | req/s (p95 ms) | server CPU ms/req "
        "| ÷ Gatehouse's Procfile line |",
        "|---|---:|---|---:|---:|---:|",
    ]
    gatehouse = by_target(rows, "gatehouse")
    for name in names:
        for key, row in by_target(rows, name).items():
            base = gatehouse.get(key)
            ratio = f"{row.rps / base.rps:.2f}×" if base and base.rps else ""
            lines.append(
                f"| {key[0]} {row.workload.label} | {key[1]} | {name} "
                f"| {fmt(row.rps, 0)} ({ms(row.worst('p95_ms'))}) "
                f"| {fmt(row.cpu_ms_per_request, 2) if row.requests else '–'} "
                f"| {ratio} |"
            )
    return lines


def open_loop_table(result: dict, users: int) -> list[str]:
    errors = (
        result["unexpected_status"] + result["connection_errors"] + result["timeouts"]
    )
    misses = [
        name
        for name, missed in (
            ("p95", not 0 < result["p95_ms"] < 200),
            ("errors", errors > 0),
        )
        if missed
    ]
    lines = [
        "| scenario | arrivals/s | served/s | p50 ms | p95 ms | p99 ms | errors "
        "| peak conns | client CPU | goal | |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|",
        f"| {users:,} users, W2/W3/W4 mixed, one request each per "
        f"{users / result['rate']:g} s | {result['rate']:g} | {result['achieved_rps']:g} "
        f"| {ms(result['p50_ms'])} | {ms(result['p95_ms'])} "
        f"| {ms(result['p99_ms'])} | {errors} ({result['unexpected_status']} status, "
        f"{result['connection_errors']} connection, {result['timeouts']} timeout) "
        f"| {result['peak_connections']} "
        f"| {fmt(100 * result['client_cpu_s'] / result['duration_s'], 0)}% "
        f"| p95 < 200 ms, 0 errors | {'not met: ' + ', '.join(misses) if misses else 'met'} |",
    ]
    for name, part in result["per_workload"].items():
        lines.append(
            f"| … {name} | | {part['requests'] / result['duration_s']:.1f} "
            f"| {ms(part['p50_ms'])} | {ms(part['p95_ms'])} "
            f"| {ms(part['p99_ms'])} | | | | | |"
        )
    return lines


def command_output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def header(
    args,
    *,
    started: datetime,
    load_before,
    pg_version: str,
    web: str,
    template: str = "",
) -> list[str]:
    import django
    import granian
    import gunicorn

    load_after = os.getloadavg()
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    phases = f"warm-up {args.warmup:g} s + {args.duration:g} s per run"
    return [
        f"# Gatehouse benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {os.cpu_count()} cores ({cpu_model()}), "
        f"{int(memory) // 1024:,} MB RAM; load average "
        f"{load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end "
        "(above ~0.5 means other work shared the cores).",
        f"- Software: Python {platform.python_version()}, Django {django.__version__}, "
        f"granian {granian.__version__} (floor: gunicorn {gunicorn.__version__}), {pg_version}, {command_output(['wrk', '--version']).split(' Copyright')[0]}.",
        f"- wrk: {args.threads} thread, {phases}, {args.repetitions} repetition(s) with "
        f"the targets interleaved in each; per-request timeout {args.timeout}; loopback.",
        f"- Gatehouse: the Procfile's `web: {web}` with IS_PRODUCTION=true "
        "(so DEBUG=false), WEB_CONCURRENCY=2, NUM_PROXIES=1, TASKS_BACKEND=database "
        "(no db_worker runs: tasks queued meanwhile wait), fresh random keys, "
        f"{'Redis cache' if args.redis else 'no Redis (local-memory cache)'}, "
        "local media (ALLOW_LOCAL_MEDIA_IN_PRODUCTION=true: signed local file URLs "
        "instead of a bucket's), no collectstatic (the API serves no static files). "
        "WEB_BIND_ADDRESS=127.0.0.1 and PORT only change where it listens (loopback).",
        "- Logs as in production: the access log and app logs are on (JSON lines on "
        "stdout), written to bench/results/server.log.",
        "- Requests carry `Host` and `X-Forwarded-Proto: https`, as Render's proxy "
        "sends them (TLS ends there). Sign-in throttles raised for the run "
        "(THROTTLE_SIGNIN_IP and THROTTLE_SIGNIN_ACCOUNT = 1000000/minute) so W5 "
        "measures sign-in, not the 429.",
        f"- Data: {args.users} approved users, each owning {args.resources_per_user:,} "
        "resources (one file row on every fifth); W2-W4 rotate over the users' "
        "bearer tokens, W5 signs them in by turn (Argon2, production parameters).",
        "- Floor: bench/floor.py (fixed 100-byte JSON) under gunicorn gthread, "
        "2 workers × 4 threads, no access log.",
        "- req/s: mean over repetitions; p50/p95/p99: the worst repetition's; errors: "
        "wrong status (not the expected 200/201), connect, read, write, timeout; "
        "÷ floor: req/s over the floor's at the same connections; server CPU: the "
        "granian main process and workers, per request; wrk CPU: of one core.",
        *([template] if template else []),
        *(
            f"- Beside it (--compare, same environment and database, its own port, "
            f"interleaved): {name}: `{command}`; its log is bench/results/{name}.log."
            for name, command in args.compare
        ),
        (
            "- Goals (issue 14): W1 ≥ 0.8× the floor; W2 ≥ 2.5×, W3 ≥ 3×, W4 ≥ 2× and "
            "W5 ≥ 1× the template's req/s in this run."
            if template
            else "- Goals (issue 14) as fractions of the floor, from the template's "
            "same-run figures (W2 0.048×, W3 0.019×, W4 0.026×): W2 ≥ 2.5×, W3 ≥ 3×, "
            "W4 ≥ 2× them. The template did not run (BENCH_TEMPLATE_DIR unset)."
        ),
        "",
    ]


def production_env(args, *, database: str, port: int, media: Path) -> dict[str, str]:
    """What a Render web service has (render.yaml), and nothing of this shell's."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "IS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{args.postgres}/{database}",
        "ALLOWED_HOSTS": HOST,
        "BASE_URL": f"https://{HOST}",
        "NUM_PROXIES": "1",
        "WEB_CONCURRENCY": "2",
        "TASKS_BACKEND": "database",
        "ALLOW_LOCAL_MEDIA_IN_PRODUCTION": "true",
        "MEDIA_ROOT": str(media),
        "THROTTLE_SIGNIN_IP": "1000000/minute",
        "THROTTLE_SIGNIN_ACCOUNT": "1000000/minute",
        "PORT": str(port),
        "WEB_BIND_ADDRESS": LOOPBACK,
    }
    if args.redis:
        env["REDIS_URL"] = args.redis
        env["CACHE_KEY_PREFIX"] = f"bench-{database}"
    return env


def migrate_and_seed(args, env: dict[str, str]) -> list[str]:
    release = procfile_line("release")
    print(f"migrating ({release})", flush=True)
    subprocess.run(
        ["bash", "-c", release],  # noqa: S607
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )
    print(f"seeding {args.users} × {args.resources_per_user} resources", flush=True)
    seeded = subprocess.run(
        [
            sys.executable,
            str(BENCH / "seed.py"),
            str(args.users),
            str(args.resources_per_user),
            PASSWORD,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return seeded.stdout.split()


def sign_in_all(port: int, emails: list[str]) -> list[str]:
    tokens = []
    for email in emails:
        status, raw = http_request(
            port,
            "POST",
            "/api/v1/auth/login/",
            body={"email": email, "password": PASSWORD},
        )
        if status != 200:
            raise SystemExit(f"sign-in of {email} failed: {status} {raw[:300]!r}")
        tokens.append(json.loads(raw)["access"])
    return tokens


def check_workloads(
    port: int, workloads: list[Workload], *, tokens: list[str], emails: list[str]
) -> None:
    """One request of each workload, so a wrong set-up fails before any run."""
    bodies = {
        "": None,
        "json": {"title": "check"},
        "item": {"title": "check", "description": "check"},
        "login": {"email": emails[0], "password": PASSWORD},
    }
    for w in workloads:
        status, raw = http_request(
            port,
            w.method,
            w.path,
            body=bodies.get(w.body),
            form=(
                {"username": emails[0], "password": PASSWORD}
                if w.body == "form_login"
                else None
            ),
            headers={"Authorization": f"Bearer {tokens[0]}"} if w.bearer else None,
        )
        if status != w.expect:
            raise SystemExit(
                f"{w.name}: expected {w.expect}, got {status} {raw[:300]!r}"
            )


FLOOR_WORKLOAD = Workload(name="W1", label="floor", method="GET", path="/", expect=200)


@dataclass
class Target:
    """A server under test: what it answers each workload with, and how to ask."""

    name: str
    server: Server
    port: int
    lua_env: dict
    workloads: dict[str, Workload]  # Gatehouse's workload name -> its equivalent


TARGET_ORDER = {"floor": 0, "gatehouse": 1, "template": 2}


def measure(args, *, targets: list[Target]) -> list[Row]:
    rows: dict[tuple[str, int, str], Row] = {}
    plan = [
        (w, c, target)
        for w in args.workloads
        for c in args.connections
        for target in targets
        if w.name in target.workloads
    ]
    for repetition in range(args.repetitions):
        # Odd repetitions run the plan backwards, so drift over time evens out.
        for w, c, target in plan if repetition % 2 == 0 else plan[::-1]:
            pid = target.server.pid
            kwargs = {
                "port": target.port,
                "workload": target.workloads[w.name],
                "connections": c,
                "args": args,
                "env": target.lua_env,
                "server_pid": pid,
            }
            if args.warmup > 0:
                wrk(seconds=args.warmup, **kwargs)
                wait_until_idle(pid)
            run = wrk(seconds=args.duration, **kwargs)
            wait_until_idle(pid)
            key = (w.name, c, target.name)
            rows.setdefault(key, Row(w, c, target.name)).runs.append(run)
            print(
                f"rep {repetition + 1} {w.name:<3} c={c:<3} {target.name:<9} "
                f"{run.rps:8.0f} req/s  p95 {run.p95_ms:7.2f} ms  "
                f"errors {run.error_count}",
                flush=True,
            )
            target.server.check_alive()
    return sorted(
        rows.values(),
        # --compare variants right after Gatehouse.
        key=lambda r: (r.workload.name, r.connections, TARGET_ORDER.get(r.target, 1.5)),
    )


# The FastAPI full-stack template (BENCH_TEMPLATE_DIR): not shipped here.
# docs/contributors.md "Performance" says where its source comes from and how to build the folder.
TEMPLATE_WORKERS = 2
TEMPLATE_SUPERUSER = "admin@example.com"


def template_paths(template_dir: Path) -> tuple[Path, Path]:
    """Its backend folder and its venv's bin, checked before anything starts."""
    backend, bin_dir = template_dir / "backend", template_dir / ".venv" / "bin"
    for needed in (backend / "app" / "main.py", backend / "alembic.ini"):
        if not needed.is_file():
            raise SystemExit(f"BENCH_TEMPLATE_DIR: {needed} is missing")
    if not (bin_dir / "fastapi").is_file():
        raise SystemExit(f"BENCH_TEMPLATE_DIR: {bin_dir / 'fastapi'} is missing")
    return backend, bin_dir


def template_command(template_dir: Path, port: int) -> list[str]:
    """Issue 14's `fastapi run --workers 2` from its venv, on loopback."""
    return [
        str(template_dir / ".venv" / "bin" / "fastapi"),
        "run",
        "--workers",
        str(TEMPLATE_WORKERS),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "app/main.py",
    ]


def template_env(template_dir: Path, *, postgres: str, database: str) -> dict:
    """The settings its app/core/config.py requires, and nothing of this shell's."""
    server = urlsplit(postgres)
    return {
        "PATH": f"{template_dir / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "ENVIRONMENT": "local",
        "PROJECT_NAME": "FastAPI template (bench)",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "POSTGRES_SERVER": server.hostname or LOOPBACK,
        "POSTGRES_PORT": str(server.port or 5432),
        "POSTGRES_USER": server.username or "postgres",
        "POSTGRES_PASSWORD": server.password or "",
        "POSTGRES_DB": database,
        "FIRST_SUPERUSER": TEMPLATE_SUPERUSER,
        "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
    }


def template_prepare(args, *, template_dir: Path, env: dict) -> list[str]:
    """Its prestart steps (wait for the db, alembic, first superuser), then our seed.

    Same shape as Gatehouse's: each user owns args.resources_per_user items, all
    signed in with PASSWORD, hashed once by the template's own get_password_hash.
    """
    backend, bin_dir = template_paths(template_dir)
    python = str(bin_dir / "python")
    for step in (
        [python, "app/backend_pre_start.py"],
        [str(bin_dir / "alembic"), "upgrade", "head"],
        [python, "app/initial_data.py"],
    ):
        done = subprocess.run(
            step, cwd=backend, env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise SystemExit(
                f"template: {' '.join(step)} failed ({done.returncode}):\n"
                f"{done.stderr[-3000:]}"
            )
    hashed = subprocess.run(
        [
            python,
            "-c",
            "import sys; from app.core.security import get_password_hash; "
            "print(get_password_hash(sys.argv[1]))",
            PASSWORD,
        ],
        cwd=backend,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    now = datetime.now(UTC)
    emails = [f"bench{n}@example.com" for n in range(args.users)]
    owners = [uuid.uuid4() for _ in emails]
    url = f"{args.postgres}/{env['POSTGRES_DB']}"
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(
            'COPY "user" (id, email, is_active, is_superuser, full_name, '
            "hashed_password, created_at) FROM STDIN"
        ) as copy:
            for n, (owner, email) in enumerate(zip(owners, emails, strict=True)):
                copy.write_row(
                    (owner, email, True, False, f"Bench User {n}", hashed, now)
                )
        with cursor.copy(
            "COPY item (id, title, description, owner_id, created_at) FROM STDIN"
        ) as copy:
            for u, owner in enumerate(owners):
                for n in range(args.resources_per_user):
                    copy.write_row(
                        (
                            uuid.uuid4(),
                            f"Item {n} of Bench User {u}",
                            "Seeded for the benchmark. " * 4,
                            owner,
                            now - timedelta(seconds=n),
                        )
                    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return emails


def template_sign_in_all(port: int, emails: list[str]) -> list[str]:
    tokens = []
    for email in emails:
        status, raw = http_request(
            port,
            "POST",
            "/api/v1/login/access-token",
            form={"username": email, "password": PASSWORD},
        )
        if status != 200:
            raise SystemExit(
                f"template sign-in of {email} failed: {status} {raw[:300]!r}"
            )
        tokens.append(json.loads(raw)["access_token"])
    return tokens


def template_versions(template_dir: Path) -> str:
    """What the template's venv resolved, for the table's header."""
    names = "fastapi uvicorn sqlmodel sqlalchemy pydantic pwdlib argon2-cffi psycopg"
    done = subprocess.run(
        [
            str(template_dir / ".venv" / "bin" / "python"),
            "-c",
            "import sys, importlib.metadata as m; "
            "print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))",
            *names.split(),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip() or "?"


def open_loop(args, *, port: int, tokens: list[str]) -> dict:
    print(f"open loop: {args.open_loop_rate:g}/s from {args.open_loop_users} users")
    config = {
        "host": LOOPBACK,
        "port": port,
        "host_header": HOST,
        "headers": {"X-Forwarded-Proto": "https"},
        "rate": args.open_loop_rate,
        "users": args.open_loop_users,
        "max_connections": args.open_loop_users,
        "duration": args.duration,
        "warmup": args.warmup,
        "tokens": tokens,
        "workloads": {
            w.name: {
                "method": w.method,
                "path": w.path,
                "body": w.body,
                "expect": w.expect,
            }
            for w in (WORKLOADS["W2"], WORKLOADS["W3"], WORKLOADS["W4"])
        },
    }
    done = subprocess.run(
        [sys.executable, str(BENCH / "openloop.py")],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=args.duration + args.warmup + 120,
        check=True,
    )
    return json.loads(done.stdout)


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: `make wrk` installs Debian's package")
    started, load_before = datetime.now(UTC), os.getloadavg()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    database = f"{args.database_prefix}_{secrets.token_hex(4)}"
    scratch = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    ports = {"gatehouse": free_port(), "floor": free_port(), "template": free_port()}
    template_dir = Path(args.template_dir).resolve() if args.template_dir else None
    if template_dir is not None:
        template_paths(template_dir)  # fails now, not after the seeding
    env = production_env(
        args, database=database, port=ports["gatehouse"], media=scratch / "media"
    )
    web = procfile_line("web")
    # A SIGTERM unwinds like Ctrl-C: servers stopped, database dropped.
    signal.signal(signal.SIGTERM, _interrupted)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        admin = psycopg.connect(f"{args.postgres}/postgres", autocommit=True)
        stack.callback(admin.close)
        version_row = admin.execute("SHOW server_version").fetchone()
        assert version_row is not None  # SHOW answers one row
        pg_version = "PostgreSQL " + version_row[0]
        admin.execute(f'CREATE DATABASE "{database}"')
        stack.callback(
            admin.execute, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
        )
        print(f"database {database}", flush=True)
        emails = migrate_and_seed(args, env)
        template_env_ = {}
        if template_dir is not None:
            template_db = f"{database}_template"
            admin.execute(f'CREATE DATABASE "{template_db}"')
            stack.callback(
                admin.execute, f'DROP DATABASE IF EXISTS "{template_db}" WITH (FORCE)'
            )
            template_env_ = template_env(
                template_dir, postgres=args.postgres, database=template_db
            )
            print(f"template database {template_db}: migrating, seeding", flush=True)
            template_emails = template_prepare(
                args, template_dir=template_dir, env=template_env_
            )

        gatehouse = Server(
            "gatehouse",
            ["bash", "-c", f"exec {web}"],
            env,
            output.parent / "server.log",
        )
        stack.callback(gatehouse.stop)
        floor = Server(
            "floor",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.floor:app",
                "--worker-class=gthread",
                "--workers=2",
                "--threads=4",
                f"--bind={LOOPBACK}:{ports['floor']}",
                "--no-control-socket",
            ],
            env,
            output.parent / "floor.log",
        )
        stack.callback(floor.stop)
        template = None
        if template_dir is not None:
            template = Server(
                "template",
                template_command(template_dir, ports["template"]),
                template_env_,
                output.parent / "template.log",
                cwd=template_dir / "backend",
            )
            stack.callback(template.stop)
        variants = []
        for name, command in args.compare:
            port = free_port()
            server = Server(
                name,
                ["bash", "-c", f"exec {command}"],
                {**env, "PORT": str(port)},
                output.parent / f"{name}.log",
            )
            stack.callback(server.stop)
            variants.append((name, server, port))
        wait_until_serving(gatehouse, ports["gatehouse"], "/health")
        wait_until_serving(floor, ports["floor"], "/")
        for _name, server, port in variants:
            wait_until_serving(server, port, "/health")
        if template is not None:
            wait_until_serving(
                template, ports["template"], TEMPLATE_WORKLOADS["W1"].path
            )
        started_pids = [
            s.pid
            for s in (gatehouse, floor, template, *(v[1] for v in variants))
            if s is not None
        ]
        print(
            f"gatehouse pid {gatehouse.pid}, floor pid {floor.pid}"
            + (f", template pid {template.pid}" if template else ""),
            flush=True,
        )

        tokens = sign_in_all(ports["gatehouse"], emails)
        check_workloads(
            ports["gatehouse"], args.workloads, tokens=tokens, emails=emails
        )
        lua_env = {
            "BENCH_HOST": HOST,
            "BENCH_FORWARDED_PROTO": "https",
            "BENCH_TOKENS": ",".join(tokens),
            "BENCH_EMAILS": ",".join(emails),
            "BENCH_PASSWORD": PASSWORD,
        }
        targets = [
            Target("gatehouse", gatehouse, ports["gatehouse"], lua_env, WORKLOADS),
            *(
                Target(n, server, port, lua_env, WORKLOADS)
                for n, server, port in variants
            ),
            Target("floor", floor, ports["floor"], lua_env, {"W1": FLOOR_WORKLOAD}),
        ]
        template_line = ""
        if template is not None and template_dir is not None:
            template_tokens = template_sign_in_all(ports["template"], template_emails)
            template_workloads = [TEMPLATE_WORKLOADS[w.name] for w in args.workloads]
            check_workloads(
                ports["template"],
                template_workloads,
                tokens=template_tokens,
                emails=template_emails,
            )
            targets.append(
                Target(
                    "template",
                    template,
                    ports["template"],
                    {
                        **lua_env,
                        "BENCH_TOKENS": ",".join(template_tokens),
                        "BENCH_EMAILS": ",".join(template_emails),
                    },
                    TEMPLATE_WORKLOADS,
                )
            )
            template_line = (
                f"- FastAPI template ({template_dir}, its SOURCE.md says which "
                f"commit): `{' '.join(template_command(template_dir, ports['template'])[1:])}` "
                "from its venv, ENVIRONMENT=local, its own database (same data shape: "
                "users each owning the same number of items, Argon2id by its pwdlib "
                f"defaults); {template_versions(template_dir)}. Its W4 answers 200, "
                "its W5 is the OAuth2 form; its log is bench/results/template.log."
            )
        rows = measure(args, targets=targets)
        scenario = None
        if args.open_loop_rate > 0:
            scenario = open_loop(args, port=ports["gatehouse"], tokens=tokens)

        lines = header(
            args,
            started=started,
            load_before=load_before,
            pg_version=pg_version,
            web=web,
            template=template_line,
        )
        lines += results_table(rows)
        comparison = comparison_table(rows)
        if comparison:
            lines += ["", *comparison]
        beside = variants_table(rows, [name for name, _command in args.compare])
        if beside:
            lines += ["", *beside]
        if scenario is not None:
            lines += ["", *open_loop_table(scenario, args.open_loop_users)]
        text = "\n".join(lines) + "\n"
        output.write_text(text)
        print("\n" + text)
        print(
            f"written to {output}; stopping pids "
            + ", ".join(str(pid) for pid in started_pids)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
