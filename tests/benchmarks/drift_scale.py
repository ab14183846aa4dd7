"""Time of the ``drift`` stage's computations on full-size frames, with the stage's sampling.

Usage::

    .venv/bin/python tests/benchmarks/drift_scale.py [DIR] [--clients 307511] [--seed 1]
        [--drift 1.0] [--root /tmp/credit_scoring_drift_bench] [--stand-ins 10]
        [--sample-rows 20000] [--timeline-rows 5000] [--months 6] [--json OUT]

``DIR`` holds ``application_train`` and ``application_test`` (CSV or Parquet). Without it, a data
twin of ``--clients`` training clients (Kaggle's 307,511 by default, so 48,744 production rows)
is generated once into ``ROOT/twin_<clients>_<seed>_<drift>`` and kept between runs (about five
minutes and 3 GB of CSV at full scale).

The frames are the stage's: the raw columns of ``params.yaml``'s defaults
(:data:`credit_scoring.drift.RAW_COLUMNS`) plus ``--stand-ins`` other application columns in
place of the champion's top features (the feature tables are not needed: the cost depends on
the number and kind of columns, not their names), and synthetic risk scores for the model's
output. Then :func:`credit_scoring.drift.run_drift` runs as the stage does: Evidently report and
its HTML, PSI table, score drift and the monthly timeline; its own timings are printed, with the
import of Evidently (paid once per process) apart, the process CPU time and its peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring import drift
from credit_scoring.data.twin import MANIFEST_FILE, TwinConfig, generate_twin
from credit_scoring.scoring import DEFAULT_POINTS_TO_DOUBLE_ODDS, risk_score

KAGGLE_TRAIN_CLIENTS = 307_511
# Application columns standing in for the champion's engineered features: mostly numeric, a few
# with missing values, as the top features of a gradient-boosted model on these tables are.
STAND_INS = (
    "REGION_POPULATION_RELATIVE",
    "DAYS_REGISTRATION",
    "DAYS_ID_PUBLISH",
    "DAYS_LAST_PHONE_CHANGE",
    "OWN_CAR_AGE",
    "CNT_FAM_MEMBERS",
    "HOUR_APPR_PROCESS_START",
    "AMT_REQ_CREDIT_BUREAU_YEAR",
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "APARTMENTS_AVG",
    "ORGANIZATION_TYPE",
    "NAME_HOUSING_TYPE",
)


def _twin(root: Path, clients: int, seed: int, strength: float) -> Path:
    """The twin's folder, generated unless a twin of this configuration is already there."""
    config = TwinConfig(clients=clients, seed=seed, drift=strength)
    out = root / f"twin_{clients}_{seed}_{strength:g}"
    manifest = out / MANIFEST_FILE
    if manifest.exists() and json.loads(manifest.read_text())["config"]["clients"] == clients:
        return out
    print(f"generating a twin of {clients:,} clients into {out} ...", flush=True)
    started = time.perf_counter()
    generate_twin(config, out, progress=False)
    print(f"  {time.perf_counter() - started:.0f} s", flush=True)
    return out


def _read(folder: Path, table: str, columns: list[str]) -> pd.DataFrame:
    parquet = folder / f"{table}.parquet"
    if parquet.exists():
        return pd.read_parquet(parquet, columns=columns)
    return pd.read_csv(folder / f"{table}.csv", usecols=columns)


def _scores(frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Risk scores that depend on the external scores and age, as the model's do."""
    ext = frame[["EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"]].mean(axis=1).fillna(0.5)
    logit = -2.5 - 4.0 * (ext - 0.5) + 0.3 * (frame["DAYS_BIRTH"] / 3650.0 + 4.0)
    probability = 1.0 / (1.0 + np.exp(-(logit + rng.normal(0, 0.3, len(frame)))))
    return risk_score(
        probability.to_numpy(), threshold=0.1, points_to_double_odds=DEFAULT_POINTS_TO_DOUBLE_ODDS
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, help="folder of the application tables")
    parser.add_argument("--clients", type=int, default=KAGGLE_TRAIN_CLIENTS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drift", type=float, default=1.0)
    parser.add_argument("--root", type=Path, default=Path("/tmp/credit_scoring_drift_bench"))
    parser.add_argument("--stand-ins", type=int, default=10)
    parser.add_argument("--sample-rows", type=int, default=20_000)
    parser.add_argument("--timeline-rows", type=int, default=5_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    source = args.source or _twin(args.root, args.clients, args.seed, args.drift)
    settings = drift.DriftSettings(
        sample_rows=args.sample_rows, timeline_rows=args.timeline_rows, months=args.months
    )
    columns = drift.monitored_columns(
        settings.raw_columns, STAND_INS[: args.stand_ins], top=args.stand_ins
    )
    figures: dict[str, Any] = {"source": str(source), "columns": len(columns)}

    t = time.perf_counter()
    reference = _read(source, "application_train", [drift.CLIENT_ID, *columns])
    current = _read(source, "application_test", [drift.CLIENT_ID, *columns])
    figures["read_seconds"] = time.perf_counter() - t
    figures["rows"] = {"reference": len(reference), "current": len(current)}
    rng = np.random.default_rng(0)
    reference_scores = _scores(drift.sample(reference, settings.sample_rows, 0), rng)
    current_scores = _scores(current, rng)

    t = time.perf_counter()
    import evidently.presets  # noqa: F401  (what the stage's first Evidently call pays)

    figures["import_evidently_seconds"] = time.perf_counter() - t

    cpu = time.process_time()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = drift.run_drift(
            reference,
            current,
            settings,
            columns=columns,
            reference_scores=reference_scores,
            current_scores=current_scores,
            html_path=Path(tmp) / "drift.html",
            metrics_path=Path(tmp) / "metrics.json",
        )
        figures["html_mb"] = (Path(tmp) / "drift.html").stat().st_size / 1e6
    figures["stage_seconds"] = time.perf_counter() - t
    figures["stage_cpu_seconds"] = time.process_time() - cpu
    figures["steps_seconds"] = run.seconds
    figures["sampled"] = run.summary["sampled"]
    figures["drifted_share"] = run.summary["drifted_share"]
    figures["dataset_drift"] = run.summary["dataset_drift"]
    figures["alert_month"] = run.summary["timeline"]["alert_month"]
    figures["timeline_share"] = run.summary["timeline"]["drifted_share"]
    figures["score_psi"] = run.summary["score"]["psi"]
    figures["peak_rss_mb"] = _peak_rss_mb()

    print(
        f"{figures['rows']['reference']:,} reference x {figures['rows']['current']:,} current rows,"
        f" {len(columns)} columns; report sample {run.summary['sampled']['reference_rows']:,} +"
        f" {run.summary['sampled']['current_rows']:,}, timeline {settings.months} months against"
        f" {settings.timeline_rows:,} reference rows"
    )
    print(f"read                 {figures['read_seconds']:6.1f} s")
    print(f"import evidently     {figures['import_evidently_seconds']:6.1f} s")
    for step, seconds in run.seconds.items():
        print(f"{step:<20} {seconds:6.1f} s")
    print(
        f"stage (wall / CPU)   {figures['stage_seconds']:6.1f} s / "
        f"{figures['stage_cpu_seconds']:.1f} s"
    )
    print(
        f"drifted share {figures['drifted_share']:.1%}, dataset drift {figures['dataset_drift']}, "
        f"first alert month {figures['alert_month']}, score PSI {figures['score_psi']:.3f}, "
        f"HTML {figures['html_mb']:.1f} MB, peak RSS {figures['peak_rss_mb']:.0f} MB"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
