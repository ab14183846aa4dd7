"""Latency of one client's score and explanation: on demand, from the precomputed batch, and
end to end.

Usage::

    .venv/bin/python tests/benchmarks/explain_latency.py [--clients 200]
        [--features data/features/production.parquet]
        [--store data/reports/explain/explanations.parquet]
        [--model-pickle FILE --threshold T | --tracking-uri URI] [--end-to-end N]
        [--counterfactuals N] [--interim data/interim] [--json OUT]

For ``--clients`` random clients of the feature table, one at a time:

- ``score``: :meth:`credit_scoring.scoring.Scorer.score_features` of one feature row (the
  champion's probability, risk score and decision), from a data frame;
- ``serve``: the same decision from the served row's array
  (:meth:`credit_scoring.scoring.Scorer.predict_proba_rows`, the blend's matrix path): what the
  API computes for a posted application once its features are built;
- ``on_demand``: :meth:`credit_scoring.explain.Explainer.explain` of one feature row (SHAP
  values of every calibrated copy on the log-odds, and the French reasons);
- ``lookup``: :func:`credit_scoring.explain.load_explanation` from the precomputed Parquet file
  (after its first, loading, call; the file is precomputed into a temporary directory when
  absent);
- ``end_to_end`` (``--end-to-end N``): ``features_for_clients`` from the stored application and
  history, then the explanation (what the API does for a client outside the batch);
- ``counterfactual`` (``--counterfactuals N``): :func:`credit_scoring.explain.counterfactual`
  for N clients that are not granted.

p50 and p95 are printed in wall-clock and CPU milliseconds, with the load average: on a shared
machine wall time includes waiting for a core, CPU time is the work itself.

The model is the registered champion (``models:/credit-scoring@champion`` in the project
store, or ``--tracking-uri``), or a pickled model with ``--model-pickle`` and ``--threshold``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from credit_scoring import paths
from credit_scoring.explain import Explainer, counterfactual, precompute_explanations
from credit_scoring.explain.stage import _percentiles, _timed, measure_latency
from credit_scoring.explain.store import EXPLANATIONS_FILE
from credit_scoring.features.serving import FeatureRows
from credit_scoring.scoring import Scorer

CLIENT_ID = "SK_ID_CURR"


def _scorer(args: argparse.Namespace, features: list[str]) -> Scorer:
    if args.model_pickle:
        with Path(args.model_pickle).open("rb") as f:
            model = pickle.load(f)
        return Scorer(model, threshold=args.threshold, features=features)
    return Scorer.from_registry(tracking_uri=args.tracking_uri)


def _summary(timings: list[tuple[float, float]]) -> dict[str, float]:
    return _percentiles([w for w, _ in timings]) | {
        "cpu_" + k: v for k, v in _percentiles([c for _, c in timings]).items()
    }


def served_rows(frame: pd.DataFrame) -> list[FeatureRows]:
    """Each row of a feature table as the serving path holds it: one-row float arrays."""
    table = frame.set_index(CLIENT_ID).drop(columns=["TARGET"], errors="ignore")
    levels = {
        name: tuple(str(v) for v in table[name].cat.categories)
        for name in table.columns
        if isinstance(table[name].dtype, pd.CategoricalDtype)
    }
    rows = FeatureRows.from_frame(table, levels)
    return [
        FeatureRows(rows.client_ids[k : k + 1], rows.values[k : k + 1], rows.names, rows.levels)
        for k in range(len(rows))
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--features", type=Path, default=paths.FEATURES_DIR / "production.parquet")
    parser.add_argument("--store", type=Path, default=EXPLANATIONS_FILE)
    parser.add_argument("--model-pickle", type=Path)
    parser.add_argument("--threshold", type=float, default=0.1)
    parser.add_argument("--tracking-uri")
    parser.add_argument("--interim", type=Path, default=paths.INTERIM_DIR)
    parser.add_argument("--end-to-end", type=int, default=0)
    parser.add_argument("--counterfactuals", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    frame = pd.read_parquet(args.features)
    if CLIENT_ID not in frame.columns:
        frame = frame.reset_index()
    features = [c for c in frame.columns if c not in (CLIENT_ID, "TARGET")]
    scorer = _scorer(args, features)
    t0 = time.perf_counter()
    explainer = Explainer.from_scorer(scorer)
    setup = time.perf_counter() - t0

    store = args.store
    tmp = None
    if not store.exists():
        tmp = tempfile.TemporaryDirectory()
        store = Path(tmp.name) / "explanations.parquet"
        t0 = time.perf_counter()
        precompute_explanations(explainer, frame, store)
        print(f"precomputed {len(frame)} clients in {time.perf_counter() - t0:.1f} s")

    result = {
        "model_version": scorer.model_version,
        "copies": len(explainer.engine.copies),
        "kinds": explainer.engine.kinds,
        "features": len(scorer.features),
        "explainer_setup_s": round(setup, 2),
        **measure_latency(explainer, frame, store, args.clients, args.seed),
    }
    rng = np.random.default_rng(args.seed)
    # The decision alone (probability, risk score, decision) of one feature row: from a data
    # frame, and from the served rows' array (what the API computes for a posted application
    # once its features are built).
    rows = rng.choice(len(frame), size=min(args.clients, len(frame)), replace=False)
    scorer.score_features(frame.iloc[[int(rows[0])]])  # warm-up: first-call allocations
    result["score"] = _summary(
        [_timed(lambda k=k: scorer.score_features(frame.iloc[[int(k)]])) for k in rows]
    )
    served = served_rows(frame.iloc[rows])
    scorer.result(float(scorer.predict_proba_rows(served[0])[0]))  # warm-up
    result["serve"] = _summary(
        [_timed(lambda r=r: scorer.result(float(scorer.predict_proba_rows(r)[0]))) for r in served]
    )
    if args.end_to_end:
        from credit_scoring.features import features_for_clients

        ids = rng.choice(frame[CLIENT_ID].to_numpy(), size=args.end_to_end, replace=False)
        result["end_to_end"] = _summary(
            [
                _timed(lambda i=i: explainer.explain(features_for_clients([int(i)], args.interim)))
                for i in ids
            ]
        )
    if args.counterfactuals:
        proba = scorer.predict_proba(frame)
        not_granted = frame[CLIENT_ID].to_numpy()[proba >= 0.9 * scorer.threshold]
        ids = rng.permutation(not_granted)[: args.counterfactuals]
        runs = [counterfactual(scorer, int(i), interim_dir=args.interim) for i in ids]
        result["counterfactual"] = _percentiles([1000 * r.seconds for r in runs]) | {
            "feasible": sum(r.feasible for r in runs),
            "n": len(runs),
        }

    print(
        f"model {result['model_version']}: {result['copies']} copies {result['kinds'][0]}, "
        f"{result['features']} features; load average {result['load_average']} on "
        f"{result['cpus']} cores"
    )
    for name in ("score", "serve", "on_demand", "lookup", "end_to_end", "counterfactual"):
        if name in result:
            r = result[name]
            cpu = f", CPU p50 {r['cpu_p50_ms']} p95 {r['cpu_p95_ms']}" if "cpu_p50_ms" in r else ""
            print(f"{name:>15}: wall p50 {r['p50_ms']} ms p95 {r['p95_ms']} ms{cpu}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if tmp is not None:
        tmp.cleanup()
    return result


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    main(sys.argv[1:])
