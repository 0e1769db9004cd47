"""CPU and memory of this process and of the machine, sampled with psutil.

Why a sampler object rather than bare ``psutil`` calls: ``cpu_percent(interval=None)``
measures the CPU used *since the previous call on the same object*, so a server must keep
one ``psutil.Process`` alive between polls and never pass ``interval > 0`` (that sleeps
inside the request). The first sample after start has no previous call and reads 0.0;
callers poll every second or two, so the second sample on is meaningful.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass

import psutil


@dataclass(frozen=True)
class SystemSnapshot:
    """One reading. Percentages are 0..100; process CPU is in % of ONE core (psutil's way),
    so a process keeping two cores busy reads 200."""

    pid: int
    process_cpu_percent: float
    process_rss_bytes: int
    process_threads: int
    machine_cpu_percent: float
    machine_memory_percent: float
    machine_memory_used_bytes: int
    machine_memory_total_bytes: int
    cpu_count: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain JSON-ready numbers, for an HTTP feed."""
        return asdict(self)


class SystemSampler:
    """Thread-safe psutil reader for one process (this one by default).

    Several request threads may poll at once; psutil's per-object CPU bookkeeping is not
    thread-safe, hence the lock.
    """

    def __init__(self, pid: int | None = None) -> None:
        self._process = psutil.Process(pid if pid is not None else os.getpid())
        self._lock = threading.Lock()
        self._cpu_count = psutil.cpu_count(logical=True) or 1
        with self._lock:  # prime both CPU counters, so the next sample covers a real interval
            self._process.cpu_percent(interval=None)
            psutil.cpu_percent(interval=None)

    def sample(self) -> SystemSnapshot:
        """Read CPU (since the previous sample) and memory (now)."""
        with self._lock:
            with self._process.oneshot():
                process_cpu = self._process.cpu_percent(interval=None)
                rss = self._process.memory_info().rss
                threads = self._process.num_threads()
            machine_cpu = psutil.cpu_percent(interval=None)
            memory = psutil.virtual_memory()
        return SystemSnapshot(
            pid=self._process.pid,
            process_cpu_percent=float(process_cpu),
            process_rss_bytes=int(rss),
            process_threads=int(threads),
            machine_cpu_percent=float(machine_cpu),
            machine_memory_percent=float(memory.percent),
            machine_memory_used_bytes=int(memory.total - memory.available),
            machine_memory_total_bytes=int(memory.total),
            cpu_count=self._cpu_count,
        )
