"""The champion: gradient-boosting members blended in log-odds, then calibrated.

Each member is one zoo pipeline (a booster family, its imbalance strategy, its tuned
hyperparameters). :func:`fit_blend` does, on the whole training part:

1. **Early stopping on out-of-fold predictions.** On K stratified folds, a copy of each
   member is fitted with at most ``max_trees`` trees, and its validation fold is scored
   after every ``tree_step`` trees (the trees' contributions add up, so one pass per fold).
   With a ``patience``, the copy stops growing once ``patience`` trees in a row have not
   raised its validation fold's AUC (a fixed rule, no clock), and keeps its last margins for
   the larger numbers. The number of trees is the one with the best out-of-fold AUC over all
   folds, and the out-of-fold margins (log-odds) are read at that number.
2. **The blend.** Weights on the members' out-of-fold margins, searched on a grid of the
   simplex for the best out-of-fold AUC: a weighted average of log-odds, so the blend's SHAP
   values are the same weighted average of the members' (exact, in log-odds).
3. **Calibration after blending.** An isotonic (or sigmoid) map of the blended margin,
   fitted on all out-of-fold margins. The out-of-fold probabilities that choose the threshold
   are cross-fitted: each fold's rows are calibrated by a map fitted on the other folds.
4. **Train on all training rows.** Each member is refitted on every training row, with its
   early-stopped number of trees scaled by ``K / (K - 1)`` (it sees that much more data),
   averaged over ``seeds`` random seeds.

The served model is a :class:`MarginBlend`. Every choice above is a fixed grid or a seeded
fit: nothing depends on timing.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"a": rng.normal(size=900), "b": rng.normal(size=900)})
>>> y = (X["a"] + rng.normal(size=900) > 1.2).astype(int).to_numpy()
>>> specs = [MemberSpec("lightgbm", "none", {"learning_rate": 0.1}),
...          MemberSpec("xgboost", "none", {"learning_rate": 0.1})]
>>> fit = fit_blend(specs, X, y, folds=3, max_trees=60, tree_step=20, weight_step=0.5)
>>> [m.trees for m in fit.members], float(fit.weights.sum())
([60, 40], 1.0)
>>> p = fit.model.predict_proba(X.head(3))
>>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
((3, 2), True)
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from credit_scoring.modelling.evaluate import roc_auc, stratified_folds
from credit_scoring.modelling.zoo import (
    DEFAULT_PARAMS,
    FrameSchema,
    Model,
    Strategy,
    build_pipeline,
)

FloatArray = npt.NDArray[np.float64]
Method = Literal["isotonic", "sigmoid"]
BOOSTERS: tuple[Model, ...] = ("lightgbm", "xgboost")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberSpec:
    """One member of the blend: a booster family, its strategy and hyperparameters."""

    model: Model
    strategy: Strategy
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``model + strategy``, as in the comparison table."""
        return f"{self.model} + {self.strategy}"


def _split(pipeline: Any) -> tuple[list[Any], Any]:
    """The steps that act at prediction time, and the booster."""
    steps = [s for _, s in pipeline.steps[:-1]]
    active = [
        s for s in steps if not (s is None or s == "passthrough" or hasattr(s, "fit_resample"))
    ]
    return active, pipeline.steps[-1][1]


def _transform(pipeline: Any, X: pd.DataFrame) -> Any:
    steps, _ = _split(pipeline)
    out: Any = X
    for step in steps:
        out = step.transform(out)
    return out


def _xgb_base_margin(booster: Any, matrix: Any) -> float:
    # XGBoost adds its base margin to every slice of trees it predicts; the configuration's
    # text format of it changed across versions, so it is measured: p(0,1) + p(1,2) - p(0,2).
    if booster.num_boosted_rounds() < 2:
        return 0.0
    row = matrix.slice([0])

    def part(a: int, b: int) -> float:
        return float(booster.predict(row, output_margin=True, iteration_range=(a, b))[0])

    return part(0, 1) + part(1, 2) - part(0, 2)


def staged_margins(pipeline: Any, X: pd.DataFrame, trees: Sequence[int]) -> FloatArray:
    """Log-odds of a fitted booster pipeline after each number of trees in ``trees``
    (increasing): an array (len(trees), n), computed in one pass over the trees.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": np.arange(200.0)})
    >>> y = (X["a"] > 120).astype(int)
    >>> pipe = build_pipeline("lightgbm", "none", y, {"n_estimators": 30}).fit(X, y)
    >>> staged = staged_margins(pipe, X, [10, 30])
    >>> bool(np.allclose(staged[-1], margin(pipe, X)))
    True
    """
    _, booster = _split(pipeline)
    Xt = _transform(pipeline, X)
    out = np.empty((len(trees), len(X)))
    total = np.zeros(len(X))
    start = 0
    if type(booster).__module__.startswith("xgboost"):
        import xgboost as xgb

        core = booster.get_booster()
        matrix = xgb.DMatrix(Xt, enable_categorical=True)
        base = _xgb_base_margin(core, matrix)
        total += base
        for i, stop in enumerate(trees):
            if stop > start:
                chunk = core.predict(matrix, output_margin=True, iteration_range=(start, stop))
                total += np.asarray(chunk, dtype=float) - base
            out[i], start = total, stop
        return out
    core = booster.booster_
    for i, stop in enumerate(trees):
        if stop > start:
            total += core.predict(
                Xt, raw_score=True, start_iteration=start, num_iteration=stop - start
            )
        out[i], start = total, stop
    return out


def margin(pipeline: Any, X: pd.DataFrame) -> FloatArray:
    """Log-odds of a fitted booster pipeline (all its trees)."""
    _, booster = _split(pipeline)
    Xt = _transform(pipeline, X)
    if type(booster).__module__.startswith("xgboost"):
        import xgboost as xgb

        matrix = xgb.DMatrix(Xt, enable_categorical=True)
        return np.asarray(booster.get_booster().predict(matrix, output_margin=True), dtype=float)
    return np.asarray(booster.booster_.predict(Xt, raw_score=True), dtype=float)


def _calibrator(method: Method) -> BaseEstimator:
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    return LogisticRegression(C=1e6)


def _calibrate(calibrator: BaseEstimator, scores: FloatArray) -> FloatArray:
    if isinstance(calibrator, IsotonicRegression):
        fast = calibrator.out_of_bounds == "clip" and calibrator.X_thresholds_.dtype == float
        if fast and scores.ndim == 1 and scores.dtype == float and np.isfinite(scores).all():
            # What predict() computes past its input checks (most of a served row's cost).
            clipped = np.clip(scores, calibrator.X_min_, calibrator.X_max_)
            return np.asarray(calibrator.f_(clipped), dtype=float)
        return np.asarray(calibrator.predict(scores), dtype=float)
    return np.asarray(calibrator.predict_proba(scores.reshape(-1, 1))[:, 1], dtype=float)


def _fit_calibrator(method: Method, scores: FloatArray, y: npt.NDArray[np.int64]) -> BaseEstimator:
    calibrator = _calibrator(method)
    if isinstance(calibrator, IsotonicRegression):
        return calibrator.fit(scores, y)
    return calibrator.fit(scores.reshape(-1, 1), y)


class MarginBlend(ClassifierMixin, BaseEstimator):
    """Fitted members averaged in log-odds with fixed weights, then calibrated.

    Parameters
    ----------
    members
        Fitted zoo pipelines (boosters).
    weights
        One weight per member, summing to 1.
    calibrator
        Fitted map from the blended margin to a probability (isotonic or logistic).
    names
        A label per member, for reports.
    """

    def __init__(
        self,
        members: Sequence[Any],
        weights: Sequence[float],
        calibrator: Any,
        names: Sequence[str] = (),
    ) -> None:
        self.members = members
        self.weights = weights
        self.calibrator = calibrator
        self.names = names

    @property
    def classes_(self) -> npt.NDArray[np.int64]:
        return np.array([0, 1])

    def margin(self, X: pd.DataFrame) -> FloatArray:
        """The blended log-odds before calibration: ``sum(w_i * margin_i)``."""
        total = np.zeros(len(X))
        for member, weight in zip(self.members, self.weights, strict=True):
            if weight:
                total += float(weight) * margin(member, X)
        return total

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities, (n, 2)."""
        p = np.clip(_calibrate(self.calibrator, self.margin(X)), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict_raw(self, X: pd.DataFrame) -> FloatArray:
        """The blend's own probability, before calibration: ``sigmoid(margin)``."""
        return 1.0 / (1.0 + np.exp(-self.margin(X)))


@dataclass(frozen=True)
class _MatrixMember:
    weight: float
    columns: npt.NDArray[np.intp]  # the member's columns, as positions in the input rows
    recode: tuple[tuple[int, FloatArray], ...]  # categorical column -> model code of each code
    predict: Callable[[FloatArray], FloatArray]  # log-odds of the member's columns


class MatrixBlend:
    """A fitted :class:`MarginBlend` on float64 rows instead of a data frame: the serving path.

    Rows hold every feature in ``names`` order, a categorical feature as the code of its level
    in ``levels`` (NaN: missing). Each booster reads its columns straight from the array, with
    the codes of its own training levels, as :class:`~credit_scoring.modelling.zoo.FrameSchema`
    would have given it: the same log-odds, without building a pandas frame per request.
    XGBoost predicts on one thread: a row or a few gain nothing from more, and lose much when
    the other core is busy.

    Raises
    ------
    TypeError
        When a member has another step than its ``FrameSchema`` at prediction time.
    KeyError
        When a member needs a feature absent from ``names``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = pd.Categorical(rng.choice(["u", "v"], 600))
    >>> X = pd.DataFrame({"a": rng.normal(size=600), "c": c})
    >>> y = ((X["a"] > 0.5) | (X["c"] == "v")).astype(int).to_numpy()
    >>> specs = [MemberSpec("lightgbm", "none", {}), MemberSpec("xgboost", "none", {})]
    >>> blend = fit_blend(specs, X, y, folds=2, max_trees=40, tree_step=20, weight_step=0.5).model
    >>> rows = np.column_stack([X["a"], X["c"].cat.codes.astype(float)])
    >>> fast = MatrixBlend(blend, ["a", "c"], {"c": ("u", "v")})
    >>> bool(np.array_equal(fast.predict_proba(rows), blend.predict_proba(X)[:, 1]))
    True
    """

    def __init__(
        self, blend: MarginBlend, names: Sequence[str], levels: Mapping[str, Sequence[str]]
    ) -> None:
        self.blend = blend
        position = {name: k for k, name in enumerate(names)}
        members = []
        for member, weight in zip(blend.members, blend.weights, strict=True):
            if not weight:
                continue
            steps, booster = _split(member)
            if len(steps) != 1 or not isinstance(steps[0], FrameSchema):
                raise TypeError(f"a blend member transforms its input with {steps}: no matrix path")
            schema = steps[0]
            absent = [c for c in schema.columns_ if c not in position]
            if absent:
                raise KeyError(f"the rows lack the member's features {absent[:5]}")
            recode = []
            for j, column in enumerate(schema.columns_):
                trained = schema.categories_.get(column)
                if trained is not None:
                    model_code = {level: float(k) for k, level in enumerate(trained)}
                    served = levels.get(column, ())
                    recode.append(
                        (j, np.array([model_code.get(v, np.nan) for v in served], dtype=float))
                    )
            columns = np.array([position[c] for c in schema.columns_], dtype=np.intp)
            members.append(
                _MatrixMember(float(weight), columns, tuple(recode), _predictor(booster))
            )
        self._members = tuple(members)

    def margin(self, rows: FloatArray) -> FloatArray:
        """The blended log-odds before calibration."""
        total = np.zeros(len(rows))
        for member in self._members:
            X = rows[:, member.columns]  # a copy: the recoding below leaves ``rows`` as it is
            X[np.isinf(X)] = np.nan
            for j, codes in member.recode:
                column = X[:, j]
                known = ~np.isnan(column)
                column[known] = codes[column[known].astype(np.intp)] if codes.size else np.nan
                X[:, j] = column
            total += member.weight * member.predict(X)
        return total

    def predict_proba(self, rows: FloatArray) -> FloatArray:
        """Calibrated probabilities of default, one per row."""
        return np.clip(_calibrate(self.blend.calibrator, self.margin(rows)), 0.0, 1.0)


def _predictor(booster: Any) -> Callable[[FloatArray], FloatArray]:
    if type(booster).__module__.startswith("xgboost"):
        core = booster.get_booster().copy()
        core.set_param({"nthread": 1})

        def xgboost_margin(X: FloatArray) -> FloatArray:
            return np.asarray(core.inplace_predict(X, predict_type="margin"), dtype=float)

        return xgboost_margin
    core = booster.booster_

    def lightgbm_margin(X: FloatArray) -> FloatArray:
        return np.asarray(core.predict(X, raw_score=True, num_threads=1), dtype=float)

    return lightgbm_margin


@dataclass
class MemberCV:
    """A member's early stopping: its number of trees and out-of-fold margins."""

    spec: MemberSpec
    trees: int
    final_trees: int
    oof_margin: FloatArray
    curve: pd.DataFrame  # trees, oof_auc

    @property
    def oof_auc(self) -> float:
        """Out-of-fold AUC at the chosen number of trees."""
        return self.auc_at(self.trees)

    def auc_at(self, trees: int) -> float:
        """Out-of-fold AUC after ``trees`` trees (a number of the curve)."""
        return float(self.curve.loc[self.curve["trees"] == trees, "oof_auc"].iloc[0])


@dataclass
class BlendFit:
    """The fitted blend, with everything the report and the threshold need."""

    model: MarginBlend
    members: list[MemberCV]
    weights: FloatArray
    oof_margin: FloatArray
    oof_raw: FloatArray
    oof_calibrated: FloatArray
    fold: npt.NDArray[np.int64]
    weight_search: pd.DataFrame

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities of default (what is served)."""
        return self.model.predict_proba(X)[:, 1]

    def predict_raw(self, X: pd.DataFrame) -> FloatArray:
        """Probabilities before calibration."""
        return self.model.predict_raw(X)

    @property
    def oof_auc(self) -> float:
        """The blend's out-of-fold AUC, before calibration (at the chosen weights)."""
        return float(self.weight_search["oof_auc"].max())

    def gains(self) -> pd.DataFrame:
        """What each step adds, in out-of-fold AUC: the first member with its own number of
        trees, then early-stopped, then the blend (all before calibration, on the same folds).
        """
        lead = self.members[0]
        own = int(
            lead.spec.params.get("n_estimators", DEFAULT_PARAMS[lead.spec.model]["n_estimators"])
        )
        rows = []
        if (lead.curve["trees"] == own).any():
            rows.append({"step": "single", "trees": own, "oof_auc": lead.auc_at(own)})
        rows.append({"step": "early_stopping", "trees": lead.trees, "oof_auc": lead.oof_auc})
        rows.append({"step": "blend", "trees": None, "oof_auc": self.oof_auc})
        table = pd.DataFrame(rows)
        table["gain"] = table["oof_auc"].diff().fillna(0.0)
        return table

    def members_table(self) -> pd.DataFrame:
        """One row per member: trees chosen by early stopping, trees refitted on all rows,
        out-of-fold AUC and weight."""
        return pd.DataFrame(
            [
                {
                    "member": m.spec.name,
                    "trees": m.trees,
                    "final_trees": m.final_trees,
                    "oof_auc": m.oof_auc,
                    "weight": float(w),
                }
                for m, w in zip(self.members, self.weights, strict=True)
            ]
        )


def tree_grid(max_trees: int, step: int) -> list[int]:
    """The numbers of trees scored: every ``step`` trees up to ``max_trees``.

    >>> tree_grid(100, 30)
    [30, 60, 90, 100]
    """
    if max_trees < 1 or step < 1:
        raise ValueError(f"max_trees and tree_step must be >= 1, got {max_trees} and {step}")
    grid = list(range(step, max_trees + 1, step))
    return grid if grid and grid[-1] == max_trees else [*grid, max_trees]


def _member_pipelines(
    spec: MemberSpec, y: npt.NDArray[np.int64], trees: int, *, seed: int, seeds: int, n_jobs: int
) -> list[Any]:
    params = {**spec.params, "n_estimators": trees}
    return [
        build_pipeline(spec.model, spec.strategy, y, params, seed=seed + s, n_jobs=n_jobs)
        for s in range(seeds)
    ]


class _Patience:
    """Scores the validation rows every ``step`` trees while a booster grows, and says stop
    once ``patience`` trees in a row have not raised their AUC.

    ``margin_of(booster, a, b)`` is the validation margin of trees ``a`` to ``b``: the running
    total costs one pass over the trees. The boosters' own per-tree evaluation is never run
    (XGBoost's AUC of every tree costs several times the tree).
    """

    def __init__(
        self,
        margin_of: Callable[[Any, int, int], FloatArray],
        y_valid: npt.NDArray[np.int64],
        step: int,
        patience: int,
    ) -> None:
        self.margin_of, self.y_valid = margin_of, y_valid
        self.step, self.patience = step, patience
        self.total = np.zeros(len(y_valid))
        self.scored = 0
        self.best, self.best_trees = -math.inf, 0

    def stop_after(self, booster: Any, trees: int) -> bool:
        """Whether ``booster`` stops growing now that it has ``trees`` trees."""
        if trees % self.step:
            return False
        self.total += self.margin_of(booster, self.scored, trees)
        self.scored = trees
        auc = roc_auc(self.y_valid, self.total)
        if auc > self.best:
            self.best, self.best_trees = auc, trees
        return trees - self.best_trees >= self.patience


def _fit_watched(
    pipe: Any,
    X: pd.DataFrame,
    y: npt.NDArray[np.int64],
    X_valid: pd.DataFrame,
    y_valid: npt.NDArray[np.int64],
    *,
    step: int,
    patience: int,
) -> int:
    """Fit a booster pipeline and return its number of trees. With ``patience``, the booster
    stops once that many trees in a row have not raised the AUC of ``(X_valid, y_valid)``,
    scored every ``step`` trees; its trees are those of an unwatched fit, only fewer."""
    if patience <= 0:
        pipe.fit(X, y)
        return int(pipe.get_params()["model__n_estimators"])
    # The validation rows as the booster sees them: the prediction-time steps, fitted alone on
    # the same rows (deterministic, so identical to the pipeline's own).
    head = clone(SkPipeline([s for s in pipe.steps[:-1] if s[0] != "sampler"])).fit(X, y)
    X_watched = head.transform(X_valid)
    _, booster = _split(pipe)
    if type(booster).__module__.startswith("xgboost"):
        import xgboost

        matrix = xgboost.DMatrix(X_watched, enable_categorical=True)
        matrix.set_base_margin(np.zeros(len(y_valid)))  # the trees' sum alone, slice by slice

        def xgboost_margin(model: Any, a: int, b: int) -> FloatArray:
            chunk = model.predict(matrix, output_margin=True, iteration_range=(a, b))
            return np.asarray(chunk, dtype=float)

        watch = _Patience(xgboost_margin, y_valid, step, patience)

        class Watch(xgboost.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                return watch.stop_after(model, epoch + 1)

        pipe.set_params(model__callbacks=[Watch()])
        pipe.fit(X, y)
        return int(booster.get_booster().num_boosted_rounds())
    import lightgbm

    def lightgbm_margin(model: Any, a: int, b: int) -> FloatArray:
        chunk = model.predict(X_watched, raw_score=True, start_iteration=a, num_iteration=b - a)
        return np.asarray(chunk, dtype=float)

    watch = _Patience(lightgbm_margin, y_valid, step, patience)

    def lightgbm_watch(env: Any) -> None:
        if watch.stop_after(env.model, env.iteration + 1):
            # Reported as the best iteration, so that LightGBM keeps every tree grown.
            raise lightgbm.callback.EarlyStopException(env.iteration, [])

    pipe.fit(X, y, model__callbacks=[lightgbm_watch])
    return int(booster.booster_.current_iteration())


def early_stopping(
    spec: MemberSpec,
    X: pd.DataFrame,
    y: npt.NDArray[np.int64],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    max_trees: int,
    tree_step: int,
    patience: int = 0,
    seed: int = 0,
    seeds: int = 1,
    n_jobs: int = 1,
) -> MemberCV:
    """The member's number of trees, by out-of-fold AUC on ``splits``, and its OOF margins.

    The curve also holds the member's own ``n_estimators`` (its tuned or default number of
    trees, when at most ``max_trees``), so that the report can weigh what early stopping gains.
    With ``patience`` (trees; 0: never), each fold's copy stops growing once that many trees
    in a row have not raised its validation AUC; it then keeps its last margins on the curve.
    """
    if spec.model not in BOOSTERS:
        raise ValueError(f"a blend member is a booster ({', '.join(BOOSTERS)}), got {spec.model!r}")
    grid = tree_grid(max_trees, tree_step)
    own = int(spec.params.get("n_estimators", DEFAULT_PARAMS[spec.model]["n_estimators"]))
    if own <= max_trees:
        grid = sorted({*grid, own})
    staged = np.zeros((len(grid), len(y)))
    for train_idx, valid_idx in splits:
        X_valid = X.iloc[valid_idx]
        for pipe in _member_pipelines(
            spec, y[train_idx], max_trees, seed=seed, seeds=seeds, n_jobs=n_jobs
        ):
            grown = _fit_watched(
                pipe,
                X.iloc[train_idx],
                y[train_idx],
                X_valid,
                y[valid_idx],
                step=tree_step,
                patience=patience,
            )
            log.info("%s: %d trees grown on %d rows", spec.name, grown, len(train_idx))
            scored = [g for g in grid if g < grown] + [grown]
            margins = staged_margins(pipe, X_valid, scored)
            # A copy that stopped early keeps its last margins for every larger number.
            rows = np.minimum(np.searchsorted(scored, grid), len(scored) - 1)
            staged[:, valid_idx] += margins[rows] / seeds
    auc = np.array([roc_auc(y, row) for row in staged])
    best = int(np.argmax(auc))  # the first best: fewer trees on a tie
    folds = len(splits)
    final = round(grid[best] * folds / max(folds - 1, 1))
    curve = pd.DataFrame({"trees": grid, "oof_auc": auc})
    return MemberCV(spec, grid[best], final, staged[best], curve)


def simplex_grid(members: int, step: float) -> FloatArray:
    """Every weight vector on the simplex with coordinates multiple of ``step``, the first
    member's weight decreasing.

    >>> simplex_grid(2, 0.5).tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    units = round(1.0 / step)
    if not math.isclose(units * step, 1.0):
        raise ValueError(f"weight_step must divide 1, got {step}")
    rows = [
        combo
        for combo in itertools.product(range(units, -1, -1), repeat=members)
        if sum(combo) == units
    ]
    return np.array(rows, dtype=float) / units


def blend_weights(
    margins: FloatArray, y: npt.ArrayLike, *, step: float = 0.05
) -> tuple[FloatArray, pd.DataFrame]:
    """Weights of the members' OOF margins (m, n) with the best OOF AUC; on a tie, the
    first in :func:`simplex_grid` order (more weight on the first member).

    >>> y = np.array([0, 0, 1, 1])
    >>> good, noise = np.array([0.0, 1.0, 2.0, 3.0]), np.array([3.0, 0.0, 1.0, 2.0])
    >>> blend_weights(np.vstack([noise, good]), y, step=0.5)[0].tolist()
    [0.0, 1.0]
    """
    grid = simplex_grid(margins.shape[0], step)
    auc = np.array([roc_auc(y, w @ margins) for w in grid])
    best = int(np.argmax(auc))
    search = pd.DataFrame(grid, columns=[f"w{i}" for i in range(grid.shape[1])])
    search["oof_auc"] = auc
    return grid[best], search


def fit_blend(
    specs: Sequence[MemberSpec],
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    folds: int = 4,
    seed: int = 0,
    method: Method = "isotonic",
    max_trees: int = 1500,
    tree_step: int = 25,
    patience: int = 0,
    weight_step: float = 0.05,
    seeds: int = 1,
    n_jobs: int = 1,
) -> BlendFit:
    """Early-stop each member, blend them, calibrate the blend, refit on all rows.

    Parameters
    ----------
    specs
        The members (boosters), in order of preference (ties in the weights favour the first).
    X, y
        The whole training part (never the test split).
    folds, seed
        The stratified folds of the early stopping, the weights and the calibration.
    method
        ``isotonic`` or ``sigmoid``: the calibration map of the blended margin.
    max_trees, tree_step
        The largest number of trees tried, and the spacing of the numbers scored.
    patience
        Trees without a better validation AUC after which a fold's copy stops (0: never).
    weight_step
        The spacing of the weight grid.
    seeds
        Random seeds averaged in every member (each fit is ``seeds`` boosters).
    n_jobs
        Threads per booster.
    """
    if not specs:
        raise ValueError("a blend needs at least one member")
    if method not in ("isotonic", "sigmoid"):
        raise ValueError(f"calibration method must be 'isotonic' or 'sigmoid', got {method!r}")
    y = np.asarray(y, dtype=np.int64)
    splits = list(stratified_folds(folds, seed).split(X, y))
    fold = np.full(len(y), -1, dtype=np.int64)
    for k, (_, valid_idx) in enumerate(splits):
        fold[valid_idx] = k
    kw = {"max_trees": max_trees, "tree_step": tree_step, "patience": patience}
    kw |= {"seed": seed, "seeds": seeds}
    members = [early_stopping(s, X, y, splits, n_jobs=n_jobs, **kw) for s in specs]
    margins = np.vstack([m.oof_margin for m in members])
    weights, search = blend_weights(margins, y, step=weight_step)
    oof_margin = weights @ margins

    calibrated = np.full(len(y), np.nan)
    for k in range(folds):
        inside = fold == k
        calibrator = _fit_calibrator(method, oof_margin[~inside], y[~inside])
        calibrated[inside] = _calibrate(calibrator, oof_margin[inside])
    calibrator = _fit_calibrator(method, oof_margin, y)

    fitted: list[Any] = []
    member_weights: list[float] = []
    names: list[str] = []
    for m, w in zip(members, weights, strict=True):
        if not w:
            continue
        pipes = _member_pipelines(m.spec, y, m.final_trees, seed=seed, seeds=seeds, n_jobs=n_jobs)
        for pipe in pipes:
            fitted.append(pipe.fit(X, y))
            member_weights.append(float(w) / seeds)
            names.append(m.spec.name)
    model = MarginBlend(fitted, member_weights, calibrator, names)
    return BlendFit(
        model=model,
        members=members,
        weights=weights,
        oof_margin=oof_margin,
        oof_raw=1.0 / (1.0 + np.exp(-oof_margin)),
        oof_calibrated=np.clip(calibrated, 0.0, 1.0),
        fold=fold,
        weight_search=search,
    )


def weighted_members(model: Any) -> list[tuple[Any, float]]:
    """The fitted estimators behind a served model, with their weight in its log-odds: a
    :class:`MarginBlend`'s members, the K calibrated copies of a ``CalibratedClassifierCV``
    (weight 1/K each), else the model itself.

    >>> weighted_members("model")
    [('model', 1.0)]
    """
    if isinstance(model, MarginBlend):
        return [(m, float(w)) for m, w in zip(model.members, model.weights, strict=True)]
    copies = getattr(model, "calibrated_classifiers_", None)
    if copies:
        return [(c.estimator, 1.0 / len(copies)) for c in copies]
    return [(model, 1.0)]
