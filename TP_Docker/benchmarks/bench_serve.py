"""Serving benchmark: our server beside the servers people would write instead.

Starts each server on a loopback port, loads it with wrk (32 connections, bounded in
time), stops it, and moves on; one at a time, so they never compete for the 2 cores.
The tiny-model servers are measured in interleaved rounds (raw, bare, ours, raw, bare,
ours...) of a sixth of the duration each, every server started anew, warmed up, loaded and
stopped in each round before the next one starts; a row's requests/s is its median round.
A change in the machine's load, a round that caught it at a fast moment, or the luck of one
process then hits every server alike and the ratios stay honest.

1. Tiny model (the committed ``digits_torch`` CNN), batch-1 requests through v2 infer:
   a raw ASGI app with no framework and no model (``raw_asgi.py``, the ceiling of what
   Python answers here), a bare FastAPI endpoint (``bare_fastapi.py``), the seed-style
   one-file Flask app (``seed_flask_app.py``, Flask's development server), our server with
   every production feature on (API key, rate limit, validation, metrics, JSON access log,
   the prediction log), the same with the prediction log off (``log_overhead``: what the
   log costs in throughput; with it off, drift is still judged in the process), the same
   with the log's rows built by a thread of the server instead of the log process
   (``ours_log_thread``, ``API_PREDICTION_LOG_WRITER=thread``), the same API with the
   monitor detached (``ours_monitor_off``, ``monitor_off_app.py``: no request reaches the
   prediction log, drift or business metrics), and the API before the data plane
   (``api_before``: commit ``API_BEFORE_REF``, the code issue 10 measured when it set the
   ratios to bare FastAPI and to the raw app, with the same features on but for the
   prediction log it did not have). The report's ``reference`` ratios say where that code
   stands against the same targets, in the same rounds.
   ``monitor_overhead`` is judged on a pair of its own: ours and the monitor-detached API
   alone, in :data:`PAIR_ROUNDS` rounds (``monitor_on``, ``monitor_off``). So is
   ``flask_vs_before`` (allowing 5 % for noise, which single rounds stray by more than):
   our Flask page's ``/api/predict`` (``ours_flask``: gunicorn, 1 worker x 4 threads, 8x8
   pixels) beside the same page before the data plane (``flask_before``: commit
   ``FLASK_BEFORE_REF``'s code and model, extracted with ``git archive``).
2. Dynamic batching: a wide MLP 64-4096-4096-10 (batch-1 run ~1.5 ms) published into a
   temporary repository; our server with batching on, then off.
3. Memory (RSS of the server under load, default models) and cold start (spawn to
   ``/v2/health/ready`` answering 200).

Prints a table and writes ``out/bench_serve.json`` + ``.png``; ``--update-reference``
writes the committed ``TP_Docker/benchmarks/bench_serve.json`` + ``.png`` that the READMEs
quote instead. ``python TP_Docker/benchmarks/bench_serve.py [--quick] [--duration S]``
(``make bench-serve``; ``make bench-serve-reference`` for the committed one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from utils.testing.toy_models import publish_mlp  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = ROOT / "out" / "bench_serve_runs"
REFERENCE = HERE / "bench_serve.json"
OUT = ROOT / "out" / "bench_serve.json"
PY = sys.executable
API_KEY = "bench-key"
CONNECTIONS = 32
ROUNDS = 6
"""Interleaved rounds of the tiny-model servers, each a fresh process (:func:`interleaved`)."""
PAIR_ROUNDS = 16
"""Rounds of a pair judged alone (ours with and without the monitor; the Flask page now and
before): a round's rate strays by more than the 10 % (5 %) allowed here, so six rounds
cannot judge it."""
WARMUP_S = 2
"""Each fresh server's load before its measured run (the log process starts meanwhile)."""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%(key)s"
wrk.body = [==[%(body)s]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


@dataclass
class Run:
    """One wrk run against one server."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int
    rss_mb: float
    load_avg_1m: float = 0.0
    """The machine's 1-minute load average after the run: others' work skews a shared box."""
    rounds_rps: list[float] = field(default_factory=list)
    """Each interleaved round's requests/s (``rps`` is their median); empty for one run."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def digits_body(shape: list[int], seed: int = 0) -> str:
    x = np.random.default_rng(seed).random(int(np.prod(shape)), dtype=np.float32).round(4)
    tensor = {"name": "input", "shape": shape, "datatype": "FP32", "data": x.tolist()}
    return json.dumps({"inputs": [tensor]}, separators=(",", ":"))


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and its children (uvicorn workers), in MB."""
    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return float(sum(p.memory_info().rss for p in procs if p.is_running())) / 1e6


@contextmanager
def server(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    ready_url: str,
    timeout_s: float = 60,
    ready_status: int = 200,
    cwd: Path = ROOT,
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """Start a server, wait until ``ready_url`` answers ``ready_status``; yield (process,
    seconds from spawn to ready)."""
    RUNS.mkdir(parents=True, exist_ok=True)
    log = (RUNS / f"{name}.log").open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited at start; see {log.name}")
            try:
                if httpx.get(ready_url, timeout=0.5).status_code == ready_status:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"{name} not ready after {timeout_s} s")
            time.sleep(0.005)
        yield proc, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wrk(name: str, url: str, body: str, duration_s: float, pid: int) -> Run:
    """Load ``url`` for ``duration_s`` with 32 connections; sample the server's RSS meanwhile."""
    script = RUNS / f"{name}.lua"
    script.write_text(WRK_SCRIPT % {"key": API_KEY, "body": body})
    cmd = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(duration_s))}s",  # wrk takes whole seconds only
        "--latency",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    rss = 0.0
    while proc.poll() is None:
        time.sleep(0.25)
        with suppress(psutil.Error):
            rss = max(rss, tree_rss_mb(pid))
    out = proc.stdout.read() if proc.stdout else ""
    line = next(li for li in out.splitlines() if li.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    seconds = data["duration_us"] / 1e6
    return Run(
        name=name,
        rps=round(data["requests"] / seconds, 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        requests=data["requests"],
        failures=data["non2xx"] + data["socket_errors"],
        rss_mb=round(rss, 1),
        load_avg_1m=round(os.getloadavg()[0], 2),
    )


def log_url(repository: Path, name: str) -> str:
    """A prediction log of the run's own, beside its temporary repository: the default
    setting logs every request (``out/prediction_log.sqlite3``), which a benchmark must
    not fill with a million rows."""
    return f"sqlite:///{repository.with_name(repository.name + '-' + name + '.sqlite3')}"


def ours_env(repository: Path, **extra: str) -> dict[str, str]:
    """Every production feature on: key, rate limit, JSON access log, metrics, validation,
    and the prediction log (the default; ``API_PREDICTION_LOG=false`` turns it off)."""
    env = {
        "API_PREDICTION_LOG_URL": log_url(repository, "api"),
        "API_MODEL_REPOSITORY": str(repository),
        "API_API_KEYS": API_KEY,
        "API_RATE_LIMIT": "1000000/minute",
        "API_LOG_JSON": "true",
        "API_ACCESS_LOG": "true",
        "API_HOST": "127.0.0.1",
    }
    env.update(extra)
    return env


@contextmanager
def ours_server(name: str, env: dict[str, str], root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """Our API (the code in ``root``) on a free port: (base URL, pid)."""
    port = free_port()
    env = {**env, "API_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"
    cmd = [PY, "TP_Docker/app.py"]
    with server(name, cmd, env, base + "/v2/health/ready", cwd=root) as (proc, _):
        yield base, proc.pid


@contextmanager
def ours_infer(
    name: str, env: dict[str, str], model: str, root: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """Our API (the code in ``root``) on a free port: (the model's v2 infer URL, pid)."""
    with ours_server(name, env, root) as (base, pid):
        yield f"{base}/v2/models/{model}/infer", pid


def bench_ours(name: str, env: dict[str, str], model: str, body: str, duration: float) -> Run:
    with ours_server(name, env) as (base, pid):
        wrk(name + "-warmup", f"{base}/v2/models/{model}/infer", body, 1, pid)
        return wrk(name, f"{base}/v2/models/{model}/infer", body, duration, pid)


def _uvicorn(app: str, port: int, workers: int = 1) -> list[str]:
    return [
        PY, "-m", "uvicorn", app, "--port", str(port), "--no-access-log",
        "--log-level", "warning", "--workers", str(workers),
    ]  # fmt: skip


@contextmanager
def bare_server(name: str, onnx_file: Path, workers: int = 1) -> Iterator[tuple[str, int]]:
    """The bare FastAPI endpoint on a free port: (infer URL, pid)."""
    port = free_port()
    cmd = _uvicorn("TP_Docker.benchmarks.bare_fastapi:app", port, workers)
    base = f"http://127.0.0.1:{port}"
    with server(name, cmd, {"BENCH_MODEL": str(onnx_file)}, base + "/docs") as (proc, _):
        yield f"{base}/v2/models/m/infer", proc.pid


@contextmanager
def raw_server(name: str) -> Iterator[tuple[str, int]]:
    """The raw ASGI app on a free port: (URL, pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = _uvicorn("TP_Docker.benchmarks.raw_asgi:app", port)
    with server(name, cmd, {}, base + "/") as (proc, _):
        yield base + "/v2/models/m/infer", proc.pid


API_BEFORE_REF = "dbd0044"
"""The last commit before the data plane: the API's request path still lived in
``TP_Docker/serving.py`` and ``routes/v2.py``, and it had no prediction log. Issue 10 set
its speed targets (1.5x bare FastAPI, 0.30 of the raw app) from this code."""


@contextmanager
def api_before_server(name: str) -> Iterator[tuple[str, int]]:
    """The API of :data:`API_BEFORE_REF`, with that commit's code and models, extracted
    with ``git archive``, every feature it had on (as :func:`ours_env`): (infer URL, pid)."""
    with checkout(API_BEFORE_REF, "TP_Docker", "utils", "models") as root:
        env = ours_env(root / "models")
        del env["API_PREDICTION_LOG_URL"]  # not a setting yet
        with ours_infer(name, env, "digits_torch", root) as served:
            yield served


FLASK_BEFORE_REF = "046b0a1"
"""The last commit before the data plane: the Flask page still had its own request path
(``TP_Flask/inference.py``). Its ``/api/predict`` is the "no slower than before" reference."""


@contextmanager
def flask_server(
    name: str, repository: Path, root: Path = ROOT, serve: str = "digits_torch"
) -> Iterator[tuple[str, int]]:
    """A Flask page under gunicorn (1 worker, 4 threads) from the code in ``root``:
    (/api/predict URL, pid)."""
    port = free_port()
    env = {
        "WEB_MODEL_REPOSITORY": str(repository),
        "WEB_SERVE_MODELS": serve,
        "WEB_RATE_LIMIT": "",
        "WEB_LOG_FORMAT": "json",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "4",
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "WEB_PREDICTION_LOG_URL": log_url(repository, "web"),
    }
    cmd = [
        PY, "-m", "gunicorn", "-c", "TP_Flask/gunicorn.conf.py", "TP_Flask.app:create_app()",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with server(name, cmd, env, base + "/api/health", cwd=root) as (proc, _):
        yield base + "/api/predict", proc.pid


@contextmanager
def checkout(ref: str, *folders: str) -> Iterator[Path]:
    """``folders`` of commit ``ref`` (``git archive``) in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{ref}-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, *folders], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


@contextmanager
def monitor_off_server(name: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Our API with the monitor detached (``monitor_off_app.py``): (infer URL, pid)."""
    port = free_port()
    env = {**env, "API_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"
    cmd = [PY, "TP_Docker/benchmarks/monitor_off_app.py"]
    with server(name, cmd, env, base + "/v2/health/ready") as (proc, _):
        yield f"{base}/v2/models/digits_torch/infer", proc.pid


@contextmanager
def flask_before_server(name: str) -> Iterator[tuple[str, int]]:
    """The Flask page of :data:`FLASK_BEFORE_REF`, with that commit's code and digits_torch,
    extracted with ``git archive`` into a temporary folder."""
    with (
        checkout(FLASK_BEFORE_REF, "TP_Flask", "utils", "models") as root,
        flask_server(name, root / "models", root=root) as served,
    ):
        yield served


def bench_bare(name: str, onnx_file: Path, body: str, duration: float, workers: int = 1) -> Run:
    with bare_server(name, onnx_file, workers) as (url, pid):
        wrk(name + "-warmup", url, body, 1, pid)
        return wrk(name, url, body, duration, pid)


def bench_seed_flask(onnx_file: Path, body: str, duration: float) -> Run:
    port = free_port()
    env = {"BENCH_MODEL": str(onnx_file), "BENCH_PORT": str(port)}
    cmd = [PY, str(HERE / "seed_flask_app.py")]
    base = f"http://127.0.0.1:{port}"
    # The seed app has no health route: a 405 from GET /predict means it listens.
    with server("seed-flask", cmd, env, base + "/predict", ready_status=405) as (proc, _):
        wrk("seed-flask-warmup", base + "/predict", body, 1, proc.pid)
        return wrk("seed-flask", base + "/predict", body, duration, proc.pid)


def combine(name: str, rounds: list[Run]) -> Run:
    """One row from interleaved rounds: the median round's requests/s (a round that caught
    the shared machine at a fast or slow moment moves it less than a mean), the worst
    p99, the peak RSS."""
    return Run(
        name=name,
        rps=round(statistics.median(r.rps for r in rounds), 1),
        p50_ms=round(statistics.median(r.p50_ms for r in rounds), 2),
        p99_ms=max(r.p99_ms for r in rounds),
        requests=sum(r.requests for r in rounds),
        failures=sum(r.failures for r in rounds),
        rss_mb=max(r.rss_mb for r in rounds),
        load_avg_1m=max(r.load_avg_1m for r in rounds),
        rounds_rps=[r.rps for r in rounds],
    )


def interleaved(
    servers: dict[str, tuple[Callable[[], AbstractContextManager[tuple[str, int]]], str]],
    duration: float,
    rounds: int = ROUNDS,
) -> dict[str, Run]:
    """Each round starts every server anew, one at a time: start, warm up, load, stop.

    Fresh processes each round: two processes of the very same server do not answer at the
    same rate (measured here; hash seed, memory layout and where the scheduler puts their
    threads are candidates), so one process per variant would weigh its luck into every
    ratio; over the rounds it averages out, as the machine's drift does over the
    interleaving. Each server stops before the next one starts, so none is loaded while
    another's background work (a log process writing its backlog) still runs."""
    results: dict[str, list[Run]] = {name: [] for name in servers}
    for _ in range(rounds):
        for name, (start, body) in servers.items():
            with start() as (url, pid):
                wrk(name + "-warmup", url, body, WARMUP_S, pid)
                results[name].append(wrk(name, url, body, duration / rounds, pid))
    return {name: combine(name, runs) for name, runs in results.items()}


def pair(
    servers: dict[str, tuple[Callable[[], AbstractContextManager[tuple[str, int]]], str]],
    duration: float,
) -> dict[str, Run]:
    """Two servers judged alone, in :data:`PAIR_ROUNDS` rounds of the same length as the
    main ones (``duration`` is the main rounds' total)."""
    return interleaved(servers, duration / ROUNDS * PAIR_ROUNDS, rounds=PAIR_ROUNDS)


def cold_start_s(repository: Path, tries: int = 3) -> float:
    """Best of ``tries``: process spawn to the first 200 from /v2/health/ready."""
    best = float("inf")
    for i in range(tries):
        port = free_port()
        env = ours_env(repository, API_PORT=str(port))
        url = f"http://127.0.0.1:{port}/v2/health/ready"
        with server(f"cold-start-{i}", [PY, "TP_Docker/app.py"], env, url) as (_, seconds):
            best = min(best, seconds)
    return round(best, 3)


def committed_models(into: Path) -> Path:
    """Copy the committed default models (not the git-ignored, locally built ones such as
    MiniLM) into ``into``: RSS and cold start are measured "with the default models"."""
    for model_dir in sorted((ROOT / "models").iterdir()):
        ignored = (
            subprocess.run(
                ["git", "check-ignore", "-q", str(model_dir)], cwd=ROOT, check=False
            ).returncode
            == 0
        )
        if model_dir.is_dir() and not ignored:
            shutil.copytree(model_dir, into / model_dir.name)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per run, no 2-worker runs")
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--output", type=Path, default=None, help=f"default: {OUT}")
    parser.add_argument(
        "--update-reference",
        action="store_true",
        help=f"write the committed {REFERENCE.relative_to(ROOT)} (the READMEs quote it)",
    )
    parser.add_argument(
        "--replot", action="store_true", help="redraw the PNG and table from the JSON, no runs"
    )
    args = parser.parse_args()
    args.output = args.output or (REFERENCE if args.update_reference else OUT)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.replot:
        report = json.loads(args.output.read_text())
        plot(report, args.output.with_suffix(".png"))
        print_table(report)
        return
    duration = args.duration or (3.0 if args.quick else 12.0)
    models = committed_models(Path(tempfile.mkdtemp(prefix="bench-models-")))
    try:
        run_all(args, duration, models)
    finally:
        shutil.rmtree(models, ignore_errors=True)


def run_all(args: argparse.Namespace, duration: float, models: Path) -> None:
    """Every run, then the report (see the module docstring)."""
    tiny = models / "digits_torch" / "1" / "model.onnx"
    tiny_body = digits_body([1, 1, 8, 8])
    runs: dict[str, Run] = {}

    print(
        f"== tiny model (digits_torch), batch 1, {CONNECTIONS} connections, {duration:g} s each,"
        f" interleaved in {ROUNDS} rounds of fresh processes =="
    )
    pixels = json.dumps({"model": "digits_torch", "inputs": [[0.5] * 64]})
    runs.update(
        interleaved(
            {
                "raw_asgi": (lambda: raw_server("raw-asgi"), tiny_body),
                "bare_fastapi": (lambda: bare_server("bare-fastapi", tiny), tiny_body),
                "ours": (lambda: ours_infer("ours", ours_env(models), "digits_torch"), tiny_body),
                "ours_log_off": (
                    lambda: ours_infer(
                        "ours-log-off", ours_env(models, API_PREDICTION_LOG="false"), "digits_torch"
                    ),
                    tiny_body,
                ),
                "ours_log_thread": (
                    lambda: ours_infer(
                        "ours-log-thread",
                        ours_env(models, API_PREDICTION_LOG_WRITER="thread"),
                        "digits_torch",
                    ),
                    tiny_body,
                ),
                "ours_monitor_off": (
                    lambda: monitor_off_server("ours-monitor-off", ours_env(models)),
                    tiny_body,
                ),
                "api_before": (lambda: api_before_server("api-before"), tiny_body),
            },
            duration,
        )
    )
    print(f"== the Flask page now and before the data plane, {PAIR_ROUNDS} rounds ==")
    runs.update(
        pair(
            {
                "ours_flask": (lambda: flask_server("ours-flask", models), pixels),
                "flask_before": (lambda: flask_before_server("flask-before"), pixels),
            },
            duration,
        )
    )
    print(f"== the monitor's cost: ours with and without it, {PAIR_ROUNDS} rounds ==")
    runs.update(
        pair(
            {
                "monitor_on": (
                    lambda: ours_infer("monitor-on", ours_env(models), "digits_torch"),
                    tiny_body,
                ),
                "monitor_off": (
                    lambda: monitor_off_server("monitor-off", ours_env(models)),
                    tiny_body,
                ),
            },
            duration,
        )
    )
    runs["seed_flask"] = bench_seed_flask(tiny, tiny_body, duration)
    if not args.quick:
        runs["bare_fastapi_2_workers"] = bench_bare("bare-fastapi-2w", tiny, tiny_body, duration, 2)
        runs["ours_2_workers"] = bench_ours(
            "ours-2w", ours_env(models, API_WORKERS="2"), "digits_torch", tiny_body, duration
        )

    print("== wide MLP 64-4096-4096-10: dynamic batching on vs off ==")
    with tempfile.TemporaryDirectory() as tmp:
        wide_repo = Path(tmp)
        publish_mlp(
            wide_repo, "wide_mlp", (64, 4096, 4096, 10), max_batch_size=32, max_queue_delay_us=1000
        )
        wide_body = digits_body([1, 64])
        runs["batching_on"] = bench_ours(
            "batching-on", ours_env(wide_repo), "wide_mlp", wide_body, duration
        )
        runs["batching_off"] = bench_ours(
            "batching-off",
            ours_env(wide_repo, API_BATCHING="false"),
            "wide_mlp",
            wide_body,
            duration,
        )
        runs["bare_fastapi_wide"] = bench_bare(
            "bare-fastapi-wide", wide_repo / "wide_mlp" / "1" / "model.onnx", wide_body, duration
        )

    cold = cold_start_s(models)
    report = build_report(runs, cold, duration)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    plot(report, args.output.with_suffix(".png"))
    print_table(report)
    print(f"\nWrote {args.output} and {args.output.with_suffix('.png')}")


def build_report(runs: dict[str, Run], cold_start: float, duration: float) -> dict[str, object]:
    ours, bare, seed = runs["ours"], runs["bare_fastapi"], runs["seed_flask"]
    on, off = runs["batching_on"], runs["batching_off"]
    checks = {
        "ratio_vs_bare_fastapi": (round(ours.rps / bare.rps, 2), ">= 1.5"),
        "ours_p99_ms": (ours.p99_ms, "<= 10"),
        "ratio_vs_seed_flask": (round(ours.rps / seed.rps, 2), ">= 4.0"),
        "batching_rps": (on.rps, ">= 2000"),
        "batching_on_vs_off": (round(on.rps / off.rps, 2), ">= 2.5"),
        "batching_p99_ms": (on.p99_ms, "<= 50"),
        "rss_mb_per_worker": (ours.rss_mb, "<= 150"),
        "cold_start_s": (cold_start, "< 1.0"),
        "failed_requests_ours": (ours.failures + on.failures + off.failures, "== 0"),
    }
    if "raw_asgi" in runs:
        checks["share_of_raw_asgi"] = (round(ours.rps / runs["raw_asgi"].rps, 3), ">= 0.30")
    if "flask_before" in runs:
        # Our Flask page's /api/predict against the same page before the data plane.
        ratio = runs["ours_flask"].rps / runs["flask_before"].rps
        checks["flask_vs_before"] = (round(ratio, 2), ">= 0.95")
    if "monitor_off" in runs:
        # The monitor (log, drift, business metrics) against the same API without it, on
        # their own PAIR_ROUNDS rounds.
        cost = 1 - runs["monitor_on"].rps / runs["monitor_off"].rps
        checks["monitor_overhead"] = (round(cost, 3), "< 0.10")
    if "ours_log_off" in runs:
        # The prediction log (on by default) against the same server with it off, in the
        # same interleaved rounds: the throughput it costs.
        cost = 1 - ours.rps / runs["ours_log_off"].rps
        checks["log_overhead"] = (round(cost, 3), "< 0.10")
    evaluated = {
        k: {"value": v, "target": t, "met": bool(eval(f"{v} {t}"))} for k, (v, t) in checks.items()
    }
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "connections": CONNECTIONS,
        "duration_s": duration,
        "runs": {k: asdict(v) for k, v in runs.items()},
        "cold_start_s": cold_start,
        "targets": evaluated,
    }
    if "api_before" in runs:
        report["reference"] = reference_ratios(runs)
    return report


def reference_ratios(runs: dict[str, Run]) -> dict[str, float]:
    """Where the API before the data plane stands against the ratio targets, and ours
    against it (with and without the monitor it did not have): the same rounds."""
    before = runs["api_before"].rps
    ratios = {"api_before_vs_bare_fastapi": round(before / runs["bare_fastapi"].rps, 2)}
    if "raw_asgi" in runs:
        ratios["api_before_share_of_raw_asgi"] = round(before / runs["raw_asgi"].rps, 3)
    ratios["ours_vs_api_before"] = round(runs["ours"].rps / before, 2)
    if "ours_monitor_off" in runs:
        ratios["ours_monitor_off_vs_api_before"] = round(runs["ours_monitor_off"].rps / before, 2)
    return ratios


def markdown_tables(report: dict[str, object]) -> str:
    """The runs and the targets as the two Markdown tables TP_Docker/README.md quotes."""
    runs = report["runs"]
    targets = report["targets"]
    assert isinstance(runs, dict) and isinstance(targets, dict)
    lines = [
        "| server | requests/s | rounds min-max | p50 ms | p99 ms | failed | RSS MB | load avg |"
    ]
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    lines += [
        f"| {name} | {r['rps']:,.0f} | {_spread(r.get('rounds_rps') or [])} | {r['p50_ms']} | "
        f"{r['p99_ms']} | {r['failures']} | {r['rss_mb']} | {r['load_avg_1m']} |"
        for name, r in runs.items()
    ]
    lines += ["", "| target | measured | goal | met |", "|---|---:|---|---|"]
    lines += [
        f"| {name} | {t['value']} | {t['target']} | {'yes' if t['met'] else 'NO'} |"
        for name, t in targets.items()
    ]
    reference = report.get("reference")
    if isinstance(reference, dict):
        lines += ["", "| reference ratio | measured |", "|---|---:|"]
        lines += [f"| {name} | {value} |" for name, value in reference.items()]
    return "\n".join(lines)


def _spread(rounds: list[float]) -> str:
    return f"{min(rounds):,.0f}-{max(rounds):,.0f}" if rounds else ""


def print_table(report: dict[str, object]) -> None:
    print("\n" + markdown_tables(report))


def plot(report: dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    assert isinstance(runs, dict)
    names = list(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.barh(names, [runs[n]["rps"] for n in names], color="tab:blue")
    left.set_xlabel("requests/s (higher is better)")
    left.invert_yaxis()
    right.barh(names, [runs[n]["p99_ms"] for n in names], color="tab:orange")
    right.set_xscale("log")
    right.set_xlabel("p99 latency, ms, log scale (lower is better)")
    right.invert_yaxis()
    fig.suptitle(f"wrk, {report['connections']} connections, {report['duration_s']} s per run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
