"""Load test of the scoring API: the real server (uvicorn) on 127.0.0.1, driven by httpx.

Usage::

    .venv/bin/python tests/benchmarks/api_load.py [--root PATH | --twin-clients 3000]
        [--requests 600] [--seconds 60] [--concurrency 1 16] [--workers 1]
        [--scenarios client application+explain application] [--json OUT]

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
- ``application``: the same without the reasons.

Printed: p50 / p99 latency (ms), throughput (answers per second), non-200 answers, and the
machine's load average (timings on a shared machine are pessimistic). Targets on a 2-core
machine for ``client``: p99 <= 50 ms at concurrency 1, >= 150 answers/s at concurrency 16.
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
TARGET_P99_MS = 50.0
TARGET_RPS = 150.0


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


def application_bodies(root: Path, ids: list[int], n: int) -> list[dict[str, Any]]:
    """Stored applications of known clients, as an integrator posts them."""
    rows = pd.read_parquet(root / "data" / "interim" / "application_test.parquet")
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


async def drive(
    base: str,
    request: Callable[[httpx.AsyncClient, int], Any],
    concurrency: int,
    requests: int,
    seconds: float,
    warm_up: int,
) -> dict[str, Any]:
    """``requests`` calls (or ``seconds``) from ``concurrency`` back-to-back senders."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": KEY}, timeout=60, limits=limits
    ) as http:
        for k in range(warm_up):
            await request(http, k)
        latencies: list[float] = []
        failures = 0
        counter = iter(range(requests))
        deadline = time.perf_counter() + seconds

        async def sender() -> None:
            nonlocal failures
            for k in counter:
                if time.perf_counter() > deadline:
                    return
                t = time.perf_counter()
                response = await request(http, k)
                latencies.append(time.perf_counter() - t)
                failures += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "answers": len(latencies),
        "non_200": failures,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "throughput_per_s": len(latencies) / elapsed,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, help="a project root whose pipeline ran")
    parser.add_argument("--twin-clients", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--scenarios", nargs="+", default=["client", "application+explain", "application"]
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
        bodies = application_bodies(root, ids, 200)
        load_before = os.getloadavg()
        started = time.perf_counter()
        process, base = start_server(root, Path(tmp), args.workers)
        try:
            health = wait_ready(base, process, timeout=600)
            print(
                f"server ready in {time.perf_counter() - started:.0f} s: "
                f"{health['model_version']}, {health['production_clients']} known clients, "
                f"{args.workers} worker(s), {os.cpu_count()} CPUs"
            )
            scenarios: dict[str, Callable[[httpx.AsyncClient, int], Any]] = {
                "client": lambda http, k: http.get(f"/v1/clients/{ids[k % len(ids)]}/score"),
                "application+explain": lambda http, k: http.post(
                    "/v1/applications/score?explain=true", json=bodies[k % len(bodies)]
                ),
                "application": lambda http, k: http.post(
                    "/v1/applications/score", json=bodies[k % len(bodies)]
                ),
            }
            results = []
            for name in args.scenarios:
                request = scenarios[name]
                for concurrency in args.concurrency:
                    row = asyncio.run(
                        drive(base, request, concurrency, args.requests, args.seconds, 20)
                    )
                    row["scenario"] = name
                    results.append(row)
                    print(
                        f"{name:<20} c={concurrency:<3} n={row['answers']:<5} "
                        f"non-200={row['non_200']:<3} p50={row['p50_ms']:7.1f} ms  "
                        f"p99={row['p99_ms']:7.1f} ms  {row['throughput_per_s']:7.1f}/s",
                        flush=True,
                    )
        finally:
            process.terminate()
            process.wait(30)
        load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    client_rows = {r["concurrency"]: r for r in results if r["scenario"] == "client"}
    if 1 in client_rows:
        ok = client_rows[1]["p99_ms"] <= TARGET_P99_MS
        print(f"target p99 <= {TARGET_P99_MS:.0f} ms at concurrency 1: {'met' if ok else 'MISSED'}")
    if 16 in client_rows:
        ok = client_rows[16]["throughput_per_s"] >= TARGET_RPS
        print(f"target >= {TARGET_RPS:.0f}/s at concurrency 16: {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"load_before": load_before, "load_after": load_after, "results": results},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
