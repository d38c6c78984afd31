"""Run one benchmark step as a child process: wall time, peak RSS, exit code, log file.

The peak is the child's own high-water mark, from ``os.wait4``'s resource usage of that
process (``ru_maxrss``, which also counts any descendant it waited for). While it runs,
/proc/<pid>/status (VmRSS, VmHWM) is polled for the progress lines.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

Say = Callable[[str], None]


@dataclass
class Measured:
    seconds: float
    peak_rss_bytes: int
    returncode: int
    log: str
    # when the child started (seconds since the epoch, to line up with dbt's run results),
    # and its resident memory while it ran: (seconds since start, VmRSS bytes) pairs
    started_epoch: float = 0.0
    rss_samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0

    def as_dict(self) -> dict:
        return {
            "seconds": round(self.seconds, 3),
            "peak_rss_bytes": self.peak_rss_bytes,
            "peak_rss_gib": round(self.peak_rss_bytes / 2**30, 3),
            "exit_code": self.returncode,
            "log": self.log,
        }


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a running process, in bytes (empty when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for key in ("VmRSS", "VmHWM"):
        match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
        if match:
            values[key] = int(match.group(1)) * 1024
    return values


def _last_line(log_path: Path) -> str:
    try:
        with log_path.open("rb") as log:
            log.seek(max(0, log_path.stat().st_size - 4096))
            lines = [line for line in log.read().decode(errors="replace").splitlines() if line]
    except OSError:
        return ""
    return re.sub(r"\x1b\[[0-9;]*m", "", lines[-1]).strip()[:140] if lines else ""


# How often the child's resident memory is sampled (for the peak of each build stage).
RSS_SAMPLE_SECONDS = 0.5


def run_measured(
    command: Sequence[str],
    *,
    log_path: Path,
    label: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    say: Say = print,
    heartbeat_seconds: float = 30.0,
) -> Measured:
    """Run command with stdout and stderr to log_path; report progress every heartbeat."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started_epoch = time.time()
    started = time.perf_counter()
    next_heartbeat = started + heartbeat_seconds
    next_sample = started
    samples: list[tuple[float, int]] = []
    with log_path.open("w") as log:
        log.write("$ " + " ".join(command) + "\n\n")
        log.flush()
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env or os.environ),
            cwd=cwd,
        )
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid == process.pid:
                    break
                now = time.perf_counter()
                if now >= next_sample:
                    resident = _proc_status(process.pid).get("VmRSS")
                    if resident:
                        samples.append((round(now - started, 2), resident))
                    next_sample = now + RSS_SAMPLE_SECONDS
                if now >= next_heartbeat:
                    memory = _proc_status(process.pid)
                    say(
                        f"    {label}: {now - started:,.0f} s, RSS"
                        f" {memory.get('VmRSS', 0) / 2**30:.2f} GiB (peak"
                        f" {memory.get('VmHWM', 0) / 2**30:.2f}) | {_last_line(log_path)}"
                    )
                    next_heartbeat = now + heartbeat_seconds
                time.sleep(0.1)
        except BaseException:
            process.terminate()
            process.wait()
            raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        seconds=time.perf_counter() - started,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        returncode=process.returncode,
        log=str(log_path),
        started_epoch=started_epoch,
        rss_samples=samples,
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _os_name() -> str:
    try:
        release = Path("/etc/os-release").read_text()
        match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', release, re.MULTILINE)
        if match:
            return f"{match.group(1)} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def git_commit(project_dir: Path) -> dict:
    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def machine_facts(project_dir: Path) -> dict:
    """CPU, cores, RAM, OS, versions, date and git commit, for the results file."""
    memory = _memory_bytes()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "memory_bytes": memory,
        "memory_gib": round(memory / 2**30, 1) if memory else None,
        "os": _os_name(),
        "python": sys.version.split()[0],
        "duckdb": _version("duckdb"),
        "dbt_core": _version("dbt-core"),
        "dbt_duckdb": _version("dbt-duckdb"),
        "pandas": _version("pandas"),
        "lifetimes": _version("lifetimes"),
        "xgboost": _version("xgboost"),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        **{f"git_{key}": value for key, value in git_commit(project_dir).items()},
    }
