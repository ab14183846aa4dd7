"""The business cost of decisions, and the threshold that minimises it.

A missed default (false negative: credit granted, client defaults) costs ``cost_fn``; a refused
good client (false positive) costs ``cost_fp``. A client is predicted to default, and refused,
when its probability is at least the threshold (the convention of scikit-learn's
``TunedThresholdClassifierCV``).

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 0, 1, 1])
>>> p = np.array([0.125, 0.25, 0.75, 0.5, 0.875])
>>> business_cost(y, p >= 0.6, cost_fn=10, cost_fp=1)  # one FN (0.5), one FP (0.75)
11.0
>>> best_threshold(y, p, cost_fn=10, cost_fp=1)  # refusing 0.5 and above costs only the FP
0.375
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import make_scorer

ArrayLike = npt.ArrayLike


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[int, int, int, int]:
    """Return ``(tn, fp, fn, tp)`` for binary labels (1 = default, predicted refusal).

    Examples
    --------
    >>> confusion_counts([0, 1, 1, 0], [1, 1, 0, 0])
    (1, 1, 1, 1)
    """
    y = np.asarray(y_true).astype(bool)
    pred = np.asarray(y_pred).astype(bool)
    tp = int(np.sum(y & pred))
    fp = int(np.sum(~y & pred))
    fn = int(np.sum(y & ~pred))
    return int(y.size - tp - fp - fn), fp, fn, tp


def business_cost(
    y_true: ArrayLike, y_pred: ArrayLike, *, cost_fn: float = 10.0, cost_fp: float = 1.0
) -> float:
    """Total cost ``cost_fn * FN + cost_fp * FP`` of the predictions ``y_pred`` (1 = refuse).

    Examples
    --------
    >>> business_cost([1, 1, 0, 0], [0, 1, 1, 1], cost_fn=10, cost_fp=1)
    12.0
    """
    _, fp, fn, _ = confusion_counts(y_true, y_pred)
    return float(cost_fn * fn + cost_fp * fp)


def cost_per_client(
    y_true: ArrayLike, y_pred: ArrayLike, *, cost_fn: float = 10.0, cost_fp: float = 1.0
) -> float:
    """The business cost divided by the number of clients: comparable across sample sizes.

    Examples
    --------
    >>> cost_per_client([1, 1, 0, 0], [0, 1, 1, 1], cost_fn=10, cost_fp=1)
    3.0
    """
    n = np.asarray(y_true).size
    return business_cost(y_true, y_pred, cost_fn=cost_fn, cost_fp=cost_fp) / max(n, 1)


def theoretical_threshold(cost_fn: float, cost_fp: float) -> float:
    """The cost-optimal threshold for *calibrated* probabilities: ``cost_fp / (cost_fp + cost_fn)``.

    Refusing costs ``cost_fp * (1 - p)`` in expectation, granting ``cost_fn * p``; they are
    equal at this probability.

    Examples
    --------
    >>> round(theoretical_threshold(10, 1), 4)
    0.0909
    """
    return cost_fp / (cost_fp + cost_fn)


def cost_curve(
    y_true: ArrayLike,
    proba: ArrayLike,
    thresholds: ArrayLike,
    *,
    cost_fn: float = 10.0,
    cost_fp: float = 1.0,
) -> npt.NDArray[np.float64]:
    """Cost per client at each threshold (refuse when ``proba >= threshold``).

    Examples
    --------
    >>> cost_curve([0, 1], [0.2, 0.7], [0.0, 0.5, 1.1], cost_fn=10, cost_fp=1).tolist()
    [0.5, 0.0, 5.0]
    """
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(proba, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    # Counting by sorted search keeps this O((n + m) log n) for a fine grid of thresholds.
    p_pos, p_neg = np.sort(p[y]), np.sort(p[~y])
    fn = np.searchsorted(p_pos, t, side="left")  # positives strictly below the threshold
    fp = p_neg.size - np.searchsorted(p_neg, t, side="left")
    return (cost_fn * fn + cost_fp * fp) / max(p.size, 1)


def best_threshold(
    y_true: ArrayLike, proba: ArrayLike, *, cost_fn: float = 10.0, cost_fp: float = 1.0
) -> float:
    """The threshold minimising the business cost on ``(y_true, proba)``, searched exactly.

    Every distinct probability is a candidate cut; the returned threshold is the midpoint
    between the lowest refused probability and the highest granted one, so that new clients
    falling between two observed probabilities get the decision of the nearer one. Ties in
    cost go to the highest threshold (fewer refusals).

    Parameters
    ----------
    y_true
        Observed outcomes, 1 = default.
    proba
        Out-of-fold probabilities of default (never in-sample predictions).
    cost_fn, cost_fp
        Cost of a missed default and of a refused good client.

    Returns
    -------
    float
        A threshold in [0, 1]: refuse when ``proba >= threshold``. Above every probability
        (accept everyone) it is ``1.0``.

    Examples
    --------
    >>> best_threshold([0, 0, 1, 1], [0.125, 0.25, 0.375, 0.75], cost_fn=10, cost_fp=1)
    0.3125
    """
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(proba, dtype=float)
    values = np.unique(p)  # ascending candidate cuts: refuse when p >= value
    costs = cost_curve(y, p, values, cost_fn=cost_fn, cost_fp=cost_fp)
    accept_all = cost_fn * y.sum() / max(p.size, 1)
    best = len(values) - 1 - int(np.argmin(costs[::-1]))  # the highest cut among the minima
    if costs[best] >= accept_all:
        return 1.0
    if best == 0:
        return float(values[0]) / 2.0
    return float((values[best - 1] + values[best]) / 2.0)


@dataclass(frozen=True)
class CostSummary:
    """Cost per client of the model's decisions and of two reference policies."""

    threshold: float
    cost_per_client: float
    cost_at_half: float
    cost_accept_all: float
    recall: float
    precision: float
    refusal_rate: float

    def to_dict(self) -> dict[str, float]:
        """The fields as a plain dict (for JSON and MLflow)."""
        return dict(self.__dict__)


def summarise_cost(
    y_true: ArrayLike,
    proba: ArrayLike,
    threshold: float,
    *,
    cost_fn: float = 10.0,
    cost_fp: float = 1.0,
) -> CostSummary:
    """Cost per client at ``threshold``, at 0.5 and when every credit is granted.

    Examples
    --------
    >>> s = summarise_cost([0, 0, 1, 1], [0.125, 0.25, 0.375, 0.75], 0.3125, cost_fn=10, cost_fp=1)
    >>> s.cost_per_client, s.cost_at_half, s.cost_accept_all, s.recall
    (0.0, 2.5, 5.0, 1.0)
    """
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(proba, dtype=float)
    pred = p >= threshold
    _, fp, fn, tp = confusion_counts(y, pred)
    kw: dict[str, Any] = {"cost_fn": cost_fn, "cost_fp": cost_fp}
    return CostSummary(
        threshold=float(threshold),
        cost_per_client=cost_per_client(y, pred, **kw),
        cost_at_half=cost_per_client(y, p >= 0.5, **kw),
        cost_accept_all=cost_per_client(y, np.zeros_like(y), **kw),
        recall=tp / max(tp + fn, 1),
        precision=tp / max(tp + fp, 1),
        refusal_rate=float(pred.mean()) if pred.size else 0.0,
    )


def negative_cost_scorer(cost_fn: float = 10.0, cost_fp: float = 1.0) -> Callable[..., float]:
    """A scikit-learn scorer of the negative cost per client (greater is better).

    It plugs the business cost into ``TunedThresholdClassifierCV`` or ``cross_validate``;
    :func:`best_threshold` is the exact equivalent on out-of-fold probabilities.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> clf = DummyClassifier(strategy="constant", constant=0).fit([[0]] * 4, [0, 0, 1, 1])
    >>> negative_cost_scorer(10, 1)(clf, [[0]] * 4, [0, 0, 1, 1])
    -5.0
    """
    return make_scorer(cost_per_client, greater_is_better=False, cost_fn=cost_fn, cost_fp=cost_fp)
