"""The champion blend: early stopping out of fold, weights, calibration, weighted SHAP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_scoring.explain._model import ShapEngine
from credit_scoring.modelling.blend import (
    MarginBlend,
    MatrixBlend,
    MemberSpec,
    _fit_watched,
    blend_weights,
    early_stopping,
    fit_blend,
    margin,
    staged_margins,
    weighted_members,
)
from credit_scoring.modelling.evaluate import stratified_folds
from credit_scoring.modelling.zoo import build_pipeline


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 1200
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        }
    )
    X.loc[rng.random(n) < 0.1, "b"] = np.nan
    logit = -2.0 + 1.2 * X["a"] + 0.6 * X["b"].fillna(0) + (X["c"] == "z") * 0.8
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, np.ndarray]):
    X, y = data
    specs = [
        MemberSpec("lightgbm", "none", {"learning_rate": 0.1}),
        MemberSpec("xgboost", "none", {"learning_rate": 0.1}),
    ]
    return fit_blend(specs, X, y, folds=3, max_trees=120, tree_step=20, weight_step=0.25)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_staged_margins_end_at_the_full_margin(data, family: str) -> None:
    X, y = data
    pipe = build_pipeline(family, "none", y, {"n_estimators": 50}).fit(X, y)
    staged = staged_margins(pipe, X, [10, 25, 50])
    assert np.allclose(staged[-1], margin(pipe, X), atol=1e-5)
    truncated = build_pipeline(family, "none", y, {"n_estimators": 10}).fit(X, y)
    assert np.allclose(staged[0], margin(truncated, X), atol=1e-5)


def test_early_stopping_keeps_few_trees_when_more_only_overfit(data) -> None:
    X, _ = data
    noise = np.random.default_rng(0).integers(0, 2, len(X))
    splits = list(stratified_folds(3, 0).split(X, noise))
    spec = MemberSpec("lightgbm", "none", {"learning_rate": 0.3, "num_leaves": 31})
    stopped = early_stopping(spec, X, noise, splits, max_trees=200, tree_step=20)
    signal = MemberSpec("lightgbm", "none", {"learning_rate": 0.02})
    _, y = data
    kept = early_stopping(signal, X, y, splits, max_trees=200, tree_step=20)
    assert stopped.trees < kept.trees


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_patience_stops_a_fold_that_only_overfits(data, family: str) -> None:
    X, _ = data
    noise = np.random.default_rng(0).integers(0, 2, len(X))
    train, valid = next(stratified_folds(3, 0).split(X, noise))
    pipe = build_pipeline(family, "none", noise[train], {"n_estimators": 300})
    kept = _fit_watched(
        pipe, X.iloc[train], noise[train], X.iloc[valid], noise[valid], step=5, patience=20
    )
    assert kept < 100


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_a_watched_fit_grows_the_trees_of_an_unwatched_one(data, family: str) -> None:
    X, y = data
    train, valid = next(stratified_folds(3, 0).split(X, y))
    params = {"n_estimators": 200, "learning_rate": 0.3}
    watched = build_pipeline(family, "none", y[train], params)
    kept = _fit_watched(
        watched, X.iloc[train], y[train], X.iloc[valid], y[valid], step=5, patience=20
    )
    plain = build_pipeline(family, "none", y[train], params).fit(X.iloc[train], y[train])
    assert 0 < kept < 200
    assert np.allclose(
        staged_margins(watched, X.iloc[valid], [kept]),
        staged_margins(plain, X.iloc[valid], [kept]),
        atol=1e-6,
    )


def test_patience_longer_than_the_trees_changes_nothing(data) -> None:
    X, y = data
    splits = list(stratified_folds(3, 0).split(X, y))
    spec = MemberSpec("xgboost", "none", {"learning_rate": 0.1})
    every = early_stopping(spec, X, y, splits, max_trees=80, tree_step=20)
    watched = early_stopping(spec, X, y, splits, max_trees=80, tree_step=20, patience=100)
    assert watched.trees == every.trees
    assert np.allclose(watched.oof_margin, every.oof_margin, atol=1e-6)


def test_a_stopped_fold_keeps_its_margins_on_the_rest_of_the_curve(data) -> None:
    X, _ = data
    noise = np.random.default_rng(0).integers(0, 2, len(X))
    splits = list(stratified_folds(3, 0).split(X, noise))
    spec = MemberSpec("lightgbm", "none", {"learning_rate": 0.3, "num_leaves": 31})
    fit = early_stopping(spec, X, noise, splits, max_trees=400, tree_step=20, patience=40)
    tail = fit.curve.loc[fit.curve["trees"] >= 300, "oof_auc"]
    assert tail.nunique() == 1


def test_refitted_trees_scale_with_the_extra_rows(fitted) -> None:
    for member in fitted.members:
        assert member.final_trees == round(member.trees * 3 / 2)


def test_the_weights_favour_the_informative_member() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    informative = y + rng.normal(scale=0.8, size=500)
    noise = rng.normal(size=500)
    weights, search = blend_weights(np.vstack([noise, informative]), y, step=0.1)
    assert weights[1] > weights[0]
    assert np.isclose(weights.sum(), 1.0)
    assert len(search) == 11


def test_the_served_margin_is_the_weighted_margin_of_the_members(fitted, data) -> None:
    X, _ = data
    model = fitted.model
    expected = sum(w * margin(m, X) for m, w in zip(model.members, model.weights, strict=True))
    assert np.allclose(model.margin(X), expected)


def test_calibration_maps_the_blended_margin_monotonically(fitted, data) -> None:
    X, _ = data
    order = np.argsort(fitted.model.margin(X))
    p = fitted.predict(X)[order]
    assert np.all(np.diff(p) >= -1e-12)


def test_the_oof_probabilities_are_cross_fitted(fitted, data) -> None:
    _, y = data
    # A calibrator fitted on all rows would reach a lower Brier score on the same rows.
    from credit_scoring.modelling.blend import _calibrate, _fit_calibrator

    in_sample = _calibrate(_fit_calibrator("isotonic", fitted.oof_margin, y), fitted.oof_margin)
    assert np.mean((fitted.oof_calibrated - y) ** 2) > np.mean((in_sample - y) ** 2)


def test_two_fits_give_the_same_probabilities(fitted, data) -> None:
    X, y = data
    again = fit_blend(
        [m.spec for m in fitted.members],
        X,
        y,
        folds=3,
        max_trees=120,
        tree_step=20,
        weight_step=0.25,
    )
    assert np.array_equal(again.predict(X), fitted.predict(X))


def test_shap_values_of_the_blend_add_up_to_its_margin(fitted, data) -> None:
    X, _ = data
    engine = ShapEngine(fitted.model, list(X.columns))
    values, base = engine.contributions(X.head(20))
    assert np.allclose(values.sum(axis=1) + base, fitted.model.margin(X.head(20)), atol=1e-4)


def test_shap_values_of_the_blend_are_the_weighted_members_values(fitted, data) -> None:
    X, _ = data
    features = list(X.columns)
    blended, _ = ShapEngine(fitted.model, features).contributions(X.head(10))
    parts = [
        w * ShapEngine(m, features).contributions(X.head(10))[0]
        for m, w in weighted_members(fitted.model)
    ]
    assert np.allclose(blended, sum(parts), atol=1e-6)


def test_a_member_that_is_not_a_booster_is_refused(data) -> None:
    X, y = data
    with pytest.raises(ValueError, match="booster"):
        fit_blend([MemberSpec("logreg", "none", {})], X, y, folds=2, max_trees=10)


def test_an_empty_blend_is_refused(data) -> None:
    X, y = data
    with pytest.raises(ValueError, match="at least one member"):
        fit_blend([], X, y)


def test_weighted_members_of_a_blend(fitted) -> None:
    members = weighted_members(fitted.model)
    assert isinstance(fitted.model, MarginBlend)
    assert np.isclose(sum(w for _, w in members), 1.0)


def test_the_matrix_path_gives_the_frame_paths_probabilities(fitted, data) -> None:
    X, _ = data
    model = fitted.model
    # Served levels in another order than the trained ones, one of them never seen in training,
    # an infinity, and the columns in another order than the members'.
    served = X.head(300).copy()
    served.loc[served.index[:5], "a"] = np.inf
    levels = ("z", "w", "y", "x")
    names = ["c", "b", "a"]
    codes = pd.Categorical(served["c"].astype(str), categories=levels).codes.astype(float)
    codes[:7] = 1.0  # "w": unknown to the model, missing for it
    rows = np.column_stack([codes, served["b"], served["a"]])
    frame = served.assign(c=pd.Categorical(np.array(levels)[codes.astype(int)], categories=levels))
    expected = model.predict_proba(frame)[:, 1]
    np.testing.assert_array_equal(
        MatrixBlend(model, names, {"c": levels}).predict_proba(rows), expected
    )


def test_the_matrix_path_needs_every_feature_of_the_members(fitted) -> None:
    with pytest.raises(KeyError, match="lack the member's features"):
        MatrixBlend(fitted.model, ["a", "b"], {})
