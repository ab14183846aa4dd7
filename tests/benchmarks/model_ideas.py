"""Ideas of the top Kaggle solutions that the champion does not use, each measured out of fold
on the training clients: what it would gain, so that what is left out is left out on figures.

Usage::

    .venv/bin/python tests/benchmarks/model_ideas.py [--features DIR] [--interim DIR]
        [--rows N] [--folds 4] [--max-trees T] [--tree-step S] [--ideas NAME ...]
        [--json OUT]

The training part of the ``train`` stage is read as :mod:`model_gain` reads it (the held-out
test split removed, the same stratified folds seeded by ``train.seed``). The reference is the
lead member (LightGBM, strategy ``none``, default hyperparameters), early-stopped on the
out-of-fold AUC; each idea changes one thing and reports its out-of-fold AUC and the gain:

``neighbours``
    The default rate of each client's 500 nearest neighbours on the three external scores
    and the credit/annuity ratio (a feature of the 1st solution). Label-dependent, so it is
    nested: in every fold, the training rows get a rate cross-fitted on inner folds (a row
    never counts its own label) and the validation rows a rate among the training rows only.
``records``
    The evidence of each client's past credits read one by one: a LightGBM fitted on the
    records of ``previous_application`` (with their instalments, POS and card months) and of
    ``bureau`` (with its monthly statuses), each record labelled with its client's target;
    per client, the number of records, the sum, mean and maximum of their log-odds minus the
    base rate's. Nested like ``neighbours``, with the inner folds grouped by client.
``pruned``
    Null-importance selection: in every fold, LightGBM's gain importance with the true
    target against ``NULL_RUNS`` fits on shuffled targets; a feature is kept when its true
    importance exceeds the 90th percentile of its null importances.
``catboost``
    CatBoost as a third member of the LightGBM + XGBoost blend (weights on the out-of-fold
    margins, as :func:`~credit_scoring.modelling.blend.blend_weights` does), when the
    ``catboost`` package is importable (it is not a dependency of the project:
    ``pip install catboost`` to measure it).

Every fit is seeded: the figures (not the times) are the same at every run.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from model_gain import load_train_part, timed, write_json

#: Neighbours averaged for the default rate, and the columns they are found on.
NEIGHBOURS = 500
NEIGHBOUR_COLUMNS = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3", "CREDIT_TERM")
#: Fits on shuffled targets per fold for the null importances.
NULL_RUNS = 8
INNER_FOLDS = 4
RECORD_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "verbose": -1,
}

Splits = list[tuple[np.ndarray, np.ndarray]]
#: Per fold: (training frame, validation frame), rows aligned with the fold's indices.
FoldFrames = Callable[[np.ndarray, np.ndarray], tuple[pd.DataFrame, pd.DataFrame]]


# --------------------------------------------------------------------------- neighbours
def _neighbour_space(fit: pd.DataFrame, apply: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    cols = [c for c in NEIGHBOUR_COLUMNS if c in fit]
    centre = fit[cols].median()
    scale = fit[cols].std().replace(0.0, 1.0)

    def space(frame: pd.DataFrame) -> np.ndarray:
        return ((frame[cols].fillna(centre) - centre) / scale).to_numpy(dtype=float)

    return space(fit), space(apply)


def neighbours_rate(
    fit: pd.DataFrame, y_fit: np.ndarray, apply: pd.DataFrame, k: int = NEIGHBOURS
) -> np.ndarray:
    """The default rate of each ``apply`` row's ``k`` nearest ``fit`` rows.

    Examples
    --------
    >>> fit = pd.DataFrame({"EXT_SOURCE_2": [0.1, 0.2, 0.8, 0.9]})
    >>> neighbours_rate(fit, np.array([1, 1, 0, 0]), pd.DataFrame({"EXT_SOURCE_2": [0.0]}), k=2)
    array([1.])
    """
    from sklearn.neighbors import NearestNeighbors

    a, b = _neighbour_space(fit, apply)
    k = min(k, len(fit))
    index = NearestNeighbors(n_neighbors=k).fit(a)
    _, idx = index.kneighbors(b)
    return np.asarray(y_fit, dtype=float)[idx].mean(axis=1)


def cross_fitted_rate(
    X: pd.DataFrame, y: np.ndarray, folds: int = INNER_FOLDS, seed: int = 0, k: int = NEIGHBOURS
) -> np.ndarray:
    """Each row's neighbours' default rate among the rows of the other ``folds`` (never its
    own label: the leak test of tests/test_model_ideas.py flips it). The folds do not depend
    on the labels."""
    from sklearn.model_selection import KFold

    out = np.full(len(y), np.nan)
    for fit_idx, apply_idx in KFold(folds, shuffle=True, random_state=seed).split(X):
        out[apply_idx] = neighbours_rate(X.iloc[fit_idx], y[fit_idx], X.iloc[apply_idx], k)
    return out


def neighbours_frames(X: pd.DataFrame, y: np.ndarray, seed: int) -> FoldFrames:
    def frames(train_idx: np.ndarray, valid_idx: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        Xt, Xv = X.iloc[train_idx], X.iloc[valid_idx]
        rate_t = cross_fitted_rate(Xt, y[train_idx], seed=seed)
        rate_v = neighbours_rate(Xt, y[train_idx], Xv)
        return Xt.assign(NEIGHBOURS_RATE=rate_t), Xv.assign(NEIGHBOURS_RATE=rate_v)

    return frames


# --------------------------------------------------------------------------- records
def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    for c in frame.columns:
        if frame[c].dtype == object or str(frame[c].dtype) in ("string", "category"):
            frame[c] = frame[c].astype("category")
    return frame


def record_tables(interim: Path) -> dict[str, pd.DataFrame]:
    """One row per past credit, with ``SK_ID_CURR``: previous applications joined with their
    instalments, POS and card months; bureau credits with their monthly statuses."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(interim / f"{name}.parquet")

    inst = read("installments_payments")
    late = inst["DAYS_ENTRY_PAYMENT"] - inst["DAYS_INSTALMENT"]
    inst = inst.assign(
        late=(late > 0).astype(float),
        days_late=late.clip(lower=0),
        underpaid=(inst["AMT_PAYMENT"] < inst["AMT_INSTALMENT"] - 0.01).astype(float),
    )
    per_inst = inst.groupby("SK_ID_PREV").agg(
        inst_count=("late", "size"),
        inst_late=("late", "mean"),
        inst_days_late=("days_late", "mean"),
        inst_days_late_max=("days_late", "max"),
        inst_underpaid=("underpaid", "mean"),
    )
    pos = read("POS_CASH_balance")
    pos = pos.assign(dpd=(pos["SK_DPD"] > 0).astype(float))
    per_pos = pos.groupby("SK_ID_PREV").agg(
        pos_months=("dpd", "size"), pos_dpd=("dpd", "mean"), pos_dpd_max=("SK_DPD", "max")
    )
    card = read("credit_card_balance")
    limit = card["AMT_CREDIT_LIMIT_ACTUAL"].replace(0, np.nan)
    card = card.assign(
        utilisation=card["AMT_BALANCE"] / limit,
        dpd=(card["SK_DPD"] > 0).astype(float),
        paid_share=card["AMT_PAYMENT_CURRENT"] / card["AMT_INST_MIN_REGULARITY"].replace(0, np.nan),
    )
    per_card = card.groupby("SK_ID_PREV").agg(
        card_months=("dpd", "size"),
        card_utilisation=("utilisation", "mean"),
        card_utilisation_max=("utilisation", "max"),
        card_dpd=("dpd", "mean"),
        card_dpd_max=("SK_DPD", "max"),
        card_paid_share=("paid_share", "mean"),
    )
    previous = (
        read("previous_application")
        .set_index("SK_ID_PREV")
        .join(per_inst)
        .join(per_pos)
        .join(per_card)
        .reset_index(drop=True)
    )

    status = read("bureau_balance")
    code = status["STATUS"].astype(str)
    status = status.assign(
        late=code.isin(list("12345")).astype(float),
        unknown=(code == "X").astype(float),
        level=pd.to_numeric(code, errors="coerce"),
    )
    per_credit = status.groupby("SK_ID_BUREAU").agg(
        months=("late", "size"),
        late=("late", "mean"),
        level_max=("level", "max"),
        unknown=("unknown", "mean"),
    )
    bureau = read("bureau").set_index("SK_ID_BUREAU").join(per_credit).reset_index(drop=True)
    bureau["debt_ratio"] = bureau["AMT_CREDIT_SUM_DEBT"] / bureau["AMT_CREDIT_SUM"].replace(
        0, np.nan
    )
    return {"previous": _categorical(previous), "bureau": _categorical(bureau)}


def record_evidence(
    records: pd.DataFrame,
    target: pd.Series,
    fit_ids: np.ndarray,
    apply_ids: np.ndarray,
    *,
    seed: int,
    n_jobs: int,
) -> pd.DataFrame:
    """Per client: records, and the sum, mean and max of their log-odds minus the base rate's.

    The clients of ``fit_ids`` get log-odds cross-fitted on inner folds of clients (a record
    never scored by a model that saw its client's label); those of ``apply_ids`` get the
    log-odds of a model fitted on every ``fit_ids`` client.
    """
    import lightgbm as lgb
    from sklearn.model_selection import KFold

    features = [c for c in records.columns if c != "SK_ID_CURR"]
    owner = records["SK_ID_CURR"].to_numpy()
    params = {**RECORD_PARAMS, "random_state": seed, "n_jobs": n_jobs}
    rate = float(target.loc[fit_ids].mean())
    base = np.log(rate / (1.0 - rate))
    log_odds = pd.Series(np.nan, index=records.index)

    def fit_score(fit_clients: np.ndarray, score_clients: np.ndarray) -> None:
        fit_rows = np.isin(owner, fit_clients)
        score_rows = np.isin(owner, score_clients)
        model = lgb.LGBMClassifier(**params).fit(
            records.loc[fit_rows, features], target.loc[owner[fit_rows]].to_numpy()
        )
        log_odds[score_rows] = model.predict(records.loc[score_rows, features], raw_score=True)

    for inner_fit, inner_apply in KFold(INNER_FOLDS, shuffle=True, random_state=seed).split(
        fit_ids
    ):
        fit_score(fit_ids[inner_fit], fit_ids[inner_apply])
    fit_score(fit_ids, apply_ids)
    evidence = (log_odds - base).groupby(owner)
    return pd.DataFrame(
        {
            "count": evidence.size(),
            "sum": evidence.sum(),
            "mean": evidence.mean(),
            "max": evidence.max(),
        }
    )


def records_frames(
    X: pd.DataFrame, y: np.ndarray, ids: np.ndarray, interim: Path, seed: int, n_jobs: int
) -> FoldFrames:
    tables = record_tables(interim)
    target = pd.Series(y, index=ids)

    def frames(train_idx: np.ndarray, valid_idx: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        parts = []
        for name, records in tables.items():
            mine = records[records["SK_ID_CURR"].isin(ids)]
            ev = record_evidence(
                mine, target, ids[train_idx], ids[valid_idx], seed=seed, n_jobs=n_jobs
            )
            parts.append(ev.add_prefix(f"RECORDS_{name.upper()}_"))
        evidence = pd.concat(parts, axis=1)
        evidence["RECORDS_EVIDENCE"] = evidence.filter(like="_sum").sum(axis=1)

        def join(idx: np.ndarray) -> pd.DataFrame:
            extra = evidence.reindex(ids[idx]).set_index(X.index[idx])
            return pd.concat([X.iloc[idx], extra], axis=1)

        return join(train_idx), join(valid_idx)

    return frames


# --------------------------------------------------------------------------- pruning
def null_importance_keep(
    X: pd.DataFrame, y: np.ndarray, *, seed: int, n_jobs: int, runs: int = NULL_RUNS
) -> list[str]:
    """The columns whose gain importance on ``y`` beats the 90th percentile of their gain
    importances on ``runs`` shuffled copies of ``y``."""
    import lightgbm as lgb

    params = {
        "n_estimators": 200,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "colsample_bytree": 0.5,
        "subsample": 0.8,
        "subsample_freq": 1,
        "importance_type": "gain",
        "verbose": -1,
        "random_state": seed,
        "n_jobs": n_jobs,
    }
    rng = np.random.default_rng(seed)

    def importance(target: np.ndarray) -> np.ndarray:
        return lgb.LGBMClassifier(**params).fit(X, target).feature_importances_

    actual = importance(y)
    null = np.vstack([importance(rng.permutation(y)) for _ in range(runs)])
    keep = actual > np.quantile(null, 0.9, axis=0)
    return [c for c, k in zip(X.columns, keep, strict=True) if k]


def pruned_frames(X: pd.DataFrame, y: np.ndarray, seed: int, n_jobs: int) -> FoldFrames:
    kept: list[int] = []

    def frames(train_idx: np.ndarray, valid_idx: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        cols = null_importance_keep(X.iloc[train_idx], y[train_idx], seed=seed, n_jobs=n_jobs)
        kept.append(len(cols))
        return X.iloc[train_idx][cols], X.iloc[valid_idx][cols]

    frames.kept = kept  # type: ignore[attr-defined]
    return frames


# --------------------------------------------------------------------------- fitting
def fold_early_stopping(
    frames: FoldFrames, y: np.ndarray, splits: Splits, es: dict[str, Any]
) -> tuple[int, float, np.ndarray]:
    """The lead member early-stopped on frames that change with the fold: (trees, AUC,
    out-of-fold log-odds at those trees)."""
    from credit_scoring.modelling.blend import MemberSpec, staged_margins, tree_grid
    from credit_scoring.modelling.evaluate import roc_auc
    from credit_scoring.modelling.zoo import build_pipeline

    lead = MemberSpec("lightgbm", "none", {})
    grid = tree_grid(es["max_trees"], es["tree_step"])
    staged = np.zeros((len(grid), len(y)))
    for train_idx, valid_idx in splits:
        Xt, Xv = frames(train_idx, valid_idx)
        pipe = build_pipeline(
            lead.model,
            lead.strategy,
            y[train_idx],
            {"n_estimators": es["max_trees"]},
            seed=es["seed"],
            n_jobs=es["n_jobs"],
        )
        pipe.fit(Xt, y[train_idx])
        staged[:, valid_idx] = staged_margins(pipe, Xv, grid)
    auc = np.array([roc_auc(y, row) for row in staged])
    best = int(np.argmax(auc))
    return grid[best], float(auc[best]), staged[best]


def catboost_block(X: pd.DataFrame, y: np.ndarray, splits: Splits, p: Any, es: dict[str, Any]):
    """LightGBM + XGBoost early-stopped and blended, then with CatBoost as a third member."""
    from catboost import CatBoostClassifier

    from credit_scoring.modelling.blend import MemberSpec, blend_weights, early_stopping
    from credit_scoring.modelling.evaluate import roc_auc

    members = [
        early_stopping(MemberSpec(m, "none", {}), X, y, splits, **es)
        for m in ("lightgbm", "xgboost")
    ]
    cats = [c for c in X.columns if str(X[c].dtype) == "category"]
    Xc = X.copy()
    for c in cats:
        Xc[c] = Xc[c].astype(str)
    iterations = es["max_trees"]
    staged = np.zeros((iterations, len(y)))
    for train_idx, valid_idx in splits:
        model = CatBoostClassifier(
            iterations=iterations,
            learning_rate=0.05,
            depth=6,
            random_seed=es["seed"],
            thread_count=es["n_jobs"],
            verbose=False,
            allow_writing_files=False,
        ).fit(Xc.iloc[train_idx], y[train_idx], cat_features=cats)
        for i, values in enumerate(
            model.staged_predict(Xc.iloc[valid_idx], prediction_type="RawFormulaVal")
        ):
            staged[i, valid_idx] = values
    auc_curve = np.array(
        [roc_auc(y, row) for row in staged[es["tree_step"] - 1 :: es["tree_step"]]]
    )
    best = (int(np.argmax(auc_curve)) + 1) * es["tree_step"]
    cat_margin = staged[best - 1]
    two = np.vstack([m.oof_margin for m in members])
    w2, _ = blend_weights(two, y, step=p.blend_weight_step)
    w3, _ = blend_weights(np.vstack([two, cat_margin]), y, step=p.blend_weight_step)
    return pd.DataFrame(
        [
            {"model": f"{m.spec.model} (early-stopped)", "trees": m.trees, "oof_auc": m.oof_auc}
            for m in members
        ]
        + [
            {"model": "catboost (early-stopped)", "trees": best, "oof_auc": roc_auc(y, cat_margin)},
            {
                "model": f"blend lightgbm+xgboost {w2.round(2).tolist()}",
                "oof_auc": roc_auc(y, w2 @ two),
            },
            {
                "model": f"blend + catboost {w3.round(2).tolist()}",
                "oof_auc": roc_auc(y, w3 @ np.vstack([two, cat_margin])),
            },
        ]
    )


IDEAS = ("neighbours", "records", "pruned", "catboost")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from credit_scoring import config, paths
    from credit_scoring.modelling.evaluate import stratified_folds
    from credit_scoring.modelling.train import TrainParams

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--features", type=Path, default=paths.FEATURES_DIR)
    parser.add_argument("--interim", type=Path, default=paths.INTERIM_DIR)
    parser.add_argument("--rows", type=int, default=0, help="stratified subsample (0 = all)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--max-trees", type=int, help="overrides train.max_trees")
    parser.add_argument("--tree-step", type=int, help="overrides train.tree_step")
    parser.add_argument("--ideas", nargs="+", choices=IDEAS, default=list(IDEAS))
    parser.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params.yaml")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    p = TrainParams.from_dict(config.load_params("train", args.params))
    es = {
        "max_trees": args.max_trees or p.max_trees,
        "tree_step": args.tree_step or p.tree_step,
        "seed": p.seed,
        "n_jobs": p.n_jobs,
    }
    X, y, clients, ids = load_train_part(args.features, p, args.rows, with_ids=True)
    splits = list(stratified_folds(args.folds, p.seed).split(X, y))
    print(
        f"{args.features / 'train.parquet'}: {clients:,} clients, test split excluded; "
        f"{len(y):,} training rows, {X.shape[1]} features, {args.folds} folds, "
        f"max_trees {es['max_trees']}, tree_step {es['tree_step']}, n_jobs {p.n_jobs}"
    )
    blocks: dict[str, Any] = {}
    n, k = len(y), args.folds

    def ideas_table() -> pd.DataFrame:
        whole: FoldFrames = lambda t, v: (X.iloc[t], X.iloc[v])  # noqa: E731
        trees, auc, _ = fold_early_stopping(whole, y, splits, es)
        rows = [{"idea": "(reference: every feature)", "trees": trees, "oof_auc": auc}]
        candidates: dict[str, Callable[[], FoldFrames]] = {
            "neighbours": lambda: neighbours_frames(X, y, p.seed),
            "records": lambda: records_frames(X, y, ids, args.interim, p.seed, p.n_jobs),
            "pruned": lambda: pruned_frames(X, y, p.seed, p.n_jobs),
        }
        for name, make in candidates.items():
            if name not in args.ideas:
                continue
            frames = make()
            t, a, _ = fold_early_stopping(frames, y, splits, es)
            row = {"idea": name, "trees": t, "oof_auc": a, "gain": a - auc}
            if hasattr(frames, "kept"):
                row["features"] = f"{min(frames.kept)}-{max(frames.kept)} of {X.shape[1]}"
            rows.append(row)
            print(f"  {name}: {a:.4f} ({a - auc:+.4f})", flush=True)
        return pd.DataFrame(rows)

    with threadpool_limits(limits=p.n_jobs, user_api="blas"):
        if set(args.ideas) - {"catboost"}:
            timed("ideas on the lead member (early-stopped)", n, k, blocks, ideas_table)
        if "catboost" in args.ideas:
            if importlib.util.find_spec("catboost") is None:
                print("\ncatboost: not installed (pip install catboost), not measured")
            else:
                timed(
                    "catboost as a third member",
                    n,
                    k,
                    blocks,
                    lambda: catboost_block(X, y, splits, p, es),
                )
    result = {"rows": n, "folds": k, **es, "blocks": blocks}
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
