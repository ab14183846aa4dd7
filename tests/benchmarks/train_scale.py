"""Wall time of the ``train`` stage at a given number of clients.

Usage::

    .venv/bin/python tests/benchmarks/train_scale.py --clients 30000 [--budget default|ci]
        [--params '{"n_jobs": 1}'] [--root DIR] [--json OUT] [--verbose]

A data twin of ``--clients`` training clients is generated, ingested and turned into features
once under ``ROOT/c<clients>/`` (kept between runs, so only the first run pays for it). Then
:func:`~credit_scoring.modelling.train_pipeline` runs on those features into a fresh
``ROOT/c<clients>/run-<budget>/`` (its own MLflow store), with the ``train`` settings of
``--budget``: ``default`` is :class:`~credit_scoring.modelling.TrainParams` (the full-scale
settings), ``ci`` the tiny budget of the CI-scale run; ``--params`` overrides keys of either.
The script prints the time of each step, the champion, its test AUC and cost, and the oracle's.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

#: The CI-scale budget: every model and strategy still runs, on few rows and folds.
CI_PARAMS: dict[str, Any] = {
    "compare_rows": 3000,
    "compare_folds": 2,
    "tune_trials": 4,
    "tune_rows": 3000,
    "tune_folds": 2,
    "calibration_folds": 3,
    "bootstrap": 200,
}


def prepare_features(clients: int, root: Path, seed: int = 42) -> Path:
    """Twin -> interim parquet -> features, under ``root``; reuse what is already there."""
    from credit_scoring.data.ingest import find_kaggle_source, ingest
    from credit_scoring.data.twin import TwinConfig, generate_twin
    from credit_scoring.features import build_feature_tables

    twin, interim, features = root / "twin", root / "interim", root / "features"
    if not (features / "train.parquet").exists():
        start = time.perf_counter()
        if not (twin / "twin.json").exists():
            generate_twin(TwinConfig(clients=clients, seed=seed), twin, progress=False)
        source = find_kaggle_source(twin)
        if source is None:
            raise RuntimeError(f"no twin tables in {twin}")
        ingest(source, interim)
        build_feature_tables(interim, features)
        print(f"features for {clients:,} clients built in {time.perf_counter() - start:.0f} s")
    return features


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=30_000)
    parser.add_argument("--budget", choices=("default", "ci"), default="default")
    parser.add_argument("--params", default="{}", help="JSON overriding train settings")
    parser.add_argument("--root", type=Path, default=Path("/tmp/credit_scoring_train_bench"))
    parser.add_argument("--json", type=Path, help="also write the metrics here")
    parser.add_argument("--verbose", action="store_true", help="log each candidate and trial")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        for noisy in ("mlflow", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    from credit_scoring import paths, runlog
    from credit_scoring.data.twin import TRUTH_FILE
    from credit_scoring.modelling import train_pipeline

    root = args.root / f"c{args.clients}"
    features = prepare_features(args.clients, root)
    params = {**(CI_PARAMS if args.budget == "ci" else {}), **json.loads(args.params)}
    run = root / f"run-{args.budget}"
    shutil.rmtree(run, ignore_errors=True)
    start, cpu_start = time.perf_counter(), time.process_time()
    paths.LOGS_DIR = run / "logs"
    metrics = train_pipeline(
        params,
        features,
        run / "models",
        run / "metrics",
        run / "mlflow",
        truth_file=root / "twin" / TRUTH_FILE,
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # CPU seconds (all threads of this process) barely move when other jobs share the cores;
    # on an idle machine with n_jobs threads, wall time is about cpu / n_jobs.
    print(
        f"train stage, {args.clients:,} clients, budget {args.budget} {params}: "
        f"{wall:.0f} s wall, {cpu:.0f} s CPU"
    )
    # The stage keeps its timings out of its outputs (they would change their hashes).
    for step, seconds in runlog.read("train", run / "logs")["seconds"].items():
        print(f"  {step:<26} {seconds:>10.2f}")
    champion = metrics["champion"]
    print(
        f"champion {champion['model']} + {champion['strategy']}: test AUC "
        f"{metrics['test_auc']:.4f} {metrics['test_auc_ci']}, cost/client "
        f"{metrics['test_cost_per_client']:.4f} {metrics['test_cost_ci']}, threshold "
        f"{metrics['threshold']:.4f}"
    )
    if "oracle" in metrics:
        o = metrics["oracle"]
        print(
            f"oracle: AUC {o['auc']:.4f} (gap {o['auc_gap']:+.4f}), cost/client "
            f"{o['cost_per_client']:.4f} (champion/oracle {o['cost_ratio']:.3f})"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"wall": wall, "cpu": cpu, **metrics}, indent=2, default=str)
        )
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])
