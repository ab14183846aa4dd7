"""Building blocks of the twin: seeded generators, the measured profile, samplers.

Everything here is table-agnostic: the table modules combine these pieces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import PchipInterpolator
from scipy.special import ndtr

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Days in an average month: converts DAYS_* offsets into MONTHS_BALANCE.
DAYS_PER_MONTH = 30.4375

#: The real number of clients (train + test): side-table sizes scale from it.
KAGGLE_CLIENTS = 307_511 + 48_744


def child_rng(seed: int, *key: int) -> np.random.Generator:
    """Return the generator of one stage (and chunk) of the twin.

    Each stage draws from its own stream, spawned from the seed by a fixed key, so
    adding, reordering or parallelising stages never changes another stage's numbers.

    Examples
    --------
    >>> a = child_rng(1, 2, 3).integers(0, 1000, 3)
    >>> b = child_rng(1, 2, 3).integers(0, 1000, 3)
    >>> bool((a == b).all()), bool((a == child_rng(1, 2, 4).integers(0, 1000, 3)).all())
    (True, False)
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))


@dataclass(frozen=True)
class Cat:
    """A categorical column: integer codes into ``levels``, ``-1`` for missing.

    Kept as codes until the CSV is written: string arrays of millions of rows are slow
    to build in numpy and the writer turns codes into strings in one gather.
    """

    codes: NDArray[np.int16]
    levels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.codes)

    def code(self, level: str) -> int:
        """The code of ``level``."""
        return self.levels.index(level)

    def isin(self, *levels: str) -> BoolArray:
        """Rows whose level is one of ``levels``."""
        wanted = [self.levels.index(v) for v in levels if v in self.levels]
        return np.isin(self.codes, wanted)

    def take(self, index: ArrayLike) -> Cat:
        """Rows ``index`` of this column."""
        return Cat(self.codes[index], self.levels)

    @staticmethod
    def from_masks(n: int, levels: tuple[str, ...], default: int = -1) -> Cat:
        """A column of ``n`` rows all at code ``default``, to be filled by masks."""
        return Cat(np.full(n, default, dtype=np.int16), levels)


Column = NDArray[Any] | Cat


# --------------------------------------------------------------------------- profile


@cache
def load_profile() -> dict[str, Any]:
    """The measured marginals of real samples (``homecredit_profile.json``).

    Examples
    --------
    >>> load_profile()["tables"]["application_train"]["sample_rows"]
    5000
    """
    text = resources.files("credit_scoring.data").joinpath("homecredit_profile.json").read_text()
    profile: dict[str, Any] = json.loads(text)
    return profile


def column_profile(table: str, column: str) -> dict[str, Any]:
    """The profile entry of one column."""
    entry: dict[str, Any] = load_profile()["tables"][table]["columns"][column]
    return entry


def sample_rows(table: str) -> int:
    """How many real rows the profile of ``table`` was measured on."""
    return int(load_profile()["tables"][table]["sample_rows"])


def missing_rate(table: str, column: str) -> float:
    """The measured share of missing values of a column."""
    return float(column_profile(table, column)["missing_rate"])


def level_shares(table: str, column: str) -> dict[str, float]:
    """Category shares among non-missing values, normalised to sum to one."""
    values: dict[str, float] = column_profile(table, column)["values"]
    total = sum(values.values())
    return {k: v / total for k, v in values.items()}


class QuantileFunction:
    """The inverse CDF of a numeric column, from its profile's min, quantiles and max.

    A monotone cubic (PCHIP) through the measured quantiles: flat stretches (point
    masses such as all the zeros of an overdue amount) stay flat, and the minimum and
    maximum of the sample sit at the quantile levels a sample of that size reaches.
    Skewed positive columns (amounts) are interpolated in log space so the long upper
    tail keeps most of its mass near the 99 % quantile.
    """

    def __init__(
        self,
        knots_u: ArrayLike,
        knots_v: ArrayLike,
        *,
        log: bool = False,
    ) -> None:
        u = np.asarray(knots_u, dtype=np.float64)
        v = np.asarray(knots_v, dtype=np.float64)
        order = np.argsort(u)
        u, v = u[order], np.maximum.accumulate(v[order])
        self._u_lo, self._u_hi = float(u[0]), float(u[-1])
        self._log = log
        self._fn = PchipInterpolator(u, np.log(v) if log else v, extrapolate=False)

    @classmethod
    def from_profile(cls, table: str, column: str, *, log: bool | None = None) -> QuantileFunction:
        """Build the quantile function of ``table.column`` from the profile."""
        entry = column_profile(table, column)
        n = sample_rows(table) * (1.0 - entry["missing_rate"])
        edge = 0.5 / max(n, 1.0)
        levels = sorted((float(k), float(v)) for k, v in entry["quantiles"].items())
        u = [edge, *(q for q, _ in levels), 1.0 - edge]
        v = [entry["min"], *(x for _, x in levels), entry["max"]]
        if log is None:
            lo, med, hi = entry["min"], entry["quantiles"]["0.5"], entry["max"]
            log = lo > 0 and hi / med > 8
        return cls(u, v, log=log)

    def __call__(self, u: ArrayLike) -> FloatArray:
        """Values at probability levels ``u`` (clipped into the measured range)."""
        uu = np.clip(np.asarray(u, dtype=np.float64), self._u_lo, self._u_hi)
        out = np.asarray(self._fn(uu), dtype=np.float64)
        return np.exp(out) if self._log else out

    def of_normal(self, z: ArrayLike) -> FloatArray:
        """Values at the standard-normal latent ``z`` (the Gaussian copula)."""
        return self(ndtr(np.asarray(z, dtype=np.float64)))


@cache
def quantile_function(table: str, column: str) -> QuantileFunction:
    """Cached :meth:`QuantileFunction.from_profile`."""
    return QuantileFunction.from_profile(table, column)


# --------------------------------------------------------------------------- samplers


def categorical_from_uniform(u: FloatArray, probs: ArrayLike) -> NDArray[np.int16]:
    """Codes drawn by inverse CDF: a uniform ``u`` picks the level whose slice holds it.

    Feeding a latent-driven ``u`` (``ndtr(z)``) instead of a fresh uniform correlates an
    ordered categorical with the latent while keeping its shares.
    """
    p = np.asarray(probs, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return np.searchsorted(cdf, u, side="right").astype(np.int16)


def sample_categorical(rng: np.random.Generator, shares: dict[str, float], n: int) -> Cat:
    """``n`` draws from a ``{level: share}`` table."""
    levels = tuple(shares)
    codes = categorical_from_uniform(rng.random(n), list(shares.values()))
    return Cat(codes, levels)


def weighted_levels(rng: np.random.Generator, probs: FloatArray, levels: tuple[str, ...]) -> Cat:
    """One draw per row from row-specific probabilities ``probs`` (rows x levels)."""
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(probs))[:, None]
    codes = (u > cdf).sum(axis=1)
    return Cat(np.minimum(codes, len(levels) - 1).astype(np.int16), levels)


def standardise(x: ArrayLike, ref: BoolArray | None = None) -> FloatArray:
    """Centre and scale to unit variance, with the moments of the ``ref`` rows if given
    (a constant column becomes zeros).

    The client stage standardises on the training rows only, so that the drift of the
    test batch never changes a training row.

    Examples
    --------
    >>> standardise(np.array([1.0, 3.0, 100.0]), ref=np.array([True, True, False])).tolist()
    [-1.0, 1.0, 98.0]
    """
    a = np.asarray(x, dtype=np.float64)
    base = a if ref is None else a[ref]
    sd = base.std()
    return (a - base.mean()) / sd if sd > 0 else np.zeros_like(a)


def latent(rng: np.random.Generator, n: int, *parts: tuple[float, FloatArray]) -> FloatArray:
    """A standard-normal latent loading ``w`` on each standardised driver ``x``.

    ``z = sum(w * x) + sqrt(1 - sum(w^2)) * noise``, so ``z`` has unit variance when the
    drivers are uncorrelated, and its quantile-mapped column keeps the profile marginal.
    """
    z = np.zeros(n)
    explained = 0.0
    for w, x in parts:
        z += w * x
        explained += w * w
    if explained >= 1.0:
        raise ValueError("latent loadings explain more than all the variance")
    z += np.sqrt(1.0 - explained) * rng.standard_normal(n)
    return z


def income_z(income: ArrayLike) -> FloatArray:
    """Log income on a fixed standard scale (about mean 0, sd 1 in the population).

    Fixed constants rather than the sample's moments: a chunk of side-table rows must not
    depend on which other clients share its chunk.

    Examples
    --------
    >>> round(float(income_z(150_000.0)), 2)
    0.02
    """
    return (np.log(np.clip(np.asarray(income, dtype=np.float64), 1.0, 5e6)) - 11.91) / 0.45


def round_to(x: FloatArray, step: float) -> FloatArray:
    """Round to a multiple of ``step`` (amounts in the real data are round sums)."""
    return np.round(x / step) * step


def expand(counts: IntArray) -> tuple[IntArray, IntArray]:
    """Parent index and within-parent position of each child row.

    Examples
    --------
    >>> parent, pos = expand(np.array([2, 0, 3]))
    >>> parent.tolist(), pos.tolist()
    ([0, 0, 2, 2, 2], [0, 1, 0, 1, 2])
    """
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(parent)) - np.repeat(starts, counts)
    return parent, pos


def sigmoid(x: ArrayLike) -> FloatArray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def logit(p: ArrayLike) -> FloatArray:
    """The inverse of :func:`sigmoid`."""
    q = np.asarray(p, dtype=np.float64)
    return np.log(q / (1.0 - q))


def distinct_ids(rng: np.random.Generator, n: int, start: int, span: int) -> IntArray:
    """``n`` distinct ids from ``[start, start + span)`` in random order.

    The span grows when more ids are needed than the real range holds (twins larger
    than Kaggle).
    """
    span = max(span, n)
    return start + rng.choice(span, size=n, replace=False).astype(np.int64)
