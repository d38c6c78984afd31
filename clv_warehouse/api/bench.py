"""``clv bench-api``: requests per second and p50/p99 latency of ``clv serve`` on loopback.

Starts ``clv serve`` as a child process on a free port with a throwaway key, waits for
/health, then for each level of concurrency runs that many client threads, each with its
own keep-alive connection (http.client), asking GET /customers/{id} for customers drawn
with a fixed seed from the published copy. Latency is measured per request in the client
(connect excluded: the connections are kept alive, as an application's pool would).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from clv_warehouse.connections import connect_read_only
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.publish import published_name

TARGET_P99_MS = 50.0
TARGET_CLIENTS = 32
SEED = 42
WARMUP_REQUESTS = 200


class BenchError(RuntimeError):
    """The benchmark cannot run; the message says why."""


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    key: str | None
    log_path: Path

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key} if self.key else {}


def wait_until_listening(server: Server, timeout: float) -> None:
    """Return once /health answers (200 or 503), or raise BenchError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"clv serve exited ({server.process.returncode}) before answering:"
                f" {server.log_path.read_text(errors='replace')[-500:]}"
            )
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"clv serve did not answer on port {server.port} within {timeout:.0f} s")


@contextlib.contextmanager
def running_server(
    published: Path,
    key: str | None,
    log_path: Path,
    timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``clv serve`` in a child process on a free port, stopped on exit."""
    environment = {**os.environ, **(extra_env or {})}
    environment.pop("CLV_API_KEYS", None)
    arguments = [sys.executable, "-m", "clv_warehouse", "serve", "--published", str(published)]
    if key is None:
        arguments.append("--no-auth")
    else:
        environment["CLV_API_KEYS"] = key
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(PROJECT_DIR), environment.get("PYTHONPATH")) if part
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):  # another process may take the free port before the server
        port = free_port()
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [*arguments, "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=PROJECT_DIR,
            )
        server = Server(process=process, port=port, key=key, log_path=log_path)
        try:
            wait_until_listening(server, timeout)
        except BenchError:
            _stop(process)
            if "address already in use" in log_path.read_text(errors="replace").lower():
                continue
            raise
        try:
            yield server
        finally:
            _stop(process)
        return
    raise BenchError("no free port could be bound for clv serve")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def sample_customer_ids(published: Path, count: int, seed: int = SEED) -> list[str]:
    """``count`` customer ids of the published copy, drawn with ``seed`` (with repeats when
    the copy has fewer)."""
    if not published.exists():
        raise BenchError(f"No published copy at {published}: run `clv build`, then `clv publish`.")
    with connect_read_only(published) as con:
        ids = [
            row[0]
            for row in con.execute(
                "select customer_id from marts.customer_segments order by customer_id"
            ).fetchall()
        ]
    if not ids:
        raise BenchError(f"The published copy {published} has no customers.")
    generator = random.Random(seed)
    return [generator.choice(ids) for _ in range(count)]


@dataclass
class Level:
    clients: int
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = math.ceil(share * len(ordered) - 1e-9)
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def _client(server: Server, ids: Sequence[str], latencies: list[float], errors: list[int]):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = server.headers()
    try:
        for customer_id in ids:
            started = time.perf_counter()
            try:
                connection.request("GET", f"/customers/{customer_id}", headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                ok = False
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors.append(1)
    finally:
        connection.close()


def measure_level(server: Server, ids: Sequence[str], clients: int) -> Level:
    """``len(ids)`` lookups shared among ``clients`` threads, all started together."""
    shares = [list(ids[index::clients]) for index in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(server, shares[index], latencies[index], errors))
        for index in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    every = [value * 1000 for values in latencies for value in values]
    return Level(
        clients=clients,
        requests=len(every),
        errors=len(errors),
        seconds=round(seconds, 3),
        requests_per_second=round(len(every) / seconds, 1),
        p50_ms=round(percentile(every, 0.50), 2),
        p99_ms=round(percentile(every, 0.99), 2),
        mean_ms=round(sum(every) / len(every), 2),
        max_ms=round(max(every), 2),
    )


def format_report(result: dict) -> str:
    target = result["target"]
    lines = [
        f"# API benchmark: {result['dataset']}",
        "",
        f"GET /customers/{{id}} on loopback, {result['customers_sampled']} lookups per level of"
        f" customers drawn with seed {SEED} from {result['published_name']}"
        f" ({result['customers']:,} customers); {result['machine']}.",
        "",
        "| clients | requests | errors | requests/s | p50 ms | p99 ms | mean ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in result["levels"]:
        lines.append(
            f"| {level['clients']} | {level['requests']} | {level['errors']} |"
            f" {level['requests_per_second']:.0f} | {level['p50_ms']:.1f} |"
            f" {level['p99_ms']:.1f} | {level['mean_ms']:.1f} | {level['max_ms']:.1f} |"
        )
    verdict = "met" if target["met"] else "missed"
    lines += [
        "",
        f"Target: p99 under {target['p99_ms']:.0f} ms at {target['clients']} clients: {verdict}"
        + (f" ({target['observed_p99_ms']:.1f} ms)." if target["observed_p99_ms"] else "."),
    ]
    return "\n".join(lines) + "\n"


def _customer_count(published: Path) -> int:
    with connect_read_only(published) as con:
        return con.execute("select count(*) from marts.customer_segments").fetchone()[0]


def run_benchmark(
    published: Path,
    clients: Sequence[int] = (1, TARGET_CLIENTS),
    requests_per_level: int = 2000,
    out: Path | None = None,
    dataset: str = "cdnow",
    work_dir: Path | None = None,
) -> str:
    """Run the benchmark; write ``out``.md and .json when given; return the report text."""
    if requests_per_level < 1 or not clients or min(clients) < 1:
        raise BenchError("give at least one request and one client per level")
    published = published_name(published)  # the link, not one version: follows publishes
    ids = sample_customer_ids(published, requests_per_level + WARMUP_REQUESTS)
    log_path = (work_dir or PROJECT_DIR / "logs") / "clv_serve_bench.log"
    levels = []
    load_before = os.getloadavg()[0]
    with running_server(published, secrets.token_hex(24), log_path) as server:
        measure_level(server, ids[:WARMUP_REQUESTS], max(clients))
        for count in clients:
            levels.append(measure_level(server, ids[WARMUP_REQUESTS:], count))
    at_target = [level for level in levels if level.clients == TARGET_CLIENTS]
    observed = at_target[0].p99_ms if at_target else None
    result = {
        "dataset": dataset,
        "published_name": published.name,
        "customers": _customer_count(published),
        "customers_sampled": requests_per_level,
        "machine": f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, server and"
        " clients on the same machine, load average (1 min) before/after"
        f" {load_before:.1f}/{os.getloadavg()[0]:.1f}",
        "levels": [asdict(level) for level in levels],
        "target": {
            "p99_ms": TARGET_P99_MS,
            "clients": TARGET_CLIENTS,
            "observed_p99_ms": observed,
            "met": observed is not None and observed < TARGET_P99_MS,
        },
    }
    report = format_report(result)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(report, encoding="utf-8")
    return report
