"""The reference population of the comparisons, served as aggregates only.

The reference is the training table (``train.parquet``: clients whose outcome is known),
sampled to a fixed size so that the nearest-neighbour search stays fast at Kaggle scale. What
leaves this module is never a row:

- :meth:`Population.distribution`: quantiles of one feature over all reference clients, those
  who repaid and those who defaulted (:class:`GroupStats`);
- :meth:`Population.neighbours`: the ``k`` reference clients most similar to a client on the
  key features (each scaled by its median and interquartile range, a missing value counting
  as the median), described by their default rate and the quantiles of each key feature, with
  the client's rank among all reference clients.

A group of fewer than :data:`MIN_GROUP` values gets no quantiles (they would describe a few
individuals), and no quantile below 5 % or above 95 % is given (the extremes are single
clients' values).

:func:`global_importance` reads the model's global importance from the ``explain`` stage.
Both the scoring API and the dashboard's in-process backend use this module.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TARGET = "TARGET"
CLIENT_ID = "SK_ID_CURR"
#: The groups of a distribution, and the name of the similar clients' group.
ALL, REPAID, DEFAULTED, SIMILAR = "all", "repaid", "defaulted", "similar"
GROUPS = (ALL, REPAID, DEFAULTED)
#: Quantile levels given (5 % to 95 % by 5 %): box plots use 5 %, 25 %, 50 %, 75 %, 95 %.
QUANTILE_LEVELS = tuple(round(k / 20, 2) for k in range(1, 20))
#: Fewest values a group needs to be described.
MIN_GROUP = 10
#: Readable features compared when no global importance is known.
DEFAULT_KEY_FEATURES = (
    "EXT_SOURCES_MEAN",
    "ANNUITY_INCOME_RATIO",
    "CREDIT_INCOME_RATIO",
    "CREDIT_TERM",
    "AGE_YEARS",
    "YEARS_EMPLOYED",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
)


class UnknownFeatureError(LookupError):
    """Not a numeric feature of the reference table: the API answers 404."""


def _level(q: float) -> str:
    return f"{q:.2f}"


@dataclass(frozen=True)
class GroupStats:
    """Aggregates of one feature over one group of clients.

    Attributes
    ----------
    count
        Clients of the group with a value.
    missing
        Clients of the group without a value.
    mean
        Mean value (None when the group is too small).
    quantiles
        Value at each level of :data:`QUANTILE_LEVELS`, keyed ``"0.05"`` ... ``"0.95"``
        (empty when the group has fewer than :data:`MIN_GROUP` values).

    Examples
    --------
    >>> s = GroupStats.from_values(np.arange(101.0))
    >>> s.count, s.median, s.box()
    (101, 50.0, (5.0, 25.0, 50.0, 75.0, 95.0))
    >>> GroupStats.from_values(np.array([1.0, np.nan])).quantiles
    {}
    """

    count: int
    missing: int
    mean: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_values(cls, values: np.ndarray) -> GroupStats:
        """The aggregates of ``values`` (missing values counted, not described)."""
        values = np.asarray(values, dtype=float)
        finite = values[np.isfinite(values)]
        missing = int(values.size - finite.size)
        if finite.size < MIN_GROUP:
            return cls(int(finite.size), missing)
        found = np.quantile(finite, QUANTILE_LEVELS)
        return cls(
            count=int(finite.size),
            missing=missing,
            mean=float(finite.mean()),
            quantiles={_level(q): float(v) for q, v in zip(QUANTILE_LEVELS, found, strict=True)},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupStats:
        """From :meth:`to_dict` (or the API's JSON)."""
        mean = data.get("mean")
        return cls(
            count=int(data["count"]),
            missing=int(data.get("missing") or 0),
            mean=None if mean is None else float(mean),
            quantiles={str(k): float(v) for k, v in (data.get("quantiles") or {}).items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "count": self.count,
            "missing": self.missing,
            "mean": self.mean,
            "quantiles": dict(self.quantiles),
        }

    def quantile(self, q: float) -> float | None:
        """The value at level ``q`` (one of :data:`QUANTILE_LEVELS`), None when unknown."""
        return self.quantiles.get(_level(q))

    @property
    def median(self) -> float | None:
        """The median, None when unknown."""
        return self.quantile(0.5)

    def box(self) -> tuple[float, float, float, float, float] | None:
        """5 %, 25 %, 50 %, 75 % and 95 % quantiles (a box plot), None when unknown."""
        levels = [self.quantile(q) for q in (0.05, 0.25, 0.5, 0.75, 0.95)]
        if any(v is None for v in levels):
            return None
        return tuple(float(v) for v in levels)  # type: ignore[return-value,arg-type]


@dataclass(frozen=True)
class FeatureDistribution:
    """One feature over the reference: all clients, those who repaid, those who defaulted."""

    feature: str
    groups: dict[str, GroupStats]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"feature": self.feature, "groups": {g: s.to_dict() for g, s in self.groups.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureDistribution:
        """From :meth:`to_dict` (or the API's JSON)."""
        groups = {str(g): GroupStats.from_dict(s) for g, s in data["groups"].items()}
        return cls(feature=str(data["feature"]), groups=groups)


@dataclass(frozen=True)
class Neighbours:
    """The similar clients of one client, as aggregates.

    Attributes
    ----------
    client_id
        The client compared.
    k
        Similar clients found.
    default_rate
        Share of defaulters among them.
    client_values
        The client's value of each key feature (None when missing).
    ranks
        Share of all reference clients with a lower value, per key feature (None when the
        client's value is missing).
    features
        Aggregates of each key feature over the similar clients.
    """

    client_id: int | None
    k: int
    default_rate: float
    client_values: dict[str, float | None]
    ranks: dict[str, float | None]
    features: dict[str, GroupStats]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "client_id": self.client_id,
            "k": self.k,
            "default_rate": self.default_rate,
            "client_values": dict(self.client_values),
            "ranks": dict(self.ranks),
            "features": {f: s.to_dict() for f, s in self.features.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Neighbours:
        """From :meth:`to_dict` (or the API's JSON)."""
        return cls(
            client_id=None if data.get("client_id") is None else int(data["client_id"]),
            k=int(data["k"]),
            default_rate=float(data["default_rate"]),
            client_values={
                str(f): None if v is None else float(v) for f, v in data["client_values"].items()
            },
            ranks={str(f): None if v is None else float(v) for f, v in data["ranks"].items()},
            features={str(f): GroupStats.from_dict(s) for f, s in data["features"].items()},
        )


def global_importance(
    importance_csv: Path | None = None, explanations_file: Path | None = None
) -> pd.Series:
    """Mean |SHAP| per feature, largest first, as a share of the total (empty when unknown).

    Parameters
    ----------
    importance_csv
        The explain stage's table (``feature`` index, ``mean_abs_shap`` column).
    explanations_file
        The precomputed explanations of the production batch (fallback).
    """
    if importance_csv is not None and Path(importance_csv).is_file():
        table = pd.read_csv(importance_csv, index_col="feature")
        values = table["mean_abs_shap"].astype(float)
    elif explanations_file is not None and Path(explanations_file).is_file():
        frame = pd.read_parquet(explanations_file)
        meta = {CLIENT_ID, "base_value", "reasons_json", "value_texts_json"}
        values = frame[[c for c in frame.columns if c not in meta]].abs().mean().astype(float)
    else:
        return pd.Series(dtype=float)
    total = float(values.sum())
    share = values / total if total > 0 else values
    return share.sort_values(ascending=False, kind="stable")


def numeric_columns(path: Path) -> list[str]:
    """The numeric features of a feature table (neither the target nor the client id)."""
    import pyarrow.parquet as pq
    import pyarrow.types as pa_types

    return [
        f.name
        for f in pq.read_schema(path)
        if f.name not in (TARGET, CLIENT_ID)
        and (pa_types.is_floating(f.type) or pa_types.is_integer(f.type))
    ]


class Population:
    """The reference clients (rows, in this process only) and their key features.

    Parameters
    ----------
    reference
        Feature rows with ``TARGET`` (the training table or a sample of it).
    key_features
        Numeric features compared and used for the similarity.
    neighbours
        Similar clients described.
    source
        The training table, to read other features on demand (:meth:`distribution`);
        ``positions`` are the rows of it that ``reference`` holds.
    positions
        Row positions of ``reference`` in ``source`` (None: all rows, in order).
    """

    def __init__(
        self,
        reference: pd.DataFrame,
        key_features: Sequence[str],
        neighbours: int = 30,
        *,
        source: Path | None = None,
        positions: np.ndarray | None = None,
    ) -> None:
        self.key_features = [f for f in key_features if f in reference.columns]
        if not self.key_features:
            raise ValueError("none of the key features is in the reference table")
        self.reference = reference.reset_index(drop=True)
        self.k = int(neighbours)
        self.source = source
        self.positions = positions
        self._numeric = numeric_columns(source) if source is not None else None
        values = self.reference[self.key_features].to_numpy(dtype=float)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: NaN
            median = np.nanmedian(values, axis=0)
            q75, q25 = np.nanpercentile(values, [75, 25], axis=0)
            fallback = np.nanstd(values, axis=0)
        spread = q75 - q25
        spread = np.where(spread > 0, spread, np.where(fallback > 0, fallback, 1.0))
        self._spread = np.where(np.isfinite(spread), spread, 1.0)
        self._median = np.where(np.isfinite(median), median, 0.0)
        self._scaled = self._scale(values)
        self._target = self.reference[TARGET].to_numpy(dtype=float)
        self._cache: dict[str, FeatureDistribution] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_file(
        cls,
        path: Path,
        importance: pd.Series | None = None,
        *,
        max_rows: int = 20_000,
        n_features: int = 8,
        neighbours: int = 30,
        seed: int = 42,
    ) -> Population:
        """The training table ``path`` (``max_rows`` rows drawn at random, the same at every
        call) and the ``n_features`` most important numeric features (or
        :data:`DEFAULT_KEY_FEATURES`) that take more than two values.

        Raises
        ------
        FileNotFoundError
            When ``path`` does not exist.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run the features stage first")
        numeric = numeric_columns(path)
        ranked = [f for f in (importance.index if importance is not None else []) if f in numeric]
        candidates = ranked[: 3 * n_features] or [f for f in DEFAULT_KEY_FEATURES if f in numeric]
        frame = pd.read_parquet(path, columns=[*candidates, TARGET])
        positions: np.ndarray | None = None
        if len(frame) > max_rows:
            rng = np.random.default_rng(seed)
            positions = np.sort(rng.choice(len(frame), max_rows, replace=False))
            frame = frame.iloc[positions]
        # Flags and near-constant columns say little on a box plot.
        keys = [f for f in candidates if frame[f].nunique() > 2][:n_features]
        return cls(frame, keys, neighbours, source=path, positions=positions)

    # ------------------------------------------------------------------ aggregates

    def has_feature(self, feature: str) -> bool:
        """Whether :meth:`distribution` can describe ``feature``."""
        if feature in self.reference.columns and feature != TARGET:
            return pd.api.types.is_numeric_dtype(self.reference[feature])
        return self._numeric is not None and feature in self._numeric

    def _column(self, feature: str) -> np.ndarray:
        if feature in self.reference.columns and feature != TARGET:
            return self.reference[feature].to_numpy(dtype=float)
        if not self.has_feature(feature):
            raise UnknownFeatureError(f"unknown feature {feature!r}: not a numeric feature")
        assert self.source is not None
        column = pd.read_parquet(self.source, columns=[feature])[feature].to_numpy(dtype=float)
        return column if self.positions is None else column[self.positions]

    def distribution(self, feature: str) -> FeatureDistribution:
        """``feature`` over all reference clients, those who repaid and those who defaulted.

        Raises
        ------
        UnknownFeatureError
            When the reference has no numeric ``feature``.
        """
        with self._lock:
            found = self._cache.get(feature)
        if found is not None:
            return found
        column = self._column(feature)
        target = self._target
        found = FeatureDistribution(
            feature,
            {
                ALL: GroupStats.from_values(column),
                REPAID: GroupStats.from_values(column[target == 0]),
                DEFAULTED: GroupStats.from_values(column[target == 1]),
            },
        )
        with self._lock:
            self._cache[feature] = found
        return found

    @property
    def size(self) -> int:
        """Reference clients."""
        return len(self.reference)

    @property
    def default_rate(self) -> float:
        """Share of defaulters in the reference."""
        return float(np.mean(self._target)) if self._target.size else math.nan

    # ------------------------------------------------------------------ similar clients

    def _scale(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            scaled = (values - self._median) / self._spread
        return np.where(np.isfinite(scaled), scaled, 0.0)

    def client_values(self, row: pd.Series) -> np.ndarray:
        """The client's key features (NaN when missing or not a number)."""
        return np.array(
            [pd.to_numeric(row.get(f), errors="coerce") for f in self.key_features], dtype=float
        )

    def nearest(self, row: pd.Series) -> np.ndarray:
        """Positions in :attr:`reference` of the ``k`` clients closest to ``row``."""
        point = self._scale(self.client_values(row)[None, :])[0]
        distance = np.sqrt(((self._scaled - point) ** 2).sum(axis=1))
        k = min(self.k, len(distance))
        nearest = np.argpartition(distance, k - 1)[:k]
        return nearest[np.argsort(distance[nearest], kind="stable")]

    def neighbours(self, row: pd.Series, client_id: int | None = None) -> Neighbours:
        """The similar clients of ``row`` (a client's features), as aggregates."""
        near = self.nearest(row)
        values = self.client_values(row)
        client_values: dict[str, float | None] = {}
        ranks: dict[str, float | None] = {}
        features: dict[str, GroupStats] = {}
        for j, feature in enumerate(self.key_features):
            column = self.reference[feature].to_numpy(dtype=float)
            finite = column[np.isfinite(column)]
            value = float(values[j])
            known = math.isfinite(value)
            client_values[feature] = value if known else None
            ranks[feature] = float(np.mean(finite < value)) if known and finite.size else None
            features[feature] = GroupStats.from_values(column[near])
        return Neighbours(
            client_id=client_id,
            k=int(near.size),
            default_rate=float(np.mean(self._target[near])) if near.size else math.nan,
            client_values=client_values,
            ranks=ranks,
            features=features,
        )
