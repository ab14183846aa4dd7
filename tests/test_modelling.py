"""Modelling: business cost, threshold, model zoo, resampling, calibration, tuning, train stage."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from imblearn import FunctionSampler
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from credit_scoring import paths
from credit_scoring.modelling import train_pipeline
from credit_scoring.modelling.calibration import fit_calibrated
from credit_scoring.modelling.cost import (
    best_threshold,
    business_cost,
    confusion_counts,
    cost_curve,
    theoretical_threshold,
)
from credit_scoring.modelling.evaluate import (
    TIMING_COLUMNS,
    CVResult,
    compare_candidates,
    cross_validate_model,
    selection_table,
    stratified_folds,
    stratified_subsample,
)
from credit_scoring.modelling.train import TrainParams, load_training_table
from credit_scoring.modelling.tuning import tune
from credit_scoring.modelling.zoo import FrameSchema, Model, Strategy, build_pipeline, candidates


def synthetic_features(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A features frame like the real one (numbers with gaps, categories), its target and the
    true probabilities (logistic in two numbers and one category, about 12 % defaults)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    X["n_loans"] = rng.poisson(2, n).astype("int64")
    X["kind"] = pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"])
    logit = -2.4 + 1.2 * X["x0"] - 0.8 * X["x1"] + 0.6 * (X["kind"] == "a")
    p = 1.0 / (1.0 + np.exp(-logit.to_numpy()))
    y = (rng.random(n) < p).astype(np.int64)
    X.loc[rng.random(n) < 0.2, "x2"] = np.nan
    X.loc[rng.random(n) < 0.1, "kind"] = np.nan
    return X, y, p


# --------------------------------------------------------------------------- business cost


def test_business_cost_counts_ten_per_missed_default_and_one_per_refused_good_client() -> None:
    # 2 missed defaults (FN), 3 refused good clients (FP), 1 TP, 2 TN.
    y_true = [1, 1, 1, 0, 0, 0, 0, 0]
    y_pred = [0, 0, 1, 1, 1, 1, 0, 0]
    assert confusion_counts(y_true, y_pred) == (2, 3, 2, 1)
    assert business_cost(y_true, y_pred, cost_fn=10, cost_fp=1) == 2 * 10 + 3 * 1


def test_threshold_search_finds_the_known_optimum() -> None:
    # Refusing from 0.6 up catches both defaults at the price of one good client (cost 1);
    # every other cut costs more: the optimum lies between 0.3 and 0.6.
    y = np.array([0, 0, 0, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    t = best_threshold(y, p, cost_fn=10, cost_fp=1)
    assert 0.3 < t <= 0.6
    assert business_cost(y, p >= t, cost_fn=10, cost_fp=1) == 1


def test_threshold_search_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(500)
    y = (rng.random(500) < p**2).astype(int)
    t = best_threshold(y, p, cost_fn=10, cost_fp=1)
    grid = np.linspace(0, 1.0001, 20001)
    brute = min(business_cost(y, p >= g, cost_fn=10, cost_fp=1) for g in grid)
    assert business_cost(y, p >= t, cost_fn=10, cost_fp=1) == brute


def test_threshold_on_true_probabilities_is_close_to_the_theoretical_one() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.3, 200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert best_threshold(y, p, cost_fn=10, cost_fp=1) == pytest.approx(
        theoretical_threshold(10, 1), abs=0.01
    )


def test_accept_all_threshold_when_refusing_never_pays() -> None:
    y = np.array([0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.1])  # the only default has the lowest probability
    assert best_threshold(y, p, cost_fn=1, cost_fp=1) == 1.0
    assert cost_curve(y, p, [1.0], cost_fn=1, cost_fp=1)[0] == pytest.approx(0.2)


# --------------------------------------------------------------------------- zoo


def test_frame_schema_restores_training_dtypes_from_strings() -> None:
    X, _, _ = synthetic_features(50)
    schema = FrameSchema().fit(X)
    served = schema.serving_frame(X.head(3))  # what a JSON client sends
    assert served["kind"].dtype == object
    back = schema.transform(served)
    assert isinstance(back["kind"].dtype, pd.CategoricalDtype)
    assert list(back["kind"].cat.categories) == ["a", "b", "c"]
    pd.testing.assert_series_equal(back["x0"], X["x0"].head(3))


def test_frame_schema_refuses_missing_features() -> None:
    X, _, _ = synthetic_features(50)
    schema = FrameSchema().fit(X)
    with pytest.raises(KeyError, match="x3"):
        schema.transform(X.drop(columns="x3"))


@pytest.mark.parametrize("model, strategy", candidates())
def test_every_candidate_fits_and_predicts_probabilities(model: Model, strategy: Strategy) -> None:
    X, y, _ = synthetic_features(300, seed=1)
    small = {"n_estimators": 20} if model in ("xgboost", "lightgbm", "random_forest") else None
    pipe = build_pipeline(model, strategy, y, small, seed=0)
    proba = pipe.fit(X, y).predict_proba(X.head(20))
    assert proba.shape == (20, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_resampling_touches_only_the_training_folds() -> None:
    X, y, _ = synthetic_features(400, seed=2)
    seen: list[int] = []

    def spy(X_fold: Any, y_fold: np.ndarray) -> tuple[Any, np.ndarray]:
        seen.append(len(y_fold))
        keep = np.r_[
            np.flatnonzero(y_fold == 1), np.flatnonzero(y_fold == 0)[: (y_fold == 1).sum()]
        ]
        return X_fold[keep], y_fold[keep]

    pipe = build_pipeline(
        "logreg", "undersample", y, sampler=FunctionSampler(func=spy, validate=False)
    )
    cv = stratified_folds(4, seed=0)
    result = cross_validate_model(pipe, X, y, cv)
    train_sizes = sorted(len(train) for train, _ in cv.split(X, y))
    assert sorted(seen) == train_sizes  # called once per fold, on training rows only
    assert not np.isnan(result.oof).any()  # every validation row scored, none dropped


def test_comparison_table_has_every_metric_with_mean_and_std() -> None:
    X, y, _ = synthetic_features(600, seed=3)
    results, _ = compare_candidates(
        X,
        y,
        candidates(["dummy", "logreg"], ["none", "class_weight"]),
        folds=3,
        seed=0,
        cost_fn=10,
        cost_fp=1,
    )
    assert len(results) == 3  # the constant baseline only without strategy
    for metric in (
        "roc_auc",
        "pr_auc",
        "brier",
        "cost_per_client",
        "recall",
        "precision",
        "fit_time",
        "predict_time",
    ):
        assert {f"{metric}_mean", f"{metric}_std"} <= set(results.columns)
    assert results.iloc[0]["model"] == "logreg"  # sorted by cost: the baseline is last
    assert results.set_index("model").loc["dummy", "roc_auc_mean"] == pytest.approx(0.5)


def test_the_comparison_gives_the_same_figures_at_every_run() -> None:
    X, y, _ = synthetic_features(800, seed=5)
    pairs = candidates(["random_forest", "xgboost", "lightgbm"], ["class_weight", "smote"])

    def run() -> pd.DataFrame:
        results, _ = compare_candidates(
            X, y, pairs, folds=2, seed=0, cost_fn=10, cost_fp=1, n_jobs=2
        )
        return results.drop(columns=list(TIMING_COLUMNS))

    pd.testing.assert_frame_equal(run(), run(), check_exact=True)


def _fold_results(costs: dict[str, list[float]], aucs: dict[str, list[float]]):
    details = {
        (name, "none"): CVResult(
            np.zeros(1),
            np.zeros(1, dtype=np.int64),
            pd.DataFrame({"fold": range(len(c)), "cost_per_client": c, "roc_auc": aucs[name]}),
        )
        for name, c in costs.items()
    }
    results = pd.DataFrame({"model": list(costs), "strategy": "none"})
    return results, details


def test_a_near_tie_on_cost_goes_to_the_better_auc() -> None:
    results, details = _fold_results(
        {"random_forest": [0.480, 0.500, 0.490], "lightgbm": [0.486, 0.496, 0.494]},
        {"random_forest": [0.760, 0.770, 0.765], "lightgbm": [0.790, 0.795, 0.792]},
    )
    table = selection_table(results, details, "cost")
    assert table.loc[0, "model"] == "lightgbm"
    assert table["tied"].all()


def test_a_clear_cost_winner_is_chosen_whatever_its_auc() -> None:
    results, details = _fold_results(
        {"random_forest": [0.450, 0.460, 0.455], "lightgbm": [0.485, 0.498, 0.494]},
        {"random_forest": [0.760, 0.770, 0.765], "lightgbm": [0.790, 0.795, 0.792]},
    )
    table = selection_table(results, details, "cost")
    assert table.loc[0, "model"] == "random_forest"
    assert table.loc[1, "gap_in_se"] > 1.0
    assert table["fold_wins"].tolist() == [3, 0]


def test_an_exact_tie_goes_to_the_first_pair_of_params_order() -> None:
    same = [0.5, 0.5, 0.5]
    results, details = _fold_results(
        {"xgboost": same, "lightgbm": same}, {"xgboost": same, "lightgbm": same}
    )
    assert selection_table(results, details, "cost").loc[0, "model"] == "xgboost"


def test_stratified_subsample_keeps_the_default_rate() -> None:
    X, y, _ = synthetic_features(2000, seed=4)
    _, ys = stratified_subsample(X, y, 500, seed=0)
    assert len(ys) == 500
    assert ys.mean() == pytest.approx(y.mean(), abs=0.005)


# --------------------------------------------------------------------------- calibration


def test_calibration_improves_brier_of_a_miscalibrated_model() -> None:
    # Undersampling to 50/50 inflates probabilities about sixfold at a 12 % default rate.
    X, y, _ = synthetic_features(3000, seed=5)
    X_new, y_new, _ = synthetic_features(3000, seed=6)
    pipe = build_pipeline("logreg", "undersample", y, seed=0)
    fit = fit_calibrated(pipe, X, y, method="isotonic", folds=3, seed=0)
    raw, calibrated = fit.predict_raw(X_new), fit.predict(X_new)
    assert brier_score_loss(y_new, calibrated) < 0.8 * brier_score_loss(y_new, raw)
    assert brier_score_loss(y, fit.oof_calibrated) < brier_score_loss(y, fit.oof_raw)
    assert calibrated.mean() == pytest.approx(y_new.mean(), abs=0.02)


def test_calibrated_oof_predictions_cover_every_row_once() -> None:
    X, y, _ = synthetic_features(600, seed=7)
    fit = fit_calibrated(
        LogisticRegression(), X[["x0", "x1"]], y, method="sigmoid", folds=3, seed=0
    )
    assert sorted(np.unique(fit.fold)) == [0, 1, 2]
    assert not np.isnan(fit.oof_calibrated).any()


# --------------------------------------------------------------------------- tuning


def test_tuning_reports_every_trial_and_returns_complete_params() -> None:
    X, y, _ = synthetic_features(500, seed=8)
    reported: list[int] = []
    result = tune(
        "lightgbm",
        "none",
        X,
        y,
        n_trials=3,
        folds=2,
        seed=0,
        n_jobs=1,
        on_trial=lambda trial: reported.append(trial.number),
    )
    assert reported == [0, 1, 2]
    assert len(result.trials) == 3
    assert {"n_estimators", "learning_rate", "num_leaves"} <= set(result.params)


def test_tuning_twice_gives_the_same_trials() -> None:
    X, y, _ = synthetic_features(500, seed=8)

    def run() -> pd.DataFrame:
        return tune("xgboost", "none", X, y, n_trials=4, folds=2, seed=0, n_jobs=2).trials

    first = run()
    assert len(first) == 4  # a number of trials, never a duration
    pd.testing.assert_frame_equal(first, run(), check_exact=True)


def test_train_params_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="tune_trails"):
        TrainParams.from_dict({"tune_trails": 3})


# --------------------------------------------------------------------------- the train stage


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The train stage on 1,500 synthetic clients, two models, a tiny budget."""
    root = tmp_path_factory.mktemp("train")
    X, y, p = synthetic_features(1500, seed=9)
    ids = np.arange(100_001, 100_001 + len(y))
    (root / "features").mkdir()
    pd.concat([pd.DataFrame({"SK_ID_CURR": ids, "TARGET": y}), X], axis=1).to_parquet(
        root / "features" / "train.parquet", index=False
    )
    truth = root / "twin_truth.parquet"
    pd.DataFrame({"SK_ID_CURR": ids, "split": "train", "probability_default": p}).to_parquet(truth)
    params = {
        "models": ["dummy", "logreg", "lightgbm"],
        "strategies": ["none", "undersample"],
        "blend_strategies": ["none", "undersample"],
        "compare_folds": 2,
        "tune_trials": 2,
        "tune_folds": 2,
        "calibration": "sigmoid",
        "calibration_folds": 3,
        "max_trees": 100,
        "tree_step": 25,
        "bootstrap": 50,
        "n_jobs": 1,
    }
    logs = root / "logs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paths, "LOGS_DIR", logs)
        metrics = train_pipeline(
            params,
            root / "features",
            root / "models",
            root / "metrics",
            root / "mlflow",
            truth_file=truth,
        )
    return {"root": root, "metrics": metrics, "logs": logs}


def test_train_json_holds_only_the_headline_figures(trained: dict[str, Any]) -> None:
    written = json.loads((trained["root"] / "metrics" / "train.json").read_text())
    assert {
        "test_auc",
        "test_auc_low",
        "test_auc_high",
        "test_cost_per_client",
        "threshold",
    } <= set(written)
    assert all(isinstance(v, float) for v in written.values())  # flat numbers only
    assert len(written) <= 16
    assert written["test_auc_low"] <= written["test_auc"] <= written["test_auc_high"]
    assert 0.0 < written["threshold"] < 1.0


def test_train_summary_has_the_report_figures(trained: dict[str, Any]) -> None:
    summary = json.loads((trained["root"] / "models" / "summary.json").read_text())
    expected = {"champion", "cv_auc", "test_cost_accept_all", "test_cost_at_half", "selection"}
    assert expected <= set(summary)
    assert {"auc", "cost_per_client"} <= set(summary["oracle"])


def test_no_train_output_holds_a_timing_a_run_id_or_a_version(trained: dict[str, Any]) -> None:
    root = trained["root"]
    texts = [
        (root / "metrics" / "train.json").read_text(),
        *(path.read_text() for path in (root / "models").glob("*.json")),
        *(path.read_text() for path in (root / "models").glob("*.csv")),
    ]
    for forbidden in ("seconds", "fit_time", "predict_time", "run_id", "model_version"):
        assert not any(forbidden in text for text in texts), forbidden


def test_the_stage_log_has_the_timings_and_the_registry_version(trained: dict[str, Any]) -> None:
    from credit_scoring import runlog

    logged = runlog.read("train", trained["logs"])
    assert logged["seconds"]["total"] > 0
    assert logged["model_version"] == "1"
    assert len(logged["run_id"]) == 32


def test_every_run_of_the_stage_is_in_the_project_experiment(trained: dict[str, Any]) -> None:
    import mlflow

    from credit_scoring.modelling import registry

    uri = registry.configure(trained["root"] / "mlflow")
    client = mlflow.MlflowClient(tracking_uri=uri)
    project = client.get_experiment_by_name("credit-scoring")
    runs = client.search_runs([project.experiment_id], max_results=1000)
    default = client.get_experiment_by_name("Default")
    assert default is None or not client.search_runs([default.experiment_id])
    parent = next(r for r in runs if r.info.run_name == "train")
    kinds = [r.info.run_name.split(" ")[0] for r in runs]
    # 5 comparison runs, the tuning run and its 2 trials, the scorecard, all in the stage's
    # experiment
    assert sorted(kinds) == sorted(
        ["train"] + ["compare"] * 5 + ["tuning"] + ["trial"] * 2 + ["scorecard"]
    )
    tuning = next(r for r in runs if r.info.run_name.startswith("tuning"))
    for run in runs:
        if run.info.run_name.startswith(("compare", "tuning", "scorecard")):
            assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        if run.info.run_name.startswith("trial"):
            assert run.data.tags["mlflow.parentRunId"] == tuning.info.run_id


def test_the_scorecard_challenger_is_scored_beside_the_champion(trained: dict[str, Any]) -> None:
    from credit_scoring.modelling.scorecard import Scorecard

    models = trained["root"] / "models"
    saved = json.loads((models / "scorecard.json").read_text())
    card = Scorecard.from_dict(saved["scorecard"])
    summary = trained["metrics"]["scorecard"]
    assert saved["threshold"] == summary["threshold"]
    assert list(card.names) == summary["features"]
    test = pd.read_parquet(models / "test_predictions.parquet")
    assert 0.5 < summary["test_auc"] <= 1.0
    assert summary["auc_gap"] == pytest.approx(trained["metrics"]["test_auc"] - summary["test_auc"])
    table = pd.read_csv(models / "scorecard.csv", keep_default_na=False)
    assert table["variable"].iloc[0] == "points de base"
    assert set(table["variable"].iloc[1:]) == set(card.names)
    assert test["p_scorecard"].between(0, 1).all()


def test_the_blend_is_the_registered_champion(trained: dict[str, Any]) -> None:
    from credit_scoring.modelling.blend import MarginBlend
    from credit_scoring.modelling.registry import load_registered

    loaded = load_registered("credit-scoring", tracking_uri=registry_uri(trained))
    assert isinstance(loaded.model, MarginBlend)
    members = trained["metrics"]["champion"]["members"]
    weights = {m["member"]: m["weight"] for m in loaded.contract["members"]}
    assert weights == {m["member"]: m["weight"] for m in members if m["weight"] > 0}
    assert loaded.contract["points_to_double_odds"] == 10.0


def registry_uri(trained: dict[str, Any]) -> str:
    from credit_scoring.modelling import registry

    return registry.configure(trained["root"] / "mlflow")


def test_the_selection_table_explains_the_choice(trained: dict[str, Any]) -> None:
    selection = pd.read_csv(trained["root"] / "models" / "selection.csv")
    summary = trained["metrics"]
    # every pair of the blend's families (LightGBM here: XGBoost was not compared)
    assert selection["model"].eq("lightgbm").all() and len(selection) == 2
    assert selection["chosen"].tolist() == [True, False]
    chosen = selection.iloc[0]
    assert (chosen["model"], chosen["strategy"]) == (
        summary["champion"]["model"],
        summary["champion"]["strategy"],
    )
    assert bool(chosen["tied"])  # the chosen pair is always within noise of the best
    assert 0 <= chosen["fold_wins"] <= 2


def test_train_pipeline_writes_the_results_table_for_every_pair(trained: dict[str, Any]) -> None:
    results = pd.read_csv(trained["root"] / "models" / "results.csv")
    assert len(results) == 1 + 2 * 2
    assert set(results["strategy"]) == {"none", "undersample"}


def test_registered_champion_returns_probabilities_and_alias_resolves(
    trained: dict[str, Any],
) -> None:
    import mlflow

    from credit_scoring.modelling import registry

    uri = registry.configure(trained["root"] / "mlflow")
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version_by_alias("credit-scoring", "champion")
    assert str(version.version) == "1"
    X, _, _ = synthetic_features(5, seed=10)
    served = FrameSchema().fit(X).serving_frame(X)  # strings, as a JSON client sends them
    out = np.asarray(mlflow.pyfunc.load_model("models:/credit-scoring@champion").predict(served))
    assert out.shape == (5, 2)  # probabilities of both classes, not labels
    assert np.allclose(out.sum(axis=1), 1.0)
    assert ((out > 0) & (out < 1)).all()


def test_excluded_attribute_and_its_derived_features_never_reach_the_model(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "SK_ID_CURR": [1, 2, 3],
            "TARGET": [0, 1, 0],
            "CODE_GENDER": ["F", "M", "F"],
            "GENDER_INCOME_RATIO": [0.1, 0.2, 0.3],
            "AMT_CREDIT": [1.0, 2.0, 3.0],
        }
    )
    frame.to_parquet(tmp_path / "train.parquet")
    X, y, ids = load_training_table(tmp_path, exclude=["CODE_GENDER"])
    assert list(X.columns) == ["AMT_CREDIT"]
    assert list(y) == [0, 1, 0] and list(ids) == [1, 2, 3]
    kept, _, _ = load_training_table(tmp_path)
    assert "CODE_GENDER" in kept
