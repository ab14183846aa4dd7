"""Load test of the scoring API: the real server (uvicorn) on 127.0.0.1, driven by httpx.

Usage::

    .venv/bin/python tests/benchmarks/api_load.py [--root PATH | --twin-clients 3000]
        [--requests 600] [--seconds 60] [--concurrency 1 16] [--workers 1 2]
        [--scenarios client application application-new what-if batch mixed ...] [--json OUT]

The server is started as the ``credit-scoring api`` command starts it (uvicorn, the app
factory, authentication on with a test key, a temporary decision log) on a free port of
127.0.0.1. It serves:

- ``--root PATH``: a project root whose pipeline ran (``data/interim``,
  ``data/features/production.parquet``, a champion in ``data/mlflow``), e.g. the checkout;
  a folder without them gets the world below, built there and kept for the next run;
- otherwise (default) a world built in a temporary folder: a data twin of
  ``--twin-clients`` clients, ingested, its feature tables, a small calibrated LightGBM
  registered as ``credit-scoring@champion`` in a temporary MLflow store.

Scenarios, each at every ``--concurrency`` (coroutines sending back to back), after a
warm-up, until ``--requests`` answers or ``--seconds``:

- ``client``: ``GET /v1/clients/{id}/score``, a known client of the production batch;
- ``application+explain``: ``POST /v1/applications/score?explain=true``, a stored
  application posted field by field with its client id (history joined) and its reasons;
- ``application``: the same without the reasons;
- ``application-new``: the same application without client id (a new client, no history);
- ``what-if``: ``POST /v1/clients/{id}/what-if`` with the credit amount changed;
- ``batch``: ``POST /v1/applications/score-batch`` of ``--batch`` applications (1,000);
- ``mixed``: a quarter each of known-client scores, posted applications, what-ifs and advisor
  decisions (``POST /v1/clients/{id}/decision``). Afterwards the decision log must hold every
  advisor decision the server acknowledged (count and content) and pass SQLite's
  ``PRAGMA integrity_check``; the run fails otherwise.

Each ``--workers`` value starts its own server (uvicorn worker processes) and runs every
scenario, so the output shows how throughput grows with the workers.

Printed: p50 / p99 latency (ms), throughput (answers per second), failed answers (5xx and
other unexpected statuses), and the machine's load average (timings on a shared machine are
pessimistic). Targets on a 2-core machine, one worker: a known client >= 400 answers/s at
concurrency 16; a posted application (with or without client id) and a what-if p50 <= 5 ms
and p99 <= 20 ms at concurrency 1, >= 200 answers/s at concurrency 16; a batch of 1,000
applications in <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

KEY = "benchmark-key"
#: (scenario, concurrency) -> (figure, bound, "max" or "min").
TARGETS: dict[tuple[str, int], list[tuple[str, float, str]]] = {
    ("client", 16): [("throughput_per_s", 400.0, "min")],
    **{
        (name, 1): [("p50_ms", 5.0, "max"), ("p99_ms", 20.0, "max")]
        for name in ("application", "application-new", "what-if")
    },
    **{(name, 16): [("throughput_per_s", 200.0, "min")] for name in ("application", "what-if")},
    ("application-new", 16): [("throughput_per_s", 200.0, "min")],
    ("batch", 1): [("p50_ms", 1000.0, "max")],
}


def build_world(root: Path, clients: int) -> None:
    """A twin, its features and a registered champion under ``root/data`` (a project root)."""
    from sklearn.calibration import CalibratedClassifierCV

    from credit_scoring.data.ingest import find_kaggle_source, ingest
    from credit_scoring.data.twin import TwinConfig, generate_twin
    from credit_scoring.features import build_feature_tables
    from credit_scoring.modelling import registry
    from credit_scoring.modelling.train import load_training_table
    from credit_scoring.modelling.zoo import build_pipeline

    data = root / "data"
    started = time.perf_counter()
    generate_twin(TwinConfig(clients=clients, seed=7), data / "raw" / "twin", progress=False)
    ingest(find_kaggle_source(data / "raw" / "twin"), data / "interim")
    build_feature_tables(data / "interim", data / "features")
    X, y, _ = load_training_table(data / "features")
    params = {"n_estimators": 200, "num_leaves": 31, "learning_rate": 0.05}
    pipeline = build_pipeline("lightgbm", "none", y, params, n_jobs=1)
    model = CalibratedClassifierCV(pipeline, cv=3, method="sigmoid").fit(X, y)
    threshold = float(np.quantile(model.predict_proba(X)[:, 1], 0.8))
    contract = {"threshold": threshold, "review_band": [45.0, 55.0], "features": list(X.columns)}
    registry.configure(data / "mlflow")
    mlflow = registry.import_mlflow()
    with mlflow.start_run(experiment_id=registry.experiment_id("benchmark", data / "mlflow")):
        info = registry.log_model(model, X.head(5), contract)
    registry.register(info.model_uri, "credit-scoring", tags=contract)
    print(f"world of {clients} twin clients built in {time.perf_counter() - started:.0f} s")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path, log_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn as ``credit-scoring api`` runs it, on a free port of 127.0.0.1.

    Not ``--fd`` with an inherited socket: uvicorn takes such a socket for a Unix one and
    leaves Nagle's algorithm on, which adds the client's 40 ms delayed ACK to every answer.
    """
    port = free_port()
    env = {
        **os.environ,
        "CREDIT_SCORING_ROOT": str(root),
        "CREDIT_SCORING_API_KEYS": KEY,
        "CREDIT_SCORING_API_AUTH": "on",
        "CREDIT_SCORING_DECISION_LOG": str(log_dir / "decisions.sqlite"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "credit_scoring.api:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-server-header",
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(command, env=env), f"http://127.0.0.1:{port}"


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    """Health ok and every known client's score precomputed."""
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            health = httpx.get(f"{base}/health", timeout=5).json()
        except httpx.HTTPError:
            health = {}
        if health.get("status") == "ok" and health.get("scores_precomputed"):
            return health
        time.sleep(0.5)
    raise TimeoutError(f"server not ready after {timeout:.0f} s: {health}")


def application_bodies(interim: Path, ids: list[int], n: int) -> list[dict[str, Any]]:
    """Stored applications of known clients (``interim``: the ingested tables), as an
    integrator posts them."""
    rows = pd.read_parquet(interim / "application_test.parquet")
    rows = rows[rows["SK_ID_CURR"].isin(ids)].head(n)
    bodies = []
    for _, row in rows.iterrows():
        fields = {
            k: (v.item() if hasattr(v, "item") else v)
            for k, v in row.items()
            if k != "SK_ID_CURR" and not pd.isna(v)
        }
        bodies.append({"client_id": int(row["SK_ID_CURR"]), "application": fields})
    return bodies


Request = Callable[[httpx.AsyncClient, int], Any]


async def drive(
    base: str,
    request: Request,
    concurrency: int,
    requests: int,
    seconds: float,
    warm_up: int,
    expected: tuple[int, ...] = (200,),
    key: str = KEY,
) -> dict[str, Any]:
    """``requests`` calls (or ``seconds``) from ``concurrency`` back-to-back senders; an
    answer whose status is not in ``expected`` counts as failed, and so does a dropped
    connection (status 0)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, timeout=120, limits=limits
    ) as http:
        for k in range(warm_up):
            await request(http, k)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        counter = iter(range(warm_up, warm_up + requests))
        deadline = time.perf_counter() + seconds

        async def sender() -> None:
            for k in counter:
                if time.perf_counter() > deadline:
                    return
                t = time.perf_counter()
                try:
                    status = (await request(http, k)).status_code
                except httpx.TransportError:  # the connection dropped: no answer at all
                    status = 0
                latencies.append(time.perf_counter() - t)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "answers": len(latencies),
        "failed": sum(n for code, n in statuses.items() if code not in expected),
        "server_errors": sum(n for code, n in statuses.items() if code >= 500),
        "statuses": {str(code): n for code, n in sorted(statuses.items())},
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "throughput_per_s": len(latencies) / elapsed,
        "seconds": elapsed,
    }


class Mixed:
    """Known-client scores, posted applications, what-ifs and advisor decisions in turn; it
    remembers every decision the server acknowledged, to find them in the log afterwards."""

    def __init__(self, ids: list[int], bodies: list[dict[str, Any]]) -> None:
        self.ids = ids
        self.bodies = bodies
        self.acknowledged: list[tuple[int, str, str]] = []

    async def __call__(self, http: httpx.AsyncClient, k: int) -> httpx.Response:
        # Each client in turn is scored, posted, re-scored with another amount, decided on.
        body = self.bodies[(k // 4) % len(self.bodies)]
        client_id = int(body["client_id"])
        kind = k % 4
        if kind == 0:
            return await http.get(f"/v1/clients/{client_id}/score")
        if kind == 1:
            return await http.post("/v1/applications/score", json=body)
        if kind == 2:
            credit = float(body["application"]["AMT_CREDIT"]) * 1.1
            return await http.post(f"/v1/clients/{client_id}/what-if", json={"AMT_CREDIT": credit})
        decision = "grant" if k % 8 == 3 else "refuse"
        reason = f"Décision de charge numéro {k}."
        response = await http.post(
            f"/v1/clients/{client_id}/decision",
            json={"decision": decision, "reason": reason, "advisor_id": "bench-1"},
        )
        if response.status_code == 201:
            self.acknowledged.append((client_id, decision, reason))
        return response


def check_decision_log(path: Path, acknowledged: list[tuple[int, str, str]]) -> dict[str, Any]:
    """Every acknowledged advisor decision is in the log, once, as sent; SQLite finds the
    database intact."""
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        rows = con.execute(
            "SELECT client_id, decision, reason FROM decisions WHERE kind = 'advisor'"
        ).fetchall()
    logged = sorted((int(c), str(d), str(r)) for c, d, r in rows)
    return {
        "integrity_check": integrity,
        "acknowledged": len(acknowledged),
        "logged": len(logged),
        "all_present": logged == sorted(acknowledged),
    }


def scenarios(
    ids: list[int], bodies: list[dict[str, Any]], batch: int
) -> dict[str, tuple[Request, tuple[int, ...]]]:
    """Each scenario's request and the statuses that count as answered."""
    new = [{"application": b["application"]} for b in bodies]
    batch_body = {"applications": [bodies[k % len(bodies)] for k in range(batch)]}
    return {
        "client": (lambda http, k: http.get(f"/v1/clients/{ids[k % len(ids)]}/score"), (200,)),
        "application+explain": (
            lambda http, k: http.post(
                "/v1/applications/score?explain=true", json=bodies[k % len(bodies)]
            ),
            (200,),
        ),
        "application": (
            lambda http, k: http.post("/v1/applications/score", json=bodies[k % len(bodies)]),
            (200,),
        ),
        "application-new": (
            lambda http, k: http.post("/v1/applications/score", json=new[k % len(new)]),
            (200,),
        ),
        "what-if": (
            lambda http, k: http.post(
                f"/v1/clients/{bodies[k % len(bodies)]['client_id']}/what-if",
                json={
                    "AMT_CREDIT": float(bodies[k % len(bodies)]["application"]["AMT_CREDIT"])
                    * (1 + (k % 7) / 20)
                },
            ),
            (200,),
        ),
        "batch": (
            lambda http, k: http.post("/v1/applications/score-batch", json=batch_body),
            (200,),
        ),
    }


def run_server(
    root: Path, workers: int, args: argparse.Namespace, ids: list[int], bodies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One server with ``workers`` processes, every scenario at every concurrency."""
    results = []
    with tempfile.TemporaryDirectory(prefix="api_load_log_") as log_dir:
        started = time.perf_counter()
        process, base = start_server(root, Path(log_dir), workers)
        try:
            health = wait_ready(base, process, timeout=900)
            print(
                f"server ready in {time.perf_counter() - started:.0f} s: "
                f"{health['model_version']}, {health['production_clients']} known clients, "
                f"{workers} worker(s), {os.cpu_count()} CPUs",
                flush=True,
            )
            table = scenarios(ids, bodies, args.batch)
            for name in args.scenarios:
                mixed = Mixed(ids, bodies) if name == "mixed" else None
                request, expected = (mixed, (200, 201)) if mixed else table[name]
                levels = [1] if name == "batch" else args.concurrency
                for concurrency in levels:
                    count = (
                        max(3, args.requests // args.batch) if name == "batch" else args.requests
                    )
                    # The mixed run's warm-up goes once through every client: a decision of
                    # the timed run always finds a model answer in the log.
                    warm = {"batch": 2, "mixed": 4 * len(bodies)}.get(name, 20)
                    row = asyncio.run(
                        drive(base, request, concurrency, count, args.seconds, warm, expected)
                    )
                    row.update(scenario=name, workers=workers)
                    if mixed is not None:
                        row["decision_log"] = check_decision_log(
                            Path(log_dir) / "decisions.sqlite", mixed.acknowledged
                        )
                    results.append(row)
                    print(
                        f"{name:<20} w={workers} c={concurrency:<3} n={row['answers']:<5} "
                        f"failed={row['failed']:<3} p50={row['p50_ms']:7.1f} ms  "
                        f"p99={row['p99_ms']:7.1f} ms  {row['throughput_per_s']:7.1f}/s"
                        + (f"  log: {row['decision_log']}" if mixed is not None else ""),
                        flush=True,
                    )
        finally:
            process.terminate()
            process.wait(30)
    return results


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    """The targets of one worker, met or missed, and the integrity of every mixed run."""
    lines = []
    for row in results:
        for figure, bound, kind in TARGETS.get((row["scenario"], row["concurrency"]), []):
            if row["workers"] != 1:
                continue
            value = row[figure]
            ok = value <= bound if kind == "max" else value >= bound
            sign = "<=" if kind == "max" else ">="
            lines.append(
                f"{row['scenario']} c={row['concurrency']}: {figure} {value:.1f} {sign} {bound:g}: "
                + ("met" if ok else "MISSED")
            )
        if row["server_errors"]:
            lines.append(
                f"{row['scenario']} w={row['workers']}: {row['server_errors']} 5xx: FAILED"
            )
        log = row.get("decision_log")
        if log is not None:
            ok = log["integrity_check"] == "ok" and log["all_present"]
            lines.append(
                f"mixed w={row['workers']}: decision log {log}: " + ("ok" if ok else "FAILED")
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, help="a project root whose pipeline ran")
    parser.add_argument("--twin-clients", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--batch", type=int, default=1000, help="applications per batch request")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["client", "application", "application-new", "what-if", "batch"],
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="api_load_") as tmp:
        root = args.root if args.root is not None else Path(tmp) / "project"
        if not (root / "data" / "features" / "production.parquet").is_file():
            build_world(root, args.twin_clients)
        production = pd.read_parquet(
            root / "data" / "features" / "production.parquet", columns=["SK_ID_CURR"]
        )
        ids = [int(i) for i in production["SK_ID_CURR"]]
        bodies = application_bodies(root / "data" / "interim", ids, 200)
        load_before = os.getloadavg()
        results = []
        for workers in args.workers:
            results += run_server(root, workers, args, ids, bodies)
        load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    if len(args.workers) > 1:
        for name in args.scenarios:
            for concurrency in args.concurrency:
                rates = [
                    f"{r['workers']}w {r['throughput_per_s']:.0f}/s"
                    for r in results
                    if r["scenario"] == name and r["concurrency"] == concurrency
                ]
                if rates:
                    print(f"{name} c={concurrency}: " + ", ".join(rates))
    lines = verdicts(results)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"load_before": load_before, "load_after": load_after, "results": results},
                indent=1,
            )
        )
    if any(line.endswith("FAILED") for line in lines):
        sys.exit(1)


if __name__ == "__main__":
    main()
