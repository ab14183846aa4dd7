"""The review band's workload and cost, on held-out labels and calibrated probabilities.

Clients whose risk score falls inside the review band (45 to 55 by default, bounds included)
go to an advisor; the others get the automatic decision: ``grant`` below the band, ``refuse``
above it (:func:`credit_scoring.scoring.decision`). How many clients the band sends to the
advisors, and what the bank would pay for three simple advisor policies, tell whether the
band is worth its workload:

- ``grant_all``: the advisors grant every client of the band;
- ``refuse_all``: they refuse every one;
- ``follow_threshold``: they follow the model, refusing exactly the clients whose score is
  above 50 (the probability above the threshold), as the automatic decision would.

Costs are per client of the whole sample, ``(cost_fn * FN + cost_fp * FP) / n``, so they
compare with the cost of the threshold alone (:mod:`credit_scoring.modelling.cost`).

Examples
--------
Threshold 0.2, 10 points to double the odds: the band 45-55 covers the probabilities from
15 % to 26 %. Of four clients, one is granted, one refused, two go to the advisors; the one
at 0.16 defaults.

>>> y = [0, 1, 0, 1]
>>> p = [0.05, 0.16, 0.25, 0.5]
>>> figures = band_policies(y, p, threshold=0.2, points_to_double_odds=10)
>>> figures["share_review"], figures["default_rate_review"]
(0.5, 0.5)
>>> figures["cost_grant_all"], figures["cost_refuse_all"], figures["cost_follow_threshold"]
(2.5, 0.25, 2.75)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure

from credit_scoring.scoring import (
    DEFAULT_REVIEW_BAND,
    check_band,
    probability_from_score,
    risk_score,
)

#: The score of the threshold: refusing starts above it.
THRESHOLD_SCORE = 50.0
DEFAULT_HALF_WIDTHS: tuple[float, ...] = (0.0, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0)
POLICIES: tuple[str, ...] = ("grant_all", "refuse_all", "follow_threshold")
POLICY_LABELS_FR: dict[str, str] = {
    "grant_all": "les conseillers accordent tout",
    "refuse_all": "les conseillers refusent tout",
    "follow_threshold": "les conseillers suivent le seuil",
}

# Figure name -> (French column, factor): shares become percentages, costs stay as they are.
_TABLE_COLUMNS: dict[str, tuple[str, float]] = {
    "half_width": ("Demi-largeur (points)", 1.0),
    "low": ("Score bas", 1.0),
    "high": ("Score haut", 1.0),
    "p_low": ("Probabilité basse (%)", 100.0),
    "p_high": ("Probabilité haute (%)", 100.0),
    "share_granted": ("Accordés automatiquement (%)", 100.0),
    "share_review": ("Envoyés aux conseillers (%)", 100.0),
    "share_refused": ("Refusés automatiquement (%)", 100.0),
    "default_rate_review": ("Taux de défaut dans la zone (%)", 100.0),
    **{
        f"cost_{policy}": (f"Coût par client, {label}", 1.0)
        for policy, label in POLICY_LABELS_FR.items()
    },
}
#: Digits to show per column of :func:`band_table`, e.g. for ``credit_scoring.report.table``.
BAND_TABLE_DECIMALS: dict[str, int] = {
    label: (3 if label.startswith("Coût") else 1) for label, _ in _TABLE_COLUMNS.values()
}


def _check_inputs(
    y: npt.ArrayLike, p: npt.ArrayLike, cost_fn: float, cost_fp: float
) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.float64]]:
    labels = np.asarray(y).ravel()
    proba = np.asarray(p, dtype=float).ravel()
    if labels.size != proba.size:
        raise ValueError(
            f"y and p must have the same length (one label and one probability per client), "
            f"got {labels.size} labels and {proba.size} probabilities"
        )
    if labels.size == 0:
        raise ValueError("y and p are empty: the band needs at least one client")
    if not np.all(np.isfinite(proba) & (proba >= 0.0) & (proba <= 1.0)):
        bad = proba[~(np.isfinite(proba) & (proba >= 0.0) & (proba <= 1.0))]
        raise ValueError(
            f"p must hold probabilities in [0, 1], got {bad.size} outside, e.g. {bad[0]!r}"
        )
    try:
        numeric = labels.astype(float)
    except (TypeError, ValueError):
        numeric = np.full(labels.shape, np.nan)
    if not np.all((numeric == 0.0) | (numeric == 1.0)):
        found = sorted({str(v) for v in labels[~((numeric == 0.0) | (numeric == 1.0))]})[:5]
        raise ValueError(f"y must hold 0/1 labels (1 = default), got values {found}")
    for name, cost in (("cost_fn", cost_fn), ("cost_fp", cost_fp)):
        if not (np.isfinite(cost) and cost >= 0.0):
            raise ValueError(f"{name} must be a finite cost of at least 0, got {cost!r}")
    return numeric.astype(int), proba


def _check_band_around_threshold(band: Sequence[float]) -> tuple[float, float]:
    low, high = check_band(band)
    # Outside such a band the automatic decision would contradict the threshold.
    if not low <= THRESHOLD_SCORE <= high:
        raise ValueError(
            f"the review band must contain the threshold's score {THRESHOLD_SCORE:g}, got {band!r}"
        )
    return low, high


def _figures(
    y: npt.NDArray[np.int_],
    scores: npt.NDArray[np.float64],
    *,
    threshold: float,
    band: tuple[float, float],
    points_to_double_odds: float,
    cost_fn: float,
    cost_fp: float,
) -> dict[str, Any]:
    low, high = band
    n = y.size
    defaults = y == 1
    granted = scores < low
    refused = scores > high
    review = ~granted & ~refused
    above = scores > THRESHOLD_SCORE

    def cost(refuse: npt.NDArray[np.bool_]) -> float:
        fn = int(np.sum(defaults & ~refuse))
        fp = int(np.sum(~defaults & refuse))
        return float((cost_fn * fn + cost_fp * fp) / n)

    n_review = int(review.sum())
    return {
        "threshold": float(threshold),
        "points_to_double_odds": float(points_to_double_odds),
        "low": low,
        "high": high,
        "p_low": probability_from_score(low, threshold, points_to_double_odds),
        "p_high": probability_from_score(high, threshold, points_to_double_odds),
        "n": n,
        "n_review": n_review,
        "share_granted": float(granted.mean()),
        "share_review": float(review.mean()),
        "share_refused": float(refused.mean()),
        "default_rate_review": float(y[review].mean()) if n_review else float("nan"),
        "cost_grant_all": cost(refused),
        "cost_refuse_all": cost(refused | review),
        "cost_follow_threshold": cost(refused | (review & above)),
    }


def band_policies(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    *,
    threshold: float,
    band: Sequence[float] = DEFAULT_REVIEW_BAND,
    points_to_double_odds: float,
    cost_fn: float = 10.0,
    cost_fp: float = 1.0,
) -> dict[str, Any]:
    """The workload and the cost of one review band, under the three advisor policies.

    Parameters
    ----------
    y
        Observed outcomes, 1 = default, 0 = repaid.
    p
        Calibrated probabilities of default, in [0, 1], one per label.
    threshold
        The model's probability threshold (score 50), in (0, 1].
    band
        The review band ``(low, high)`` on the score scale, bounds included; it must
        contain 50.
    points_to_double_odds
        The scale of the score (:func:`credit_scoring.scoring.risk_score`).
    cost_fn, cost_fp
        Cost of a granted default and of a refused good client.

    Returns
    -------
    dict
        ``threshold``, ``points_to_double_odds``, ``low``, ``high``; ``p_low`` and ``p_high``,
        the probabilities at the band's edges; ``n`` and ``n_review`` (clients, clients in
        the band); ``share_granted``, ``share_review`` and ``share_refused`` (they sum to 1);
        ``default_rate_review`` (NaN for an empty band); ``cost_grant_all``,
        ``cost_refuse_all`` and ``cost_follow_threshold``, per client of the sample.

    Raises
    ------
    ValueError
        When ``y`` and ``p`` differ in length or are empty, ``p`` is not in [0, 1], ``y`` is
        not 0/1, the band is invalid or leaves out 50, a cost is negative, or the threshold
        or the scale is invalid.

    Examples
    --------
    >>> f = band_policies([0, 0, 1], [0.01, 0.1, 0.9], threshold=0.1, points_to_double_odds=10)
    >>> f["share_granted"], f["n_review"], f["share_refused"], round(f["p_high"], 4)
    (0.3333333333333333, 1, 0.3333333333333333, 0.1358)
    >>> f["cost_grant_all"], round(f["cost_refuse_all"], 4)
    (0.0, 0.3333)
    """
    labels, proba = _check_inputs(y, p, cost_fn, cost_fp)
    limits = _check_band_around_threshold(band)
    scores = np.asarray(risk_score(proba, threshold, points_to_double_odds), dtype=float)
    return _figures(
        labels,
        scores,
        threshold=threshold,
        band=limits,
        points_to_double_odds=points_to_double_odds,
        cost_fn=cost_fn,
        cost_fp=cost_fp,
    )


def band_sweep(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    *,
    threshold: float,
    points_to_double_odds: float,
    half_widths: Sequence[float] = DEFAULT_HALF_WIDTHS,
    cost_fn: float = 10.0,
    cost_fp: float = 1.0,
) -> pd.DataFrame:
    """The figures of :func:`band_policies` for symmetric bands ``50 ± w``, one row per ``w``.

    Parameters
    ----------
    y, p, threshold, points_to_double_odds, cost_fn, cost_fp
        As for :func:`band_policies`.
    half_widths
        The half-widths ``w`` in score points, each in [0, 50]; rows keep their order.

    Returns
    -------
    pandas.DataFrame
        A ``half_width`` column, then the keys of :func:`band_policies`.

    Examples
    --------
    >>> sweep = band_sweep(
    ...     [0, 1, 0, 1], [0.05, 0.16, 0.25, 0.5], threshold=0.2, points_to_double_odds=10,
    ...     half_widths=[0, 5, 50],
    ... )
    >>> sweep[["half_width", "low", "high", "share_review"]].to_numpy().tolist()
    [[0.0, 50.0, 50.0, 0.0], [5.0, 45.0, 55.0, 0.5], [50.0, 0.0, 100.0, 1.0]]
    """
    labels, proba = _check_inputs(y, p, cost_fn, cost_fp)
    widths = [float(w) for w in half_widths]
    if not widths:
        raise ValueError("half_widths is empty: give at least one half-width")
    wrong = [w for w in widths if not (np.isfinite(w) and 0.0 <= w <= THRESHOLD_SCORE)]
    if wrong:
        raise ValueError(f"half_widths must be score points in [0, 50], got {wrong}")
    scores = np.asarray(risk_score(proba, threshold, points_to_double_odds), dtype=float)
    rows = [
        {
            "half_width": w,
            **_figures(
                labels,
                scores,
                threshold=threshold,
                band=check_band((THRESHOLD_SCORE - w, THRESHOLD_SCORE + w)),
                points_to_double_odds=points_to_double_odds,
                cost_fn=cost_fn,
                cost_fp=cost_fp,
            ),
        }
        for w in widths
    ]
    return pd.DataFrame(rows)


def band_table(figures: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    """The figures of a sweep (or of one band) for the report: French columns, shares in %.

    Percentages are numbers (12.5 for 12.5 %), to format with :data:`BAND_TABLE_DECIMALS`.

    Examples
    --------
    >>> f = band_policies([0, 1, 0, 1], [0.05, 0.16, 0.25, 0.5], threshold=0.2,
    ...                   points_to_double_odds=10)
    >>> row = band_table(f).iloc[0]
    >>> float(row["Envoyés aux conseillers (%)"])
    50.0
    >>> float(row["Coût par client, les conseillers refusent tout"])
    0.25
    """
    frame = pd.DataFrame([dict(figures)]) if isinstance(figures, Mapping) else figures
    missing = [k for k in _TABLE_COLUMNS if k != "half_width" and k not in frame.columns]
    if missing:
        raise ValueError(
            f"figures must come from band_policies or band_sweep; missing columns {missing}"
        )
    keys = [k for k in _TABLE_COLUMNS if k in frame.columns]
    out = pd.DataFrame(
        {_TABLE_COLUMNS[k][0]: frame[k].astype(float) * _TABLE_COLUMNS[k][1] for k in keys}
    )
    return out.reset_index(drop=True)


def plot_band_sweep(sweep: pd.DataFrame) -> Figure:
    """The workload and the three costs against the band's half-width (from
    :func:`band_sweep`): on the left the share sent to advisors, on the right the cost per
    client of each advisor policy.

    Examples
    --------
    >>> sweep = band_sweep([0, 1, 0, 1], [0.05, 0.16, 0.25, 0.5], threshold=0.2,
    ...                    points_to_double_odds=10)
    >>> fig = plot_band_sweep(sweep)
    >>> [len(ax.get_lines()) for ax in fig.axes]
    [1, 3]
    >>> plt.close(fig)
    """
    needed = ["half_width", "share_review", *(f"cost_{policy}" for policy in POLICIES)]
    missing = [c for c in needed if c not in sweep.columns]
    if missing:
        raise ValueError(f"sweep must come from band_sweep; missing columns {missing}")
    # Okabe-Ito, colour-blind safe, as the other figures of the train report.
    colours = {"grant_all": "#009E73", "refuse_all": "#D55E00", "follow_threshold": "#0072B2"}
    w = sweep["half_width"].to_numpy(dtype=float)
    fig, (load, cost) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    load.plot(w, 100.0 * sweep["share_review"].to_numpy(dtype=float), "o-", color="#E69F00")
    load.set_xlabel("Demi-largeur de la zone d'étude (points autour de 50)")
    load.set_ylabel("Demandes envoyées aux conseillers (%)")
    load.set_title("Charge des conseillers")
    for policy in POLICIES:
        cost.plot(
            w,
            sweep[f"cost_{policy}"].to_numpy(dtype=float),
            "o-",
            color=colours[policy],
            label=POLICY_LABELS_FR[policy],
        )
    cost.set_xlabel("Demi-largeur de la zone d'étude (points autour de 50)")
    cost.set_ylabel("Coût par client")
    cost.set_title("Coût selon la politique des conseillers")
    cost.legend(fontsize=8)
    for ax in (load, cost):
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Zone d'étude : charge et coût selon sa largeur")
    fig.tight_layout()
    return fig
