"""SHAP values of the champion on its log-odds, whatever wraps the booster.

The registered champion is a :class:`~credit_scoring.modelling.blend.MarginBlend`: fitted
imbalanced-learn pipelines ``schema -> prep -> sampler -> model`` (LightGBM, XGBoost) whose
log-odds are averaged with fixed weights, then calibrated (a ``CalibratedClassifierCV``, one
copy per fold, is read the same way, each copy weighing 1/K). Calibration is a monotone map
applied after the blend, so what a feature "pushes" is read on the blended raw margin
(log-odds), where SHAP values add up exactly; since SHAP values are linear in the model, the
blend's SHAP values are the same weighted average of its members'.

Boosters give exact TreeSHAP natively (LightGBM ``pred_contrib``, XGBoost ``pred_contribs``:
the same algorithm ``shap.TreeExplainer`` calls for them, without its per-call overhead); other
tree models go through ``shap.TreeExplainer``; a linear model gets its exact (interventional)
SHAP values ``coef * (x - mean)`` from a background sample.

Columns made by the preprocessing (one-hot levels, missing-value indicators) are summed back
into the input feature they come from, so every value is about a feature of the dictionary.

Speed: for the usual champion (LightGBM behind the project's ``FrameSchema``, no other
preprocessing), a served row is turned into the booster's numeric matrix once for all copies
(:class:`FastMatrix`: floats, categories as the training level codes, exactly what the schema
step then LightGBM's pandas conversion compute), which takes a row from hundreds of
milliseconds of pandas work to well under one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from credit_scoring.modelling.blend import weighted_members

FloatArray = npt.NDArray[np.float64]
Kind = Literal["lightgbm", "xgboost", "tree", "linear"]


def fitted_copies(model: Any) -> list[Any]:
    """The fitted estimators behind a served model: the members of a blend, the calibrated
    copies of a ``CalibratedClassifierCV`` (one or K), else the model itself.

    Examples
    --------
    >>> fitted_copies("model")
    ['model']
    """
    return [estimator for estimator, _ in weighted_members(model)]


def _kind(final: Any) -> Kind:
    module = type(final).__module__
    if module.startswith("lightgbm"):
        return "lightgbm"
    if module.startswith("xgboost"):
        return "xgboost"
    if hasattr(final, "estimators_") or hasattr(final, "tree_"):
        return "tree"
    if hasattr(final, "coef_"):
        return "linear"
    raise TypeError(
        f"cannot explain a {type(final).__name__}: expected LightGBM, XGBoost, a scikit-learn "
        "tree ensemble or a linear model"
    )


def _is_skipped(step: Any) -> bool:
    # Samplers only act while fitting; imbalanced-learn skips them when predicting.
    return step is None or step == "passthrough" or hasattr(step, "fit_resample")


def _owner(column: str, features: Sequence[str], lookup: dict[str, int]) -> int:
    """The input feature a model column comes from: itself, a one-hot level (``F_level``) or a
    missing-value indicator (``missingindicator_F``); the longest matching name wins.

    >>> _owner("CODE_GENDER_M", ["CODE", "CODE_GENDER"], {"CODE": 0, "CODE_GENDER": 1})
    1
    """
    if column in lookup:
        return lookup[column]
    for prefix in ("missingindicator_",):
        if column.startswith(prefix) and column[len(prefix) :] in lookup:
            return lookup[column[len(prefix) :]]
    best = -1
    for name, i in lookup.items():
        if column.startswith(name + "_") and (best < 0 or len(name) > len(features[best])):
            best = i
    if best < 0:
        raise KeyError(f"model column {column!r} comes from no input feature")
    return best


class FastMatrix:
    """A feature frame as the float matrix a LightGBM copy sees, without pandas round trips.

    Equivalent to ``FrameSchema.transform`` followed by LightGBM's pandas conversion: numbers
    as float64 (infinities missing), categories as the code of their level among the training
    levels (unknown or missing levels: NaN).

    Parameters
    ----------
    columns
        The schema's columns, in order.
    categories
        The schema's levels of each categorical column.
    """

    def __init__(self, columns: Sequence[str], categories: dict[str, list[Any]]) -> None:
        self.columns = list(columns)
        self.categorical = [c for c in self.columns if c in categories]
        self.numeric = [c for c in self.columns if c not in categories]
        self.position = {c: i for i, c in enumerate(self.columns)}
        self.numeric_at = np.array([self.position[c] for c in self.numeric], dtype=np.int64)
        self.codes = {
            c: {v: float(k) for k, v in enumerate(levels)} for c, levels in categories.items()
        }
        self.string_levels = {
            c: bool(lv) and isinstance(lv[0], str) for c, lv in categories.items()
        }

    def __call__(self, X: pd.DataFrame) -> FloatArray:
        """The (n, columns) float matrix of ``X``."""
        out = np.empty((len(X), len(self.columns)))
        try:
            numbers = X[self.numeric].to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):  # strings among the numbers: coerce column by column
            numbers = np.column_stack(
                [
                    pd.to_numeric(X[c], errors="coerce").to_numpy(float, na_value=np.nan)
                    for c in self.numeric
                ]
            )
        numbers[~np.isfinite(numbers)] = np.nan
        out[:, self.numeric_at] = numbers
        if self.categorical:
            levels = X[self.categorical].to_numpy(dtype=object)
            for j, c in enumerate(self.categorical):
                codes = self.codes[c]
                as_text = self.string_levels[c]
                out[:, self.position[c]] = [
                    np.nan if _missing(v) else codes.get(str(v) if as_text else v, np.nan)
                    for v in levels[:, j]
                ]
        return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _fast_matrix(steps: list[Any], final: Any, kind: str) -> FastMatrix | None:
    """A :class:`FastMatrix` for a LightGBM copy behind the schema step alone, when the
    booster's own category levels are the schema's (else None: the general path is taken)."""
    if kind != "lightgbm" or len(steps) != 1:
        return None
    schema = steps[0]
    if not (hasattr(schema, "columns_") and hasattr(schema, "categories_")):
        return None
    booster = getattr(final, "booster_", final)
    if list(booster.feature_name()) != list(schema.columns_):
        return None
    expected = [list(schema.categories_[c]) for c in schema.columns_ if c in schema.categories_]
    found = [list(levels) for levels in (booster.pandas_categorical or [])]
    if found != expected:
        return None
    return FastMatrix(schema.columns_, schema.categories_)


@dataclass
class Copy:
    """One fitted copy, split into the steps before the model and the model itself."""

    steps: list[Any]
    final: Any
    kind: Kind
    columns: list[str]
    owner: npt.NDArray[np.int64] | None  # None: the model sees the input features as they are
    fingerprint: str  # copies with the same fingerprint transform a frame identically
    background_mean: FloatArray | None = None
    fast: FastMatrix | None = None

    def transform(self, X: pd.DataFrame) -> Any:
        """The frame as the model sees it."""
        if self.fast is not None:
            return self.fast(X)
        out: Any = X
        for step in self.steps:
            out = step.transform(out)
        return out


def _schema_fingerprint(steps: list[Any]) -> str:
    """Equal strings for step lists that give equal outputs: only the column schema step
    (columns and category levels) with nothing else. Other preprocessing is never shared."""
    if len(steps) == 1 and hasattr(steps[0], "categories_") and hasattr(steps[0], "columns_"):
        schema = steps[0]
        return repr((schema.columns_, sorted(schema.categories_.items())))
    return f"copy-{id(steps)}"


def split_copy(estimator: Any, features: Sequence[str]) -> Copy:
    """Split a fitted pipeline (or a bare model) into preprocessing and model."""
    features = list(features)
    raw_steps = [s for _, s in getattr(estimator, "steps", [])]
    final = raw_steps[-1] if raw_steps else estimator
    steps = [s for s in raw_steps[:-1] if not _is_skipped(s)]
    columns = features
    for step in steps:
        if hasattr(step, "get_feature_names_out"):
            columns = [str(c) for c in step.get_feature_names_out(columns)]
    lookup = {f: i for i, f in enumerate(features)}
    owner = None
    if columns != features:
        owner = np.array([_owner(c, features, lookup) for c in columns], dtype=np.int64)
    kind = _kind(final)
    fast = _fast_matrix(steps, final, kind)
    fingerprint = _schema_fingerprint(steps) + (":fast" if fast is not None else "")
    return Copy(steps, final, kind, columns, owner, fingerprint, fast=fast)


def _threads(rows: int) -> int:
    """LightGBM threads for a prediction: one for a few rows (a thread team costs more than
    it saves there, and much more on a busy machine), the library default for a batch."""
    return 1 if rows <= 1000 else 0


def _contributions(copy: Copy, Xt: Any) -> tuple[FloatArray, FloatArray]:
    """Per model column SHAP values (n, m) and the base value per row (n,)."""
    if copy.kind == "lightgbm":
        booster = getattr(copy.final, "booster_", copy.final)
        out = booster.predict(Xt, pred_contrib=True, num_threads=_threads(Xt.shape[0]))
        out = np.asarray(out, dtype=float)
        return out[:, :-1], out[:, -1]
    if copy.kind == "xgboost":
        import xgboost as xgb

        booster = copy.final.get_booster() if hasattr(copy.final, "get_booster") else copy.final
        matrix = xgb.DMatrix(Xt, enable_categorical=True)
        out = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=float)
        return out[:, :-1], out[:, -1]
    if copy.kind == "tree":
        import shap

        explainer = shap.TreeExplainer(copy.final)
        values = np.asarray(explainer.shap_values(np.asarray(Xt, dtype=float)), dtype=float)
        base = np.asarray(explainer.expected_value, dtype=float).ravel()
        if values.ndim == 3:  # one slice per class: keep the default class
            values, base = values[..., -1], base[-1:]
        return values, np.full(values.shape[0], float(base[-1]))
    if copy.background_mean is None:
        raise ValueError("a linear champion needs background rows to be explained")
    coef = np.asarray(copy.final.coef_, dtype=float).ravel()
    Xa = np.asarray(Xt, dtype=float)
    values = coef * (Xa - copy.background_mean)
    intercept = float(np.ravel(copy.final.intercept_)[0])
    base = intercept + float(coef @ copy.background_mean)
    return values, np.full(Xa.shape[0], base)


def _margin(copy: Copy, Xt: Any) -> FloatArray:
    """The copy's own raw output: the log-odds for boosters and linear models."""
    if copy.kind == "lightgbm":
        booster = getattr(copy.final, "booster_", copy.final)
        raw = booster.predict(Xt, raw_score=True, num_threads=_threads(Xt.shape[0]))
        return np.asarray(raw, dtype=float)
    if copy.kind == "xgboost":
        import xgboost as xgb

        booster = copy.final.get_booster() if hasattr(copy.final, "get_booster") else copy.final
        matrix = xgb.DMatrix(Xt, enable_categorical=True)
        return np.asarray(booster.predict(matrix, output_margin=True), dtype=float)
    if copy.kind == "linear":
        return np.asarray(copy.final.decision_function(Xt), dtype=float)
    return np.asarray(copy.final.predict_proba(Xt)[:, -1], dtype=float)


class ShapEngine:
    """SHAP values of a served model, per input feature, on the mean raw margin of its copies.

    Parameters
    ----------
    model
        The served model (``Scorer.model``).
    features
        Its input features, in order (``Scorer.features``).
    background
        Rows of the feature table; only needed for a linear model.

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> y = (X["a"] + rng.normal(size=300) > 1).astype(int)
    >>> engine = ShapEngine(LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y), ["a", "b"])
    >>> values, base = engine.contributions(X.head(3))
    >>> bool(np.allclose(values.sum(axis=1) + base, engine.margin(X.head(3))))
    True
    """

    def __init__(
        self, model: Any, features: Sequence[str], background: pd.DataFrame | None = None
    ) -> None:
        self.features = [str(f) for f in features]
        members = weighted_members(model)
        self.copies = [split_copy(e, self.features) for e, _ in members]
        self.weights = np.array([w for _, w in members], dtype=float)
        self._executor: ThreadPoolExecutor | None = None
        if any(c.kind == "linear" for c in self.copies) and background is not None:
            frame = background[self.features]
            for c in self.copies:
                if c.kind == "linear":
                    c.background_mean = np.asarray(c.transform(frame), dtype=float).mean(axis=0)

    @property
    def kinds(self) -> list[str]:
        """The model family of each copy."""
        return [c.kind for c in self.copies]

    def _transformed(self, X: pd.DataFrame) -> list[Any]:
        frame = X[self.features]
        cache: dict[str, Any] = {}
        out = []
        for c in self.copies:
            if c.fingerprint not in cache:
                cache[c.fingerprint] = c.transform(frame)
            out.append(cache[c.fingerprint])
        return out

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            workers = min(len(self.copies), os.cpu_count() or 1)
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix="shap")
        return self._executor

    def per_copy(self, X: pd.DataFrame) -> list[tuple[FloatArray, FloatArray]]:
        """Each copy's SHAP values per input feature (n, p) and base values (n,)."""

        def one(c: Copy, Xt: Any) -> tuple[FloatArray, FloatArray]:
            values, base = _contributions(c, Xt)
            if c.owner is not None:
                summed = np.zeros((values.shape[0], len(self.features)))
                np.add.at(summed.T, c.owner, values.T)
                values = summed
            return values, base

        pairs = list(zip(self.copies, self._transformed(X), strict=True))
        # A few rows: one copy per core (boosters release the GIL). A batch: the copies one
        # after the other, each booster spreading the rows over the cores itself.
        if len(pairs) > 1 and len(X) <= 1000 and (os.cpu_count() or 1) > 1:
            return list(self._pool().map(lambda pair: one(*pair), pairs))
        return [one(c, Xt) for c, Xt in pairs]

    def contributions(self, X: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        """SHAP values per input feature (n, p) and the base value per row (n,), on the mean
        raw margin of the copies: ``values.sum(axis=1) + base == margin(X)``."""
        parts = self.per_copy(X)
        values = np.tensordot(self.weights, [v for v, _ in parts], axes=1)
        base = np.tensordot(self.weights, [b for _, b in parts], axes=1)
        return values, base

    def margin(self, X: pd.DataFrame) -> FloatArray:
        """The explained quantity: the weighted raw margin (log-odds) of the copies."""
        margins = [_margin(c, Xt) for c, Xt in zip(self.copies, self._transformed(X), strict=True)]
        return np.tensordot(self.weights, margins, axes=1)

    def gain_importance(self) -> pd.Series:
        """Total split gain of each input feature, averaged over the copies, summing to 1;
        empty when the model records no gain (linear models)."""
        parts, kept = [], []
        for c, weight in zip(self.copies, self.weights, strict=True):
            gain = _gain(c)
            if gain is None:
                continue
            if c.owner is not None:
                gain = np.bincount(c.owner, weights=gain, minlength=len(self.features))
            # Each member's gains sum to 1 first: LightGBM's and XGBoost's gains have
            # different units.
            total = gain.sum()
            parts.append(gain / total if total > 0 else gain)
            kept.append(weight)
        if not parts:
            return pd.Series(dtype=float)
        mean = np.average(parts, axis=0, weights=kept)
        total = mean.sum()
        return pd.Series(mean / total if total > 0 else mean, index=self.features)


def _gain(copy: Copy) -> FloatArray | None:
    if copy.kind == "lightgbm":
        booster = getattr(copy.final, "booster_", copy.final)
        return np.asarray(booster.feature_importance(importance_type="gain"), dtype=float)
    if copy.kind == "xgboost":
        booster = copy.final.get_booster() if hasattr(copy.final, "get_booster") else copy.final
        scores = booster.get_score(importance_type="total_gain")
        names = booster.feature_names or [f"f{i}" for i in range(len(copy.columns))]
        return np.array([scores.get(n, 0.0) for n in names], dtype=float)
    if copy.kind == "tree" and hasattr(copy.final, "feature_importances_"):
        return np.asarray(copy.final.feature_importances_, dtype=float)
    return None
