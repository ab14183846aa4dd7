"""Cross-validated comparison of the candidates, the results table, bootstrap intervals.

Every candidate is fitted on the training folds only and scored on its validation fold; the
out-of-fold (OOF) probabilities are kept, because the cost-minimising threshold is chosen on
them, never on the held-out test split.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 400)
>>> p = np.clip(0.3 * y + 0.7 * rng.random(400), 0, 1)
>>> low, high = bootstrap_ci(y, p, roc_auc, n_boot=200, seed=0)
>>> bool(low < roc_auc(y, p) < high)
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from credit_scoring.modelling.cost import best_threshold, confusion_counts, cost_per_client
from credit_scoring.modelling.zoo import Model, Strategy, build_pipeline

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: The metrics of the results table, with their French names.
METRIC_LABELS_FR: dict[str, str] = {
    "roc_auc": "AUC ROC",
    "pr_auc": "AUC précision-rappel",
    "brier": "Score de Brier",
    "cost_per_client": "Coût métier par client",
    "recall": "Rappel au seuil",
    "precision": "Précision au seuil",
    "fit_time": "Temps d'entraînement (s)",
    "predict_time": "Temps de prédiction (s)",
}


def roc_auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """ROC AUC (``nan`` when only one class is present, e.g. in a tiny bootstrap sample)."""
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


def probability_metrics(y: npt.ArrayLike, p: npt.ArrayLike) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision) and Brier score of probabilities.

    Examples
    --------
    >>> m = probability_metrics([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    >>> m["roc_auc"], m["pr_auc"], round(m["brier"], 3)
    (1.0, 1.0, 0.025)
    """
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }


def decision_metrics(
    y: npt.ArrayLike, p: npt.ArrayLike, threshold: float, cost_fn: float, cost_fp: float
) -> dict[str, float]:
    """Cost per client, recall and precision when refusing at ``proba >= threshold``.

    Examples
    --------
    >>> decision_metrics([0, 1, 1], [0.2, 0.4, 0.9], 0.5, cost_fn=10, cost_fp=1)
    {'cost_per_client': 3.3333333333333335, 'recall': 0.5, 'precision': 1.0}
    """
    y = np.asarray(y)
    pred = np.asarray(p) >= threshold
    _, fp, fn, tp = confusion_counts(y, pred)
    return {
        "cost_per_client": cost_per_client(y, pred, cost_fn=cost_fn, cost_fp=cost_fp),
        "recall": tp / max(tp + fn, 1),
        "precision": tp / max(tp + fp, 1),
    }


@dataclass
class CVResult:
    """Out-of-fold predictions of one candidate and its per-fold metrics."""

    oof: FloatArray
    fold: npt.NDArray[np.int64]
    folds: pd.DataFrame
    threshold: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Mean and standard deviation over folds of every per-fold metric."""
        out: dict[str, float] = {}
        for column in self.folds.columns.drop("fold", errors="ignore"):
            out[f"{column}_mean"] = float(self.folds[column].mean())
            out[f"{column}_std"] = (
                float(self.folds[column].std(ddof=1)) if len(self.folds) > 1 else 0.0
            )
        out["threshold"] = self.threshold
        return out


def stratified_folds(n_splits: int, seed: int) -> StratifiedKFold:
    """The project's fold splitter: stratified on the target, shuffled with ``seed``."""
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def cross_validate_model(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: npt.ArrayLike,
    cv: StratifiedKFold,
    *,
    on_fold: Callable[[int, float], None] | None = None,
) -> CVResult:
    """Fit a clone of ``estimator`` on each training fold, predict its validation fold.

    Parameters
    ----------
    estimator
        An unfitted classifier with ``predict_proba`` (a zoo pipeline).
    X, y
        Features and labels; the folds come from ``cv.split(X, y)``.
    cv
        The splitter.
    on_fold
        Called with ``(fold index, validation ROC AUC)`` after each fold (Optuna pruning).

    Returns
    -------
    CVResult
        OOF probabilities, the fold of each row, and per-fold ``fit_time``,
        ``predict_time`` (seconds), ``roc_auc``, ``pr_auc`` and ``brier``.
    """
    y = np.asarray(y)
    oof = np.full(y.shape[0], np.nan)
    fold_of = np.full(y.shape[0], -1, dtype=np.int64)
    rows = []
    for k, (train_idx, valid_idx) in enumerate(cv.split(X, y)):
        model = clone(estimator)
        start = time.perf_counter()
        model.fit(X.iloc[train_idx], y[train_idx])
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        p = model.predict_proba(X.iloc[valid_idx])[:, 1]
        predict_time = time.perf_counter() - start
        oof[valid_idx], fold_of[valid_idx] = p, k
        metrics = probability_metrics(y[valid_idx], p)
        rows.append({"fold": k, "fit_time": fit_time, "predict_time": predict_time, **metrics})
        if on_fold is not None:
            on_fold(k, metrics["roc_auc"])
    return CVResult(oof=oof, fold=fold_of, folds=pd.DataFrame(rows))


def add_decision_metrics(
    result: CVResult, y: npt.ArrayLike, *, cost_fn: float, cost_fp: float
) -> CVResult:
    """Choose the cost-minimising threshold on the pooled OOF probabilities, then add each
    fold's cost per client, recall and precision at that threshold to ``result.folds``.

    Each candidate gets its own threshold, so resampled models (whose probabilities are
    shifted upwards) are compared at their best, not at a threshold meant for another model.
    """
    y = np.asarray(y)
    result.threshold = best_threshold(y, result.oof, cost_fn=cost_fn, cost_fp=cost_fp)
    per_fold = [
        decision_metrics(
            y[result.fold == k], result.oof[result.fold == k], result.threshold, cost_fn, cost_fp
        )
        for k in result.folds["fold"]
    ]
    for name in ("cost_per_client", "recall", "precision"):
        result.folds[name] = [m[name] for m in per_fold]
    return result


def compare_candidates(
    X: pd.DataFrame,
    y: npt.ArrayLike,
    pairs: Iterable[tuple[Model, Strategy]],
    *,
    folds: int,
    seed: int,
    cost_fn: float,
    cost_fp: float,
    n_jobs: int = 1,
    on_result: Callable[[Model, Strategy, dict[str, float], CVResult], None] | None = None,
) -> tuple[pd.DataFrame, dict[tuple[str, str], CVResult]]:
    """Cross-validate every (model, strategy) pair on the same folds: the results table.

    Returns
    -------
    results
        One row per pair: ``model``, ``strategy``, then ``<metric>_mean`` and
        ``<metric>_std`` for ROC AUC, PR AUC, Brier, cost per client, recall, precision, fit
        and predict time, and the pair's OOF ``threshold``; sorted by cost per client.
    details
        The :class:`CVResult` of each pair.
    """
    y = np.asarray(y)
    cv = stratified_folds(folds, seed)
    rows, details = [], {}
    for model, strategy in pairs:
        start = time.perf_counter()
        pipe = build_pipeline(model, strategy, y, seed=seed, n_jobs=n_jobs)
        result = cross_validate_model(pipe, X, y, cv)
        add_decision_metrics(result, y, cost_fn=cost_fn, cost_fp=cost_fp)
        row = {"model": model, "strategy": strategy, **result.summary()}
        log.info(
            "%s + %s: AUC %.4f, cost/client %.4f (%.0f s)",
            model,
            strategy,
            row["roc_auc_mean"],
            row["cost_per_client_mean"],
            time.perf_counter() - start,
        )
        if on_result is not None:
            on_result(model, strategy, row, result)
        rows.append(row)
        details[(model, strategy)] = result
    results = pd.DataFrame(rows).sort_values(
        ["cost_per_client_mean", "roc_auc_mean"], ascending=[True, False]
    )
    return results.reset_index(drop=True), details


#: Columns of the comparison that measure the machine, not the model: they go to MLflow and
#: the stage's log, never into an output DVC hashes.
TIMING_COLUMNS = ("fit_time_mean", "fit_time_std", "predict_time_mean", "predict_time_std")


def selection_table(
    results: pd.DataFrame,
    details: dict[tuple[str, str], CVResult],
    by: str = "cost",
) -> pd.DataFrame:
    """Which pair to tune, and how sure that choice is, from quality measures only.

    Every pair was scored on the same folds, so each is compared with the best pair fold by
    fold (a paired difference, whose noise is far smaller than that of either mean):

    - the best pair has the lowest mean cost per client (``by="cost"``) or the highest mean
      ROC AUC (``by="roc_auc"``);
    - a pair whose mean paired gap to it is at most one paired standard error is **tied**
      with it: cross-validation cannot tell them apart;
    - among tied pairs the better *other* measure wins (ROC AUC when choosing by cost, cost
      when choosing by AUC): a cost at one threshold is noisy, the AUC ranks every client;
    - an exact tie on both goes to the pair listed first in ``results``' original order
      (``params.yaml``'s order of models, then of strategies).

    Nothing here depends on fit times, so the machine's load cannot change the choice.

    Parameters
    ----------
    results
        The comparison table of :func:`compare_candidates` (the constant baseline excluded
        by the caller when it should not compete).
    details
        The per-pair :class:`CVResult` (their ``folds`` hold the per-fold metrics).
    by
        ``cost`` or ``roc_auc``.

    Returns
    -------
    pandas.DataFrame
        One row per pair, the chosen pair first then by the criterion: ``model``,
        ``strategy``, ``cost_per_client_mean``, ``roc_auc_mean``, ``fold_wins`` (folds where
        the pair is the best of the table), ``tied`` (with the best), ``chosen`` and
        ``gap_in_se``: the mean paired difference to the *chosen* pair on the criterion
        (worse is positive) in units of its standard error.

    Examples
    --------
    >>> folds = lambda costs, aucs: CVResult(np.zeros(2), np.zeros(2, dtype=np.int64),
    ...     pd.DataFrame({"fold": range(3), "cost_per_client": costs, "roc_auc": aucs}))
    >>> details = {("a", "none"): folds([0.49, 0.53, 0.51], [0.78, 0.79, 0.77]),
    ...            ("b", "none"): folds([0.50, 0.51, 0.51], [0.76, 0.75, 0.76]),
    ...            ("c", "none"): folds([0.60, 0.62, 0.61], [0.70, 0.71, 0.70])}
    >>> results = pd.DataFrame({"model": ["a", "b", "c"], "strategy": ["none"] * 3})
    >>> table = selection_table(results, details, "cost")
    >>> table[["model", "tied", "chosen"]].to_dict("list")
    {'model': ['a', 'b', 'c'], 'tied': [True, True, False], 'chosen': [True, False, False]}
    >>> table["fold_wins"].tolist()
    [2, 2, 0]
    """
    if by not in ("cost", "roc_auc"):
        raise ValueError(f"select_by must be 'cost' or 'roc_auc', got {by!r}")
    metric, other = (
        ("cost_per_client", "roc_auc") if by == "cost" else ("roc_auc", "cost_per_client")
    )
    sign = 1.0 if by == "cost" else -1.0  # lower is better, after the sign
    pairs = list(zip(results["model"], results["strategy"], strict=True))
    per_fold = np.array(
        [sign * details[pair].folds[metric].to_numpy(dtype=float) for pair in pairs]
    )  # pairs x folds, lower is better
    n_folds = per_fold.shape[1]

    def paired_gap(reference: int) -> tuple[np.ndarray, np.ndarray]:
        gaps = per_fold - per_fold[reference]
        se = gaps.std(axis=1, ddof=1) / np.sqrt(n_folds) if n_folds > 1 else 0 * gaps[:, 0]
        return gaps.mean(axis=1), se

    best = int(np.argmin(per_fold.mean(axis=1)))  # the first of equal means: params order
    gap, gap_se = paired_gap(best)
    table = pd.DataFrame(
        {
            "model": [m for m, _ in pairs],
            "strategy": [s for _, s in pairs],
            "cost_per_client_mean": [details[p].folds["cost_per_client"].mean() for p in pairs],
            "roc_auc_mean": [details[p].folds["roc_auc"].mean() for p in pairs],
            "fold_wins": (per_fold == per_fold.min(axis=0)).sum(axis=1).astype(np.int64),
            "tied": gap <= gap_se,
            "order": np.arange(len(pairs)),
        }
    )
    other_sign = -1.0 if other == "roc_auc" else 1.0  # lower is better, after the sign
    tied = table[table["tied"]].assign(_other=lambda t: other_sign * t[f"{other}_mean"])
    chosen = int(tied.sort_values(["_other", "order"], kind="stable").index[0])
    table["chosen"] = table.index == chosen
    gap, gap_se = paired_gap(chosen)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["gap_in_se"] = np.where(gap == 0, 0.0, gap / gap_se)
    table["_rank"] = np.where(table["chosen"], -np.inf, sign * table[f"{metric}_mean"])
    table = table.sort_values(["_rank", "order"], kind="stable")
    return table.drop(columns=["_rank", "order"]).reset_index(drop=True)


def stratified_subsample(
    X: pd.DataFrame, y: npt.ArrayLike, rows: int | None, seed: int
) -> tuple[pd.DataFrame, npt.NDArray[Any]]:
    """At most ``rows`` rows, drawn stratified on ``y``; all rows when ``rows`` is 0/None/large.

    Examples
    --------
    >>> X = pd.DataFrame({"a": range(100)}); y = np.array([0] * 90 + [1] * 10)
    >>> Xs, ys = stratified_subsample(X, y, 50, seed=0)
    >>> len(Xs), int(ys.sum())
    (50, 5)
    """
    y = np.asarray(y)
    if not rows or rows >= len(X):
        return X, y
    keep, _ = train_test_split(np.arange(len(X)), train_size=rows, stratify=y, random_state=seed)
    keep = np.sort(keep)
    return X.iloc[keep], y[keep]


def bootstrap_ci(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    statistic: Callable[[npt.NDArray[Any], FloatArray], float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(y, p)`` over resampled clients.

    Resamples where the statistic is undefined (``nan``) are skipped.
    """
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        values.append(statistic(y[idx], p[idx]))
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(arr, alpha)), float(np.quantile(arr, 1.0 - alpha))
