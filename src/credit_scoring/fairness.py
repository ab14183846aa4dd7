"""Fairness audit of the decisions: refusal and error rates by gender and by age band.

The audit reads the held-out test predictions of the champion (never a choice was made on
them) and measures, per group, with fairlearn's :class:`~fairlearn.metrics.MetricFrame`:

- the refusal rate: share of clients whose probability reaches the threshold (risk score 50,
  the cost-optimal cut), fairlearn's *selection rate* of the "refuse" prediction;
- the false negative rate: share of the clients who defaulted that the model granted;
- the false positive rate: share of the clients who repaid that the model refused;
- the observed default rate, which the refusal rate should be read against.

Gaps between groups are given as a difference (largest minus smallest) and a ratio (smallest
over largest: 1 is parity; the US "four-fifths rule" flags ratios below 0.8).

The sensitive attribute ``CODE_GENDER`` is used here only; whether it (or a feature derived from
it) feeds the model is reported by :func:`sensitive_features_in`, and what excluding it costs is
measured by :func:`attribute_tradeoff`.

Examples
--------
>>> y = np.array([1, 0, 0, 1, 0, 0])
>>> p = np.array([0.9, 0.8, 0.1, 0.1, 0.2, 0.1])
>>> a = audit(y, p, threshold=0.5, sensitive={"genre": pd.Series(list("FFFMMM"))})
>>> a.rates[["groupe", "refusal_rate", "false_negative_rate"]].round(2).values.tolist()
[['F', 0.67, 0.0], ['M', 0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Upper bounds (excluded) of the age bands, in years.
AGE_EDGES: tuple[int, ...] = (30, 40, 50, 60)
GENDER_FR = {"F": "femmes", "M": "hommes"}
#: The rates of the audit, in French, in the order of the tables.
RATES_FR: dict[str, str] = {
    "clients": "clients",
    "default_rate": "taux de défaut observé",
    "refusal_rate": "taux de refus",
    "false_negative_rate": "défauts accordés (faux négatifs)",
    "false_positive_rate": "bons clients refusés (faux positifs)",
}
GAP_RATES: tuple[str, ...] = ("refusal_rate", "false_negative_rate", "false_positive_rate")
ATTRIBUTES_FR = {"gender": "genre", "age_band": "tranche d'âge"}


def age_band(age_years: npt.ArrayLike, edges: Sequence[int] = AGE_EDGES) -> pd.Categorical:
    """Age bands in French: « moins de 30 ans », « 30-39 ans », ..., « 60 ans et plus ».

    Examples
    --------
    >>> age_band([25.0, 30.0, 45.5, 61.0, np.nan]).tolist()
    ['moins de 30 ans', '30-39 ans', '40-49 ans', '60 ans et plus', nan]
    """
    edges = list(edges)
    labels = [f"moins de {edges[0]} ans"]
    labels += [f"{a}-{b - 1} ans" for a, b in pairwise(edges)]
    labels.append(f"{edges[-1]} ans et plus")
    bins = [-np.inf, *edges, np.inf]
    return pd.cut(
        np.asarray(age_years, dtype=float), bins=bins, labels=labels, right=False, ordered=True
    )


def _default_rate(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    return float(np.mean(y_true))


def _metrics() -> dict[str, Callable[..., float]]:
    from fairlearn.metrics import count, false_negative_rate, false_positive_rate, selection_rate

    return {
        "clients": count,
        "default_rate": _default_rate,
        "refusal_rate": selection_rate,
        "false_negative_rate": false_negative_rate,
        "false_positive_rate": false_positive_rate,
    }


@dataclass
class FairnessAudit:
    """Rates by group and their gaps.

    Attributes
    ----------
    rates
        One row per (attribute, group): ``attribut``, ``groupe``, then :data:`RATES_FR` keys.
    gaps
        One row per (attribute, rate): ``difference`` (max - min), ``ratio`` (min / max),
        ``highest`` and ``lowest`` groups.
    overall
        The rates on every client.
    excluded
        Clients left out per attribute (group unknown or below ``min_group_size``).
    threshold
        The probability at which a client counts as refused.
    """

    rates: pd.DataFrame
    gaps: pd.DataFrame
    overall: dict[str, float]
    excluded: dict[str, int]
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: gaps per attribute and rate, and the overall rates."""
        gaps: dict[str, dict[str, Any]] = {}
        for row in self.gaps.to_dict("records"):
            gaps.setdefault(row["attribut"], {})[row["taux"]] = {
                "difference": float(row["difference"]),
                "ratio": float(row["ratio"]),
                "highest": str(row["highest"]),
                "lowest": str(row["lowest"]),
            }
        groups: dict[str, dict[str, Any]] = {}
        for row in self.rates.to_dict("records"):
            groups.setdefault(row["attribut"], {})[str(row["groupe"])] = {
                k: (int(row[k]) if k == "clients" else float(row[k])) for k in RATES_FR
            }
        return {
            "threshold": float(self.threshold),
            "overall": {k: float(v) for k, v in self.overall.items()},
            "groups": groups,
            "gaps": gaps,
            "excluded": dict(self.excluded),
        }

    def table_fr(self) -> pd.DataFrame:
        """The rates table with French headers, indexed by (attribute, group)."""
        table = self.rates.rename(columns=RATES_FR)
        table["attribut"] = table["attribut"].map(lambda a: ATTRIBUTES_FR.get(a, a))
        return table.set_index(["attribut", "groupe"])

    def gaps_fr(self) -> pd.DataFrame:
        """The gaps table with French headers."""
        table = self.gaps.copy()
        table["attribut"] = table["attribut"].map(lambda a: ATTRIBUTES_FR.get(a, a))
        table["taux"] = table["taux"].map(RATES_FR)
        return table.rename(
            columns={
                "difference": "écart (max - min)",
                "ratio": "rapport (min / max)",
                "highest": "groupe le plus haut",
                "lowest": "groupe le plus bas",
            }
        ).set_index(["attribut", "taux"])


def audit(
    y_true: npt.ArrayLike,
    probability: npt.ArrayLike,
    threshold: float,
    sensitive: Mapping[str, pd.Series | npt.ArrayLike],
    *,
    min_group_size: int = 0,
) -> FairnessAudit:
    """Refusal, false negative and false positive rates by group, with their gaps.

    Parameters
    ----------
    y_true
        Observed outcomes (1 = default).
    probability
        Calibrated probabilities of default.
    threshold
        Refused when the probability reaches it.
    sensitive
        Attribute name to group of each client (missing: left out of that attribute).
    min_group_size
        Groups with fewer clients are left out of the gaps (their rates are noise).
    """
    from fairlearn.metrics import MetricFrame

    y = np.asarray(y_true, dtype=int)
    refused = (np.asarray(probability, dtype=float) >= threshold).astype(int)
    metrics = _metrics()
    overall = {name: float(f(y, refused)) for name, f in metrics.items()}
    rate_frames, gap_rows, excluded = [], [], {}
    for name, groups in sensitive.items():
        groups = pd.Series(groups).reset_index(drop=True)
        known = groups.notna().to_numpy()
        if isinstance(groups.dtype, pd.CategoricalDtype):
            groups = groups.cat.remove_unused_categories()
        frame = MetricFrame(
            metrics=metrics,
            y_true=y[known],
            y_pred=refused[known],
            sensitive_features=groups[known].astype(str).to_numpy(),
        )
        by_group = frame.by_group
        if isinstance(groups.dtype, pd.CategoricalDtype):  # keep the bands in age order
            order = [str(c) for c in groups.cat.categories if str(c) in by_group.index]
            by_group = by_group.loc[order]
        large = by_group[by_group["clients"] >= min_group_size]
        excluded[name] = int(
            (~known).sum() + by_group.loc[~by_group.index.isin(large.index), "clients"].sum()
        )
        table = by_group.reset_index(names="groupe")
        table.insert(0, "attribut", name)
        rate_frames.append(table)
        for rate in GAP_RATES:
            values = large[rate].astype(float).dropna()
            if values.empty:
                continue
            high, low = values.max(), values.min()
            gap_rows.append(
                {
                    "attribut": name,
                    "taux": rate,
                    "difference": float(high - low),
                    "ratio": float(low / high) if high > 0 else 1.0,
                    "highest": str(values.idxmax()),
                    "lowest": str(values.idxmin()),
                }
            )
    rates = pd.concat(rate_frames, ignore_index=True)
    rates["clients"] = rates["clients"].astype(int)
    for column in RATES_FR:
        if column != "clients":
            rates[column] = rates[column].astype(float)
    return FairnessAudit(
        rates=rates,
        gaps=pd.DataFrame(gap_rows),
        overall={k: float(v) for k, v in overall.items()},
        excluded=excluded,
        threshold=float(threshold),
    )


def sensitive_frame(
    features: pd.DataFrame, edges: Sequence[int] = AGE_EDGES
) -> dict[str, pd.Series]:
    """The audited attributes of feature rows: gender (French) and age band.

    Examples
    --------
    >>> f = pd.DataFrame({"CODE_GENDER": ["F", "M", None], "AGE_YEARS": [25.0, 41.0, 70.0]})
    >>> s = sensitive_frame(f)
    >>> s["gender"].tolist(), s["age_band"].tolist()
    (['femmes', 'hommes', nan], ['moins de 30 ans', '40-49 ans', '60 ans et plus'])
    """
    gender = features["CODE_GENDER"].astype(object).map(GENDER_FR)
    return {
        "gender": pd.Series(gender.to_numpy(), name="gender"),
        "age_band": pd.Series(age_band(features["AGE_YEARS"], edges), name="age_band"),
    }


def sensitive_features_in(features: Sequence[str], attribute: str = "CODE_GENDER") -> list[str]:
    """The model features that are, or are derived from, a sensitive attribute.

    >>> sensitive_features_in(["AGE_YEARS", "CODE_GENDER", "X"])
    ['CODE_GENDER']
    """
    stem = attribute.removeprefix("CODE_").upper()
    return [f for f in features if stem in f.upper()]


def attribute_tradeoff(
    estimator: Any,
    X: pd.DataFrame,
    y: npt.ArrayLike,
    attribute_columns: Sequence[str],
    groups: pd.Series,
    *,
    folds: int = 3,
    seed: int = 0,
    cost_fn: float = 10.0,
    cost_fp: float = 1.0,
) -> pd.DataFrame:
    """What using the attribute buys: cross-validated AUC, business cost and refusal-rate gap
    of the same pipeline with and without the attribute's columns.

    Each variant gets its own cost-optimal threshold on its out-of-fold probabilities
    (uncalibrated: the ranking and the cut are what matter here).

    Parameters
    ----------
    estimator
        An unfitted pipeline (cloned for each fold).
    X, y
        Training features and outcomes (a subsample is enough).
    attribute_columns
        The columns dropped in the « sans » variant.
    groups
        The attribute's groups of the rows of ``X`` (for the refusal-rate gap).

    Returns
    -------
    DataFrame
        Rows ``avec l'attribut`` and ``sans l'attribut``; columns ``auc``, ``cost_per_client``,
        ``refusal_gap`` (difference of refusal rates between groups), ``threshold``.
    """
    from credit_scoring.modelling.cost import best_threshold, cost_per_client
    from credit_scoring.modelling.evaluate import cross_validate_model, roc_auc, stratified_folds

    y = np.asarray(y)
    groups = pd.Series(groups).reset_index(drop=True)
    rows = {}
    variants = {
        "avec l'attribut": X,
        "sans l'attribut": X.drop(columns=[c for c in attribute_columns if c in X.columns]),
    }
    for name, frame in variants.items():
        cv = cross_validate_model(estimator, frame, y, stratified_folds(folds, seed))
        t = best_threshold(y, cv.oof, cost_fn=cost_fn, cost_fp=cost_fp)
        refused = pd.Series(cv.oof >= t)
        by_group = refused[groups.notna().to_numpy()].groupby(groups.dropna().to_numpy()).mean()
        rows[name] = {
            "auc": roc_auc(y, cv.oof),
            "cost_per_client": cost_per_client(y, cv.oof >= t, cost_fn=cost_fn, cost_fp=cost_fp),
            "refusal_gap": float(by_group.max() - by_group.min()) if len(by_group) > 1 else 0.0,
            "threshold": float(t),
        }
    return pd.DataFrame(rows).T
