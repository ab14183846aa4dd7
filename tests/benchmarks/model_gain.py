"""What each feature group, early stopping, the blend, seed averaging and the scorecard are
worth, in out-of-fold AUC and cost per client, on the training clients of a feature table.

Usage::

    .venv/bin/python tests/benchmarks/model_gain.py [--features DIR|FILE] [--rows N] [--folds 4]
        [--max-trees T] [--tree-step S] [--tuned [--champion FILE]] [--params FILE]
        [--json OUT]

The feature table (``data/features/train.parquet`` by default) is read like the ``train``
stage reads it (:func:`~credit_scoring.modelling.train.load_training_table`, without the
excluded attributes), and the stage's held-out test split (same ``test_size`` and ``seed``
of ``params.yaml``'s ``train`` section) is removed first: no figure here ever sees a test
client. ``--rows`` takes a stratified subsample of the training part; every block then
cross-validates on the same ``--folds`` stratified folds (seeded by ``train.seed``), with
``n_jobs``, ``max_trees`` and ``tree_step`` of ``params.yaml`` (``--max-trees`` and
``--tree-step`` override the last two). Three blocks, each with its rows, folds, wall time
and the machine's load (``os.getloadavg``, which wall times depend on):

1. **Feature groups** (:func:`~credit_scoring.features.feature_groups`): the out-of-fold AUC
   of the lead member (LightGBM, strategy ``none``, early-stopped) with every feature and
   without each group, and the gain ``all - without``; also without the four groups of the
   top Kaggle solutions together.
2. **Steps of the champion** (:func:`~credit_scoring.modelling.blend.fit_blend`): the lead
   member with its own number of trees, early-stopped, the LightGBM + XGBoost blend, the blend
   averaged over 3 seeds; out-of-fold AUC (before calibration) and the cost per client of the
   cross-fitted calibrated out-of-fold probabilities at their best threshold.
3. **The scorecard** (:func:`~credit_scoring.modelling.scorecard.fit_scorecard`), on the
   ``scorecard_candidates`` features of largest gain of the early-stopped LightGBM refitted on
   every row, cross-fitted on the same folds: out-of-fold AUC, cost at its best threshold and
   number of features.

The lead member has the default hyperparameters of the zoo; ``--tuned`` gives it the tuned
ones of the ``train`` stage (``data/models/champion.json``, key ``params``). Every fit is
seeded: the figures (not the times) are the same at every run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

#: The four groups of the top Kaggle solutions, also left out together.
NEW_GROUPS = ("taux_implicite", "tendances", "anciennete_incidents", "bureau_par_type")
#: The seeds averaged in the last step of block 2.
BLEND_SEEDS = 3

Splits = list[tuple[np.ndarray, np.ndarray]]


def load_train_part(
    features: Path, p: Any, rows: int, *, with_ids: bool = False
) -> tuple[Any, ...]:
    """The training part of the ``train`` stage (its test split removed), subsampled to
    ``rows`` (0 = all); also the number of clients of the table, and with ``with_ids`` the
    rows' client ids."""
    from sklearn.model_selection import train_test_split

    from credit_scoring.modelling.evaluate import stratified_subsample
    from credit_scoring.modelling.train import load_training_table

    X, y, ids = load_training_table(features, p.exclude_features)
    # Exactly the split of the train stage's step 1: the test clients never enter here.
    train_idx, _test_idx = (
        np.sort(part)
        for part in train_test_split(
            np.arange(len(y)), test_size=p.test_size, stratify=y, random_state=p.seed
        )
    )
    X_sub, y_sub = stratified_subsample(X.iloc[train_idx], y[train_idx], rows, p.seed)
    ids_sub = ids[X_sub.index.to_numpy()]
    out = (X_sub.reset_index(drop=True), np.asarray(y_sub, dtype=np.int64), len(y))
    return (*out, ids_sub) if with_ids else out


def write_json(path: Path, result: dict[str, Any]) -> None:
    """The benchmark's figures as JSON at ``path`` (its folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


def cost_at_best(y: np.ndarray, proba: np.ndarray, p: Any) -> tuple[float, float]:
    """The cost-minimising threshold of out-of-fold probabilities, and the cost per client
    there."""
    from credit_scoring.modelling.cost import best_threshold, cost_per_client

    kw = {"cost_fn": p.cost_fn, "cost_fp": p.cost_fp}
    threshold = best_threshold(y, proba, **kw)
    return threshold, cost_per_client(y, proba >= threshold, **kw)


def cross_fitted(margin: np.ndarray, y: np.ndarray, splits: Splits, method: str) -> np.ndarray:
    """Calibrated out-of-fold probabilities of out-of-fold margins: each fold's rows by a
    map fitted on the other folds (what :func:`fit_blend` does for the blend)."""
    from credit_scoring.modelling.blend import _calibrate, _fit_calibrator

    out = np.full(len(y), np.nan)
    for train_idx, valid_idx in splits:
        calibrator = _fit_calibrator(cast(Any, method), margin[train_idx], y[train_idx])
        out[valid_idx] = _calibrate(calibrator, margin[valid_idx])
    return np.clip(out, 0.0, 1.0)


def timed(
    name: str, rows: int, folds: int, blocks: dict[str, Any], run: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """Run one block; print its table, then its rows, folds, wall time and load."""
    print(f"\n{name}")
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    table = run()
    wall = time.perf_counter() - start
    load_end = os.getloadavg()[0]
    shown = table.copy()
    for column in shown.columns[shown.dtypes == "Int64"]:
        shown[column] = [("-" if pd.isna(v) else str(v)) for v in shown[column].astype(object)]
    with pd.option_context("display.width", 140, "display.max_columns", 12):
        print(shown.to_string(index=False, float_format="{:.4f}".format, na_rep="-"))
    print(
        f"  {rows:,} rows, {folds} folds, {wall:.1f} s wall, "
        f"load {load_start:.1f} -> {load_end:.1f} (1 min, {os.cpu_count()} CPUs)"
    )
    blocks[name] = {
        "rows": rows,
        "folds": folds,
        "seconds": round(wall, 2),
        "load": [round(load_start, 2), round(load_end, 2)],
        "table": json.loads(table.to_json(orient="records")),
    }
    return table


def group_gains(
    lead: Any, X: pd.DataFrame, y: np.ndarray, splits: Splits, es: dict[str, Any]
) -> tuple[pd.DataFrame, Any]:
    """Block 1: the lead member early-stopped with every feature and without each group;
    also the all-features early stopping (block 3 reads its number of trees)."""
    from credit_scoring.features import feature_groups
    from credit_scoring.modelling.blend import early_stopping

    groups = {g: [c for c in names if c in X.columns] for g, names in feature_groups().items()}
    every = early_stopping(lead, X, y, splits, **es)
    rows: list[dict[str, Any]] = [
        {
            "without": "(none)",
            "columns": 0,
            "trees": every.trees,
            "oof_auc": every.oof_auc,
            "gain": 0.0,
        }
    ]
    leave_out = list(groups.items())
    new = [c for g in NEW_GROUPS for c in groups.get(g, [])]
    if new:
        leave_out.append(("the four new groups", new))
    for name, cols in leave_out:
        if not cols or len(cols) == X.shape[1]:
            rows.append({"without": name, "columns": len(cols)})
            continue
        fit = early_stopping(lead, X.drop(columns=cols), y, splits, **es)
        rows.append(
            {
                "without": name,
                "columns": len(cols),
                "trees": fit.trees,
                "oof_auc": fit.oof_auc,
                "gain": every.oof_auc - fit.oof_auc,
            }
        )
    table = pd.DataFrame(rows)
    table["trees"] = table["trees"].astype("Int64")
    return table, every


def champion_steps(
    lead: Any, X: pd.DataFrame, y: np.ndarray, splits: Splits, p: Any, es: dict[str, Any]
) -> pd.DataFrame:
    """Block 2: single model, early stopping, blend, blend averaged over seeds."""
    from credit_scoring.modelling.blend import MemberSpec, early_stopping, fit_blend
    from credit_scoring.modelling.evaluate import roc_auc
    from credit_scoring.modelling.zoo import DEFAULT_PARAMS

    method = p.calibration
    specs = [lead, MemberSpec("xgboost", "none", {})]
    blend_kw = {
        "folds": len(splits),
        "seed": p.seed,
        "method": method,
        "max_trees": es["max_trees"],
        "tree_step": es["tree_step"],
        "patience": es["patience"],
        "weight_step": p.blend_weight_step,
        "n_jobs": p.n_jobs,
    }
    blend = fit_blend(specs, X, y, seeds=1, **blend_kw)
    seeded = fit_blend(specs, X, y, seeds=BLEND_SEEDS, **blend_kw)
    stopped = blend.members[0]

    # The single model: its own number of trees (the out-of-fold margins at that number; its
    # AUC is the early-stopping curve's at that number when the curve holds it).
    own = int(lead.params.get("n_estimators", DEFAULT_PARAMS["lightgbm"]["n_estimators"]))
    single = early_stopping(
        lead, X, y, splits, **{**es, "max_trees": own, "tree_step": own, "patience": 0}
    )
    on_curve = (stopped.curve["trees"] == own).any()
    single_auc = stopped.auc_at(own) if on_curve else roc_auc(y, single.oof_margin)

    rows = []
    for step, trees, auc, calibrated in (
        ("single", own, single_auc, cross_fitted(single.oof_margin, y, splits, method)),
        (
            "early_stopping",
            stopped.trees,
            stopped.oof_auc,
            cross_fitted(stopped.oof_margin, y, splits, method),
        ),
        ("blend", None, blend.oof_auc, blend.oof_calibrated),
        (f"blend, {BLEND_SEEDS} seeds", None, seeded.oof_auc, seeded.oof_calibrated),
    ):
        threshold, cost = cost_at_best(y, calibrated, p)
        rows.append(
            {
                "step": step,
                "trees": trees,
                "oof_auc": auc,
                "threshold": threshold,
                "cost_per_client": cost,
            }
        )
    table = pd.DataFrame(rows)
    table.insert(3, "gain", table["oof_auc"].diff().fillna(0.0))
    table["trees"] = table["trees"].astype("Int64")
    for fit, label in ((blend, "blend"), (seeded, f"blend, {BLEND_SEEDS} seeds")):
        members = ", ".join(
            f"{m.spec.name} {m.trees} trees x {w:.2f}"
            for m, w in zip(fit.members, fit.weights, strict=True)
        )
        print(f"  {label}: {members}")
    return table


def scorecard_figures(
    lead: Any, every: Any, X: pd.DataFrame, y: np.ndarray, splits: Splits, p: Any
) -> pd.DataFrame:
    """Block 3: the scorecard on the candidates of the early-stopped LightGBM, cross-fitted."""
    from credit_scoring.modelling.evaluate import roc_auc
    from credit_scoring.modelling.scorecard import fit_scorecard
    from credit_scoring.modelling.train import scorecard_candidates
    from credit_scoring.modelling.zoo import build_pipeline

    params = {**lead.params, "n_estimators": every.final_trees}
    model = build_pipeline(lead.model, lead.strategy, y, params, seed=p.seed, n_jobs=p.n_jobs)
    model.fit(X, y)
    candidates = scorecard_candidates(model, list(X.columns), p.scorecard_candidates)
    kw = {"candidates": candidates, "max_features": p.scorecard_features}
    oof = np.full(len(y), np.nan)
    fold_features = []
    for train_idx, valid_idx in splits:
        card = fit_scorecard(X.iloc[train_idx], y[train_idx], **kw)
        oof[valid_idx] = card.predict_proba(X.iloc[valid_idx])[:, 1]
        fold_features.append(len(card.names))
    card = fit_scorecard(X, y, **kw)
    threshold, cost = cost_at_best(y, oof, p)
    print(f"  scorecard features: {', '.join(card.names)}")
    return pd.DataFrame(
        [
            {
                "candidates": len(candidates),
                "features": len(card.names),
                "features_per_fold": "/".join(map(str, fold_features)),
                "oof_auc": roc_auc(y, oof),
                "threshold": threshold,
                "cost_per_client": cost,
            }
        ]
    )


def tuned_params(champion: Path) -> dict[str, Any]:
    """The tuned hyperparameters of the ``train`` stage's champion (a LightGBM)."""
    content = json.loads(champion.read_text(encoding="utf-8"))
    if content.get("model") != "lightgbm":
        raise SystemExit(f"{champion}: the tuned pair is {content.get('model')}, not lightgbm")
    if content.get("strategy", "none") != "none":
        print(f"note: the params were tuned with strategy {content['strategy']}, used with none")
    return dict(content.get("params") or {})


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from credit_scoring import config, paths
    from credit_scoring.modelling.train import CHAMPION_FILE, TrainParams

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--features",
        type=Path,
        default=paths.FEATURES_DIR,
        help="directory holding train.parquet (or the train.parquet file itself)",
    )
    parser.add_argument("--rows", type=int, default=0, help="stratified subsample (0 = all)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--max-trees", type=int, help="overrides train.max_trees")
    parser.add_argument("--tree-step", type=int, help="overrides train.tree_step")
    parser.add_argument("--tuned", action="store_true", help="the champion's tuned params")
    parser.add_argument("--champion", type=Path, default=paths.MODELS_DIR / CHAMPION_FILE)
    parser.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params.yaml")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from credit_scoring.modelling.blend import MemberSpec
    from credit_scoring.modelling.evaluate import stratified_folds

    p = TrainParams.from_dict(config.load_params("train", args.params))
    features = args.features.parent if args.features.suffix == ".parquet" else args.features
    es = {
        "max_trees": args.max_trees or p.max_trees,
        "tree_step": args.tree_step or p.tree_step,
        "patience": p.patience,
        "seed": p.seed,
        "n_jobs": p.n_jobs,
    }
    lead = MemberSpec("lightgbm", "none", tuned_params(args.champion) if args.tuned else {})

    started = time.perf_counter()
    X, y, clients = load_train_part(features, p, args.rows)
    splits = list(stratified_folds(args.folds, p.seed).split(X, y))
    print(
        f"{features / 'train.parquet'}: {clients:,} clients, test split of {p.test_size:g} "
        f"excluded; {len(y):,} training rows (default rate {y.mean():.4f}), "
        f"{X.shape[1]} features, {args.folds} folds"
    )
    print(
        f"lead {lead.name} ({'tuned' if args.tuned else 'default'} params {lead.params}), "
        f"max_trees {es['max_trees']}, tree_step {es['tree_step']}, patience {es['patience']}, "
        f"n_jobs {p.n_jobs}, "
        f"seed {p.seed}, cost_fn {p.cost_fn:g}, cost_fp {p.cost_fp:g}"
    )

    blocks: dict[str, Any] = {}
    n, k = len(y), args.folds
    holder: dict[str, Any] = {}

    def block1() -> pd.DataFrame:
        table, holder["every"] = group_gains(lead, X, y, splits, es)
        return table

    with threadpool_limits(limits=p.n_jobs, user_api="blas"):
        timed("1. feature groups (lead member, early-stopped)", n, k, blocks, block1)
        timed(
            "2. early stopping, blend, seeds",
            n,
            k,
            blocks,
            lambda: champion_steps(lead, X, y, splits, p, es),
        )
        timed(
            "3. scorecard (cross-fitted)",
            n,
            k,
            blocks,
            lambda: scorecard_figures(lead, holder["every"], X, y, splits, p),
        )
    wall = time.perf_counter() - started
    print(f"\ntotal {wall:.0f} s wall")

    result = {
        "features": str(features),
        "clients": clients,
        "rows": n,
        "folds": k,
        "lead": {"model": lead.model, "strategy": lead.strategy, "params": lead.params},
        "tuned": args.tuned,
        "max_trees": es["max_trees"],
        "tree_step": es["tree_step"],
        "patience": es["patience"],
        "n_jobs": p.n_jobs,
        "seed": p.seed,
        "seconds": round(wall, 2),
        "blocks": blocks,
    }
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
