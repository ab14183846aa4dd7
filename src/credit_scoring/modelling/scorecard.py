"""The scorecard challenger: optimal binning, weight of evidence, logistic regression, points.

Beside the gradient-boosting champion, credit-risk teams and regulators expect a scorecard a
person can read: every feature is cut into a few bins, each bin is worth a number of points,
and a client's total is the sum of the points of the bins he falls in.

- :func:`fit_scorecard` bins the candidate columns with ``optbinning`` (numeric bins monotone
  in default rate, categories grouped, missing values in a bin of their own), keeps the most
  informative ones (information value), and fits an L2 logistic regression on their weight of
  evidence (WoE);
- :class:`Scorecard` is the result as plain data (no ``optbinning`` object: they record solver
  timings, which must never reach a pipeline output). It scores from its own table,
  :meth:`~Scorecard.to_dict` makes it JSON and :meth:`~Scorecard.table` shows it in French.

Points read like the project's risk score, on the log-odds scale, higher meaning riskier,
the decision threshold ``t`` at exactly 50 and ``pdo`` points doubling the odds of default::

    total points = 50 + pdo / ln(2) * (log_odds - logit(t))
                 = points de base + sum over features of the points of the client's bin

with ``points de base = 50 + pdo / ln(2) * (intercept - logit(t))`` and, for a bin,
``points = pdo / ln(2) * coefficient * WoE``. The WoE is ``optbinning``'s,
``ln(share of non-defaults / share of defaults)``: positive for safe bins, so coefficients
are negative and safe bins get negative points. The score is the total clipped to [0, 100].

Examples
--------
>>> rng = np.random.default_rng(0)
>>> n = 4000
>>> X = pd.DataFrame({"revenu": rng.normal(size=n), "bruit": rng.normal(size=n)})
>>> y = (rng.random(n) < 1 / (1 + np.exp(2 + X["revenu"]))).astype(int)
>>> card = fit_scorecard(X, y, candidates=["revenu", "bruit"])
>>> card.names  # the noise carries no information: dropped
('revenu',)
>>> points = card.points(X.head(3), threshold=0.1)
>>> list(points.columns)
['points de base', 'revenu']
>>> total = 50 + 10 / np.log(2) * (card.log_odds(X.head(3)) - np.log(0.1 / 0.9))
>>> bool(np.allclose(points.sum(axis=1), total))
True
>>> Scorecard.from_dict(card.to_dict()) == card
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import BinningProcess
from sklearn.linear_model import LogisticRegression

from credit_scoring.labels import number

Kind = Literal["numeric", "categorical"]
FloatArray = npt.NDArray[np.float64]

BASE_POINTS = "points de base"
TABLE_COLUMNS = ("variable", "tranche", "clients", "taux de défaut", "WoE", "IV", "points")
FORMAT_VERSION = 1
# Rounding what the fit stores makes the JSON the same bytes on every machine: a logarithm or
# a solver step may differ in its last bit between CPUs, far below these decimals.
_WOE_DECIMALS = 12
_COEFFICIENT_DECIMALS = 8


@dataclass(frozen=True)
class BinnedFeature:
    """One feature of the scorecard: its bins and what each is worth, as plain data.

    Bins are listed in order, the missing bin last: a numeric feature with ``k`` split points
    has ``k + 1`` bins ``]-inf, s1[``, ``[s1, s2[``, ..., ``[sk, +inf[``; a categorical one
    has one bin per group of categories. The missing bin also takes what the training never
    saw (a new category, a missing value when the training had none): its WoE is 0, the
    population's average risk, when it holds no training client.

    Attributes
    ----------
    name
        The column.
    kind
        ``"numeric"`` or ``"categorical"``.
    splits
        Numeric: the increasing split points (empty for a categorical feature).
    groups
        Categorical: the categories of each bin, as text (empty for a numeric feature).
    woe
        WoE of each bin, missing bin last (``optbinning``'s: 0 for a bin without defaults
        or without non-defaults).
    count
        Training clients in each bin.
    defaults
        Training defaults in each bin.
    iv
        Information value of the binning.
    coefficient
        Its coefficient in the logistic regression on the WoE (negative).

    Examples
    --------
    >>> age = BinnedFeature(
    ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
    ...     defaults=(6, 4, 0), iv=0.2, coefficient=-1.0)
    >>> age.n_bins, age.labels()
    (3, ['< 30', '≥ 30', 'manquant'])
    """

    name: str
    kind: Kind
    splits: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    woe: tuple[float, ...] = ()
    count: tuple[int, ...] = ()
    defaults: tuple[int, ...] = ()
    iv: float = 0.0
    coefficient: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("numeric", "categorical"):
            raise ValueError(f"{self.name}: kind is 'numeric' or 'categorical', got {self.kind!r}")
        if self.kind == "numeric" and (self.groups or list(self.splits) != sorted(self.splits)):
            raise ValueError(f"{self.name}: a numeric feature has increasing splits, no groups")
        if self.kind == "categorical" and (self.splits or not self.groups):
            raise ValueError(f"{self.name}: a categorical feature has groups, no splits")
        sizes = {len(self.woe), len(self.count), len(self.defaults)}
        if sizes != {self.n_bins}:
            raise ValueError(
                f"{self.name}: woe, count and defaults need {self.n_bins} values (missing bin "
                f"last), got {len(self.woe)}, {len(self.count)} and {len(self.defaults)}"
            )

    @property
    def n_bins(self) -> int:
        """Number of bins, the missing bin included."""
        return (len(self.splits) + 1 if self.kind == "numeric" else len(self.groups)) + 1

    def bin_index(self, values: pd.Series) -> npt.NDArray[np.intp]:
        """The bin of each value, ``n_bins - 1`` for the missing bin.

        Categories are compared as text; a category in no group goes to the missing bin.

        Examples
        --------
        >>> kind = BinnedFeature(
        ...     "kind", "categorical", groups=(("a",), ("b", "c")), woe=(0.3, -0.2, 0.0),
        ...     count=(50, 50, 0), defaults=(4, 7, 0))
        >>> kind.bin_index(pd.Series(["c", "a", None, "z"])).tolist()
        [1, 0, 2, 2]
        """
        missing = self.n_bins - 1
        if self.kind == "numeric":
            x = pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan)
            # right=False: a value equal to a split point belongs to the bin it opens.
            index = np.digitize(x, np.asarray(self.splits, dtype=float), right=False)
            return np.where(np.isnan(x), missing, index).astype(np.intp)
        lookup = {category: i for i, group in enumerate(self.groups) for category in group}
        present = values.notna().to_numpy()
        index = np.full(len(values), missing, dtype=np.intp)
        found = values[present].astype(str).map(lookup)
        index[present] = found.fillna(missing).to_numpy(dtype=np.intp)
        return index

    def labels(self) -> list[str]:
        """The bins in French, missing bin last: « < 0,35 », « [0,35 ; 0,52[ », « ≥ 0,52 »,
        « catégories : A, B », « manquant ».

        Examples
        --------
        >>> BinnedFeature(
        ...     "x", "numeric", splits=(0.35234, 0.52), woe=(0, 0, 0, 0), count=(1, 1, 1, 0),
        ...     defaults=(0, 0, 0, 0)).labels()
        ['< 0,352', '[0,352 ; 0,52[', '≥ 0,52', 'manquant']
        """
        if self.kind == "categorical":
            return [
                ("catégorie : " if len(group) == 1 else "catégories : ") + ", ".join(group)
                for group in self.groups
            ] + ["manquant ou catégorie inconnue"]
        if not self.splits:
            return ["renseigné", "manquant"]
        cuts = _split_labels(self.splits)
        inner = [f"[{low} ; {high}[" for low, high in itertools.pairwise(cuts)]
        return [f"< {cuts[0]}", *inner, f"≥ {cuts[-1]}", "manquant"]


@dataclass(frozen=True)
class Scorecard:
    """A fitted scorecard, as plain data: the features with their bins, and the intercept.

    Attributes
    ----------
    features
        The selected features, most informative (highest IV) first.
    intercept
        The intercept of the logistic regression on the WoE.
    format_version
        Version of the :meth:`to_dict` layout.

    Examples
    --------
    >>> age = BinnedFeature(
    ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
    ...     defaults=(6, 4, 0), iv=0.2, coefficient=-1.0)
    >>> card = Scorecard(features=(age,), intercept=-2.0)
    >>> X = pd.DataFrame({"age": [25.0, 45.0, None]})
    >>> card.log_odds(X).tolist()
    [-1.5, -2.4, -2.0]
    >>> card.points(X, threshold=0.2).round(2)
       points de base   age
    0           41.15  7.21
    1           41.15 -5.77
    2           41.15  0.00
    """

    features: tuple[BinnedFeature, ...]
    intercept: float
    format_version: int = FORMAT_VERSION

    @property
    def names(self) -> tuple[str, ...]:
        """The selected columns, most informative first."""
        return tuple(feature.name for feature in self.features)

    def woe(self, X: pd.DataFrame) -> FloatArray:
        """The WoE of every client (row) for every selected feature (column), from the table.

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0))
        >>> Scorecard((age,), intercept=-2.0).woe(pd.DataFrame({"age": [30.0]})).tolist()
        [[0.4]]
        """
        _check_columns(X, self.names)
        out = np.empty((len(X), len(self.features)))
        for j, feature in enumerate(self.features):
            out[:, j] = np.asarray(feature.woe, dtype=float)[feature.bin_index(X[feature.name])]
        return out

    def log_odds(self, X: pd.DataFrame) -> FloatArray:
        """The log-odds of default, ``intercept + sum(coefficient * WoE)``, one per row.

        Computed from the plain table only; a missing value, or a value the training never
        saw in a bin (new category), takes the WoE of the missing bin (see
        :class:`BinnedFeature`).

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), coefficient=-1.0)
        >>> Scorecard((age,), intercept=-2.0).log_odds(pd.DataFrame({"age": [18.0]})).tolist()
        [-1.5]
        """
        coefficients = np.asarray([f.coefficient for f in self.features], dtype=float)
        return self.intercept + self.woe(X) @ coefficients

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Probabilities ``(n, 2)``: no default, default (scikit-learn's layout).

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), coefficient=-1.0)
        >>> card = Scorecard((age,), intercept=0.5)
        >>> card.predict_proba(pd.DataFrame({"age": [18.0]})).tolist()
        [[0.2689414213699951, 0.7310585786300049]]
        """
        default = 1.0 / (1.0 + np.exp(-self.log_odds(X)))
        return np.column_stack([1.0 - default, default])

    def points(
        self, X: pd.DataFrame, *, threshold: float, points_to_double_odds: float = 10.0
    ) -> pd.DataFrame:
        """The points of every client: ``points de base``, then one column per feature.

        A row sums to the client's total points (not clipped, exact: round them only to show
        them). Higher points mean more risk.

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), coefficient=-1.0)
        >>> card = Scorecard((age,), intercept=-2.0)
        >>> card.points(pd.DataFrame({"age": [18.0]}), threshold=0.2).round(3).to_dict("records")
        [{'points de base': 41.146, 'age': 7.213}]
        """
        factor, offset = _scale(threshold, points_to_double_odds)
        coefficients = np.asarray([f.coefficient for f in self.features], dtype=float)
        # + 0.0 turns the -0.0 of a negative coefficient times a zero WoE into 0.0.
        points = pd.DataFrame(
            factor * coefficients * self.woe(X) + 0.0, index=X.index, columns=list(self.names)
        )
        points.insert(0, BASE_POINTS, offset + factor * self.intercept)
        return points

    def score(
        self, X: pd.DataFrame, *, threshold: float, points_to_double_odds: float = 10.0
    ) -> FloatArray:
        """The risk score: total points clipped to [0, 100], 50 at the threshold.

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), coefficient=-1.0)
        >>> card = Scorecard((age,), intercept=-2.0)
        >>> card.score(pd.DataFrame({"age": [18.0, 40.0]}), threshold=0.2).round(2).tolist()
        [48.36, 35.38]
        """
        factor, offset = _scale(threshold, points_to_double_odds)
        return np.clip(offset + factor * self.log_odds(X), 0.0, 100.0)

    def table(self, *, threshold: float, points_to_double_odds: float = 10.0) -> pd.DataFrame:
        """The scorecard itself, in French: the base points, then one row per feature and bin.

        Columns: ``variable``, ``tranche`` (the bin), ``clients`` (share of the training
        clients), ``taux de défaut`` (empty for a bin without training client), ``WoE``,
        ``IV`` (of the feature) and ``points`` (exact: round them only to show them). Features
        come in order of information value, bins in order, the missing bin last.

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), iv=0.2, coefficient=-1.0)
        >>> table = Scorecard((age,), intercept=-2.0).table(threshold=0.2)
        >>> table[["variable", "tranche", "clients", "points"]].round(2)
                 variable   tranche  clients  points
        0  points de base                1.0   41.15
        1             age      < 30      0.4    7.21
        2             age      ≥ 30      0.6   -5.77
        3             age  manquant      0.0    0.00
        """
        factor, offset = _scale(threshold, points_to_double_odds)
        total = sum(self.features[0].count) if self.features else 0
        defaults = sum(self.features[0].defaults) if self.features else 0
        rows: list[dict[str, Any]] = [
            {
                "variable": BASE_POINTS,
                "tranche": "",
                "clients": 1.0,
                "taux de défaut": defaults / total if total else np.nan,
                "WoE": np.nan,
                "IV": np.nan,
                "points": offset + factor * self.intercept,
            }
        ]
        for feature in self.features:
            for label, woe, count, n_defaults in zip(
                feature.labels(), feature.woe, feature.count, feature.defaults, strict=True
            ):
                rows.append(
                    {
                        "variable": feature.name,
                        "tranche": label,
                        "clients": count / total if total else np.nan,
                        "taux de défaut": n_defaults / count if count else np.nan,
                        "WoE": woe,
                        "IV": feature.iv,
                        "points": factor * feature.coefficient * woe + 0.0,
                    }
                )
        return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """The scorecard as JSON-ready data (Python floats: ``json`` writes them exactly).

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), iv=0.2, coefficient=-1.0)
        >>> sorted(Scorecard((age,), intercept=-2.0).to_dict())
        ['features', 'format_version', 'intercept']
        """
        return {
            "format_version": self.format_version,
            "intercept": float(self.intercept),
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "splits": [float(s) for s in f.splits],
                    "groups": [list(group) for group in f.groups],
                    "woe": [float(w) for w in f.woe],
                    "count": [int(c) for c in f.count],
                    "defaults": [int(d) for d in f.defaults],
                    "iv": float(f.iv),
                    "coefficient": float(f.coefficient),
                }
                for f in self.features
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        """The scorecard :meth:`to_dict` wrote.

        Examples
        --------
        >>> age = BinnedFeature(
        ...     "age", "numeric", splits=(30.0,), woe=(-0.5, 0.4, 0.0), count=(40, 60, 0),
        ...     defaults=(6, 4, 0), iv=0.2, coefficient=-1.0)
        >>> card = Scorecard((age,), intercept=-2.0)
        >>> Scorecard.from_dict(card.to_dict()) == card
        True
        """
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"scorecard format {version!r} is not {FORMAT_VERSION}")
        features = tuple(
            BinnedFeature(
                name=str(f["name"]),
                kind=f["kind"],
                splits=tuple(float(s) for s in f["splits"]),
                groups=tuple(tuple(str(c) for c in group) for group in f["groups"]),
                woe=tuple(float(w) for w in f["woe"]),
                count=tuple(int(c) for c in f["count"]),
                defaults=tuple(int(d) for d in f["defaults"]),
                iv=float(f["iv"]),
                coefficient=float(f["coefficient"]),
            )
            for f in data["features"]
        )
        return cls(features=features, intercept=float(data["intercept"]))


def binning_process(
    candidates: Sequence[str], categorical: Sequence[str], *, max_bins: int | None = 6
) -> BinningProcess:
    """The (unfitted) ``optbinning`` process :func:`fit_scorecard` fits, for audits and tests.

    Numeric bins are monotone in default rate, increasing or decreasing as the data says, so
    that points move one way along a feature; categories are grouped by default rate. Every
    bin holds at least 5 % of the clients (``optbinning``'s pre-binning default), and a
    feature has at most ``max_bins`` of them besides the missing bin.

    Examples
    --------
    >>> process = binning_process(["revenu", "ville"], categorical=["ville"])
    >>> process.binning_fit_params, process.max_n_bins
    ({'revenu': {'monotonic_trend': 'auto_asc_desc'}}, 6)
    """
    numeric = [name for name in candidates if name not in set(categorical)]
    return BinningProcess(
        list(candidates),
        categorical_variables=list(categorical) or None,
        max_n_bins=max_bins,
        binning_fit_params={name: {"monotonic_trend": "auto_asc_desc"} for name in numeric},
        n_jobs=1,  # fitting 50 columns of 24,000 rows takes about 2 s: threads buy nothing
    )


def fit_scorecard(
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    candidates: Sequence[str],
    max_features: int = 15,
    min_iv: float = 0.02,
    max_correlation: float | None = 0.6,
    max_bins: int | None = 6,
    C: float = 1.0,
) -> Scorecard:
    """Fit a scorecard: bin the candidates, select the most informative, regress on the WoE.

    1. Every candidate is binned by ``optbinning`` (:func:`binning_process`); columns of a
       non-numeric dtype (category, string, object) are categorical.
    2. Candidates with an information value of at least ``min_iv`` are taken by decreasing
       IV; one enters the model unless its WoE correlates beyond ``max_correlation`` (in
       absolute value) with a feature already in, or the logistic regression with it gives
       some feature a non-negative coefficient (its points would contradict its default
       rates, a sign of collinearity), until ``max_features`` are in.
    3. The logistic regression (L2, ``C`` as in scikit-learn, Newton solver: deterministic)
       on the WoE of the selected features gives the coefficients.

    Parameters
    ----------
    X
        The features, one row per client.
    y
        The target (1 = default, 0 = repaid), aligned on ``X`` by position.
    candidates
        The columns of ``X`` to consider.
    max_features
        The most features the scorecard keeps.
    min_iv
        The least information value of a kept feature (0.02: "weak" in the usual scale).
    max_correlation
        The largest absolute correlation between the WoE of two kept features; ``None``
        keeps correlated features. On the Home Credit features, 0.6 leaves out near copies
        (the means and maxima of the external scores) and ranks better than 0.8 in
        cross-validation.
    max_bins
        The most bins of a feature, its missing bin aside: six keep the card readable and
        lose nothing measurable against an unbounded number; ``None`` for no bound.
    C
        Inverse of the L2 regularisation strength.

    Returns
    -------
    Scorecard
        Plain data, features by decreasing IV.

    Raises
    ------
    ValueError
        If a candidate is not a column of ``X``, ``y`` is not 0/1 with both classes, or no
        candidate reaches ``min_iv`` (an empty column never does).
    RuntimeError
        If ``optbinning`` stops before the optimal binning (its time limit).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"a": rng.normal(size=3000)})
    >>> X["b"] = X["a"] + rng.normal(scale=0.05, size=3000)  # a near copy of a
    >>> y = (rng.random(3000) < 1 / (1 + np.exp(2 - X["a"]))).astype(int)
    >>> len(fit_scorecard(X, y, candidates=["a", "b"]).names)  # the second one is left out
    1
    """
    candidates = list(candidates)
    _check_columns(X, candidates)
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"candidates are listed twice: {sorted(_duplicates(candidates))}")
    target = _check_target(y, len(X))
    if max_features < 1:
        raise ValueError(f"max_features must be at least 1, got {max_features}")

    frame, categorical = _binning_frame(X, candidates)
    # optbinning fails on a column without any value; such a column informs of nothing.
    filled = [name for name in candidates if frame[name].notna().any()]
    if not filled:
        raise ValueError("every candidate column is empty")
    categorical = [name for name in categorical if name in filled]
    process = binning_process(filled, categorical, max_bins=max_bins)
    process.fit(frame[filled], target)
    binned = [_binned_feature(process, name, name in categorical) for name in filled]
    # sorted() is stable: equal IVs keep the candidates' order, and the fit stays deterministic.
    ranked = sorted((f for f in binned if f.iv >= min_iv), key=lambda f: -f.iv)
    if not ranked:
        raise ValueError(f"no candidate reaches an information value of {min_iv}")

    woe = Scorecard(tuple(ranked), intercept=0.0).woe(frame)
    kept: list[int] = []
    model: LogisticRegression | None = None
    for j in range(len(ranked)):
        if len(kept) == max_features:
            break
        if max_correlation is not None and kept:
            correlation = _abs_correlation(woe[:, kept], woe[:, j])
            if np.max(correlation) > max_correlation:
                continue
        trial = _logistic_regression(woe[:, [*kept, j]], target, C)
        if np.all(trial.coef_[0] < 0):
            kept, model = [*kept, j], trial
    if model is None:
        raise ValueError("no candidate gets a negative coefficient on its WoE")

    coefficients = np.round(model.coef_[0], _COEFFICIENT_DECIMALS)
    features = tuple(
        replace(ranked[j], coefficient=float(c)) for j, c in zip(kept, coefficients, strict=True)
    )
    intercept = float(np.round(model.intercept_[0], _COEFFICIENT_DECIMALS))
    return Scorecard(features=features, intercept=intercept)


def _scale(threshold: float, points_to_double_odds: float) -> tuple[float, float]:
    """``(factor, offset)`` with ``points = offset + factor * log_odds``."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if not points_to_double_odds > 0:
        raise ValueError(f"points_to_double_odds must be positive, got {points_to_double_odds}")
    # math.log, not numpy's: the C library's scalar log, not a SIMD loop whose last bit
    # depends on the CPU.
    factor = points_to_double_odds / math.log(2.0)
    return factor, 50.0 - factor * math.log(threshold / (1.0 - threshold))


def _check_columns(X: pd.DataFrame, columns: Sequence[str]) -> None:
    absent = [name for name in columns if name not in X.columns]
    if absent:
        raise ValueError(f"columns missing from the features: {', '.join(map(str, absent))}")


def _duplicates(items: Sequence[str]) -> set[str]:
    return {item for item in items if items.count(item) > 1}


def _check_target(y: npt.ArrayLike, n_rows: int) -> npt.NDArray[np.int64]:
    target = np.asarray(y)
    if target.ndim != 1 or len(target) != n_rows:
        raise ValueError(f"y must be one value per row of X ({n_rows}), got shape {target.shape}")
    if target.dtype == bool:
        target = target.astype(np.int64)
    values = pd.unique(target)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(
            f"y must be 0 (repaid) or 1 (default), got values {sorted(map(str, values))}"
        )
    if len(values) < 2:
        raise ValueError("y must hold both defaults (1) and repaid credits (0)")
    return target.astype(np.int64)


def _binning_frame(X: pd.DataFrame, candidates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The candidates as ``optbinning`` reads them, and the categorical ones.

    Categories become text with ``NaN`` for missing, the form :meth:`BinnedFeature.bin_index`
    compares them in; ``optbinning`` would read a category dtype as numeric.
    """
    frame: dict[str, pd.Series] = {}
    categorical: list[str] = []
    for name in candidates:
        column = X[name]
        if pd.api.types.is_numeric_dtype(column):
            frame[name] = pd.to_numeric(column).astype(float)
        else:
            categorical.append(name)
            present = column.notna()
            text = pd.Series(np.nan, index=X.index, dtype=object)
            text[present] = column[present].astype(str).to_numpy(dtype=object)
            frame[name] = text
    return pd.DataFrame(frame, index=X.index), categorical


def _binned_feature(process: BinningProcess, name: str, categorical: bool) -> BinnedFeature:
    """The plain data of one fitted ``optbinning`` variable (its coefficient still 0)."""
    optb = process.get_binned_variable(name)
    if optb.status != "OPTIMAL":
        raise RuntimeError(f"{name}: optbinning stopped with status {optb.status}, not OPTIMAL")
    table = optb.binning_table.build()
    rows = table.drop(index="Totals")
    n_bins = len(rows) - 2  # then optbinning's special bin (no special codes: empty), missing
    keep = [*range(n_bins), n_bins + 1]
    if categorical:
        splits: tuple[float, ...] = ()
        groups = tuple(tuple(str(c) for c in group) for group in optb.splits)
    else:
        splits, groups = tuple(float(s) for s in optb.splits), ()
    return BinnedFeature(
        name=name,
        kind="categorical" if categorical else "numeric",
        splits=splits,
        groups=groups,
        woe=tuple(round(float(w), _WOE_DECIMALS) for w in rows["WoE"].iloc[keep]),
        count=tuple(int(c) for c in rows["Count"].iloc[keep]),
        defaults=tuple(int(c) for c in rows["Event"].iloc[keep]),
        iv=round(float(table.loc["Totals", "IV"]), _WOE_DECIMALS),
    )


def _abs_correlation(kept: FloatArray, column: FloatArray) -> FloatArray:
    """Absolute Pearson correlation of ``column`` with each column of ``kept``; 0 when one of
    them is constant (no correlation to speak of)."""
    centred = kept - kept.mean(axis=0)
    x = column - column.mean()
    norms = np.sqrt((centred**2).sum(axis=0) * (x**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.abs(centred.T @ x) / norms
    return np.nan_to_num(correlation, nan=0.0)


def _logistic_regression(
    woe: FloatArray, target: npt.NDArray[np.int64], C: float
) -> LogisticRegression:
    # Newton steps converge to the (unique, L2) optimum to near machine precision, so the
    # rounded coefficients do not depend on the CPU; lbfgs stops wherever its tolerance says.
    return LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10, max_iter=200).fit(
        woe, target
    )


def _split_labels(splits: Sequence[float]) -> list[str]:
    """Split points the French way, with three significant digits (more when two would look
    the same), trailing zeros dropped; whole parts are never rounded.

    Examples
    --------
    >>> _split_labels([0.47, 1.30211, 15.365, 198159.0])
    ['0,47', '1,3', '15,4', '198\u202f159']
    >>> _split_labels([0.12341, 0.12344])
    ['0,12341', '0,12344']
    """

    def label(value: float, significant: int) -> str:
        magnitude = 0 if value == 0 else math.floor(math.log10(abs(value)))
        return _strip_zeros(number(value, max(0, significant - 1 - magnitude)))

    for significant in range(3, 18):
        labels = [label(s, significant) for s in splits]
        if len(set(labels)) == len(labels):
            break
    return labels


def _strip_zeros(text: str) -> str:
    return text.rstrip("0").rstrip(",") if "," in text else text
