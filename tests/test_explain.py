"""Explanations: SHAP additivity on log-odds, French reasons, counterfactuals, precomputed batch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import json_keys
from sklearn.calibration import CalibratedClassifierCV

from credit_scoring.data.ingest import find_kaggle_source, ingest
from credit_scoring.data.schema import TARGET
from credit_scoring.data.twin import TwinConfig, generate_twin
from credit_scoring.explain import (
    CounterfactualBounds,
    Explainer,
    counterfactual,
    load_explanation,
    precompute_explanations,
    run_explain,
)
from credit_scoring.explain._model import fitted_copies
from credit_scoring.explain.counterfactual import _assemble, _history
from credit_scoring.explain.importance import fold_importance, stability
from credit_scoring.explain.text import Phrasebook, contains_code
from credit_scoring.features import (
    build_feature_tables,
    feature_dictionary,
    features_for_clients,
    read_feature_table,
)
from credit_scoring.features.engine import lookup_applications
from credit_scoring.modelling.calibration import fit_calibrated
from credit_scoring.modelling.zoo import build_pipeline
from credit_scoring.scoring import DEFAULT_POINTS_TO_DOUBLE_ODDS, Scorer, probability_from_score

SMALL = {"n_estimators": 40, "num_leaves": 15, "min_child_samples": 20}


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small twin, ingested, its feature tables, and a calibrated LightGBM ensemble on them."""
    root = tmp_path_factory.mktemp("explain")
    generate_twin(TwinConfig(clients=600, seed=5), root / "csv", progress=False)
    interim = root / "interim"
    ingest(find_kaggle_source(root / "csv"), interim)
    build_feature_tables(interim, root / "features")
    train = read_feature_table(root / "features" / "train.parquet")
    y = train.pop(TARGET).to_numpy()
    pipeline = build_pipeline("lightgbm", "none", y, SMALL, seed=0)
    fit = fit_calibrated(pipeline, train, y, method="sigmoid", folds=3, seed=0)
    scorer = Scorer(fit.model, threshold=0.1, features=list(train.columns))
    production = read_feature_table(root / "features" / "production.parquet")
    return {
        "root": root,
        "interim": interim,
        "X": train,
        "y": y,
        "production": production,
        "scorer": scorer,
        "explainer": Explainer.from_scorer(scorer, feature_dictionary()),
    }


def _pipeline_log_odds(model: Any, X: pd.DataFrame) -> np.ndarray:
    """The model's own log-odds, through scikit-learn (not the explainer's fast path)."""
    probs = [e.predict_proba(X)[:, 1] for e in fitted_copies(model)]
    return np.mean([np.log(p / (1 - p)) for p in probs], axis=0)


# --------------------------------------------------------------------------- SHAP values


def test_shap_values_and_base_value_add_up_to_the_champion_log_odds(twin: dict[str, Any]) -> None:
    rows = twin["production"].head(40)
    values, base = twin["explainer"].contributions(rows)
    expected = _pipeline_log_odds(twin["scorer"].model, rows[twin["scorer"].features])
    np.testing.assert_allclose(values.sum(axis=1) + base, expected, atol=1e-6)


@pytest.mark.parametrize(
    "wrapper",
    ["single calibrated xgboost", "bare lightgbm pipeline with one-hot (smote)"],
)
def test_shap_additivity_holds_for_other_champion_shapes(
    twin: dict[str, Any], wrapper: str
) -> None:
    X, y = twin["X"], twin["y"]
    if wrapper.startswith("single"):
        pipe = build_pipeline("xgboost", "none", y, {"n_estimators": 30, "max_depth": 3}, seed=0)
        model = CalibratedClassifierCV(pipe, method="sigmoid", cv=3, ensemble=False).fit(X, y)
    else:  # dense one-hot preprocessing: SHAP of level columns is summed back to the feature
        model = build_pipeline("lightgbm", "smote", y, SMALL, seed=0).fit(X, y)
    explainer = Explainer.from_scorer(Scorer(model, threshold=0.1, features=list(X.columns)))
    rows = twin["production"].head(20)
    values, base = explainer.contributions(rows)
    assert values.shape == (20, X.shape[1])
    expected = _pipeline_log_odds(model, rows[list(X.columns)])
    np.testing.assert_allclose(values.sum(axis=1) + base, expected, atol=1e-4)


def test_ensemble_stability_compares_one_importance_per_calibrated_copy(
    twin: dict[str, Any],
) -> None:
    folds = fold_importance(twin["explainer"].engine, twin["production"].head(100))
    assert list(folds.columns) == ["pli 1", "pli 2", "pli 3"]
    summary = stability(folds, top_k=5)
    assert 0.0 <= summary["overlap_min"] <= summary["overlap_mean"] <= 1.0
    assert summary["folds"] == 3


# --------------------------------------------------------------------------- reasons


def test_reasons_are_sorted_by_absolute_contribution_with_direction_from_the_sign(
    twin: dict[str, Any],
) -> None:
    for explanation in twin["explainer"].explain(twin["production"].head(30), top=6):
        contributions = [r.contribution for r in explanation.reasons]
        assert [abs(c) for c in contributions] == sorted(map(abs, contributions), reverse=True)
        largest = max(abs(c) for c in explanation.contributions.values())
        assert abs(contributions[0]) == pytest.approx(largest)
        for r in explanation.reasons:
            assert r.direction == ("augmente" if r.contribution > 0 else "diminue")
            assert r.direction in r.sentence


def test_sentences_show_the_french_label_and_the_value_and_never_a_feature_code(
    twin: dict[str, Any],
) -> None:
    features = set(twin["scorer"].features)
    reasons = [
        r for e in twin["explainer"].explain(twin["production"].head(60), top=5) for r in e.reasons
    ]
    assert reasons
    for r in reasons:
        # The value may be said inside the label's closing parenthesis: "(moyenne : 3 jours)".
        stem = r.label.removesuffix(")")
        assert stem in r.sentence or stem[0].lower() + stem[1:] in r.sentence, r.sentence
        if r.value is not None:
            assert r.value_text in r.sentence
        assert not contains_code(r.sentence), r.sentence
        assert not any(f in r.sentence for f in features if "_" in f), r.sentence
        assert re.search(r"\b(SHAP|log-cote|contribution)\b", r.sentence) is None


@pytest.mark.parametrize(
    "feature, value, expected",
    [
        ("AMT_CREDIT", 250_000.0, "250\u202f000\u00a0€"),
        ("YEARS_EMPLOYED", 12.7, "12 ans"),
        ("AGE_YEARS", 34.2, "34 ans"),
        ("ANNUITY_INCOME_RATIO", 0.38, "38\u202f%"),
        ("CREDIT_INCOME_RATIO", 3.24, "3,2 fois"),
        ("EXT_SOURCE_2", 0.4567, "0,46"),
        ("NAME_EDUCATION_TYPE", "Higher education", "études supérieures"),
        ("FLAG_DOCUMENT_3", 1, "oui"),
    ],
)
def test_values_are_written_with_their_unit_in_french(
    twin: dict[str, Any], feature: str, value: Any, expected: str
) -> None:
    assert twin["explainer"].phrasebook.value_text(feature, value) == expected


def test_missing_values_are_phrased_as_missing_information_not_as_a_number() -> None:
    book = Phrasebook.from_dictionary(feature_dictionary())
    bureau = book.sentence("BURO_DAYS_CREDIT_MEAN", np.nan, "augmente")
    application = book.sentence("EXT_SOURCE_1", None, "diminue")
    assert bureau.startswith("Aucun historique au bureau de crédit")
    assert "augmente le risque" in bureau
    assert application.startswith("L'information « score externe 1 » n'est pas renseignée")
    assert not re.search(r"\d", application.replace("score externe 1", ""))
    assert "nan" not in (bureau + application).lower().split()


def test_explanation_to_dict_is_json_and_round_trips(twin: dict[str, Any]) -> None:
    explanation = twin["explainer"].explain(twin["production"].head(1))[0]
    text = json.dumps(explanation.to_dict(), allow_nan=False)
    again = type(explanation).from_dict(json.loads(text))
    assert again.reasons == explanation.reasons
    assert again.log_odds == pytest.approx(explanation.log_odds)


def test_waterfall_labels_bars_in_french(twin: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    explainer = twin["explainer"]
    explanation = explainer.explain(twin["production"].head(1))[0]
    fig = explainer.waterfall(explanation, max_display=6)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    plt.close(fig)
    assert len(ticks) == 6
    assert ticks[-1].startswith(explanation.reasons[0].label)
    assert "autres variables" in ticks[0]
    assert not any(contains_code(t) for t in ticks)


# --------------------------------------------------------------------------- counterfactuals


class CreditRatioModel:
    """A constructed model: the risk rises with the credit to income ratio only."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(np.nan_to_num(X["CREDIT_INCOME_RATIO"].to_numpy()) - 3.0)))
        return np.column_stack([1 - p, p])


def _constructed_case(twin: dict[str, Any]) -> tuple[Scorer, int]:
    """A client, and a threshold that refuses it at its credit but grants 70 % of it."""
    X = twin["X"]
    cid = int(X.index[(X["CREDIT_INCOME_RATIO"] > 2.0) & X["AMT_ANNUITY"].notna()][0])
    ratio = float(X.loc[cid, "CREDIT_INCOME_RATIO"])
    p_now = 1 / (1 + np.exp(-(ratio - 3.0)))
    p_at_70 = 1 / (1 + np.exp(-(0.7 * ratio - 3.0)))
    # Grant below score 45, at probability q: 70 % of the credit must land there, the credit
    # not. Score 45 is 5 points under the threshold: odds(q) = odds(t) / 2 ** (5 / pdo).
    q = min(p_at_70 / 0.85, 0.9)
    odds_t = q / (1 - q) * 2 ** (5 / DEFAULT_POINTS_TO_DOUBLE_ODDS)
    threshold = odds_t / (1 + odds_t)
    assert probability_from_score(45, threshold) == pytest.approx(q)
    assert p_now > q  # not granted as it stands
    return Scorer(CreditRatioModel(), threshold=threshold, features=list(X.columns)), cid


def test_counterfactual_reaches_grant_and_keeps_immutable_features_fixed(
    twin: dict[str, Any],
) -> None:
    scorer, cid = _constructed_case(twin)
    cf = counterfactual(scorer, cid, bounds=CounterfactualBounds(), interim_dir=twin["interim"])
    assert cf.decision != "grant"
    assert cf.feasible and cf.new_decision == "grant"
    old, new = cf.changes["AMT_CREDIT"]
    assert 0.5 * old <= new < old
    assert cf.new_risk_score < 45 and "accordée" in cf.message

    before = features_for_clients([cid], twin["interim"])
    after = features_for_clients([cid], twin["interim"], applications=cf.application)
    immutable = feature_dictionary().query("not actionable")["name"]
    pd.testing.assert_frame_equal(before[immutable], after[immutable])
    income = before["AMT_INCOME_TOTAL"].iloc[0]
    assert after["CREDIT_INCOME_RATIO"].iloc[0] == pytest.approx(new / income)


def test_counterfactual_says_infeasible_when_the_bounds_forbid_enough_change(
    twin: dict[str, Any],
) -> None:
    scorer, cid = _constructed_case(twin)
    tight = CounterfactualBounds(min_credit_share=0.95, max_term_months=1.0)
    cf = counterfactual(scorer, cid, bounds=tight, interim_dir=twin["interim"])
    assert not cf.feasible
    assert cf.changes == {}
    assert cf.new_decision != "grant"
    assert "ne serait pas accordée" in cf.message
    json.dumps(cf.to_dict(), allow_nan=False)


def test_counterfactual_variants_get_the_serving_features_of_the_client(
    twin: dict[str, Any],
) -> None:
    cid = int(twin["X"].index[3])
    history, levels = _history(cid, twin["interim"])
    application = lookup_applications([cid], twin["interim"])
    variant = _assemble(application, history, levels).reset_index(drop=True)
    served = features_for_clients([cid], twin["interim"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(variant, served[variant.columns], check_index_type=False)


# --------------------------------------------------------------------------- precomputed batch


def test_precomputed_lookup_equals_the_on_demand_explanation(
    twin: dict[str, Any], tmp_path: Path
) -> None:
    explainer, production = twin["explainer"], twin["production"]
    store = tmp_path / "explanations.parquet"
    precompute_explanations(explainer, production, store, batch_rows=50)
    for cid in production.index[[0, 7, len(production) - 1]]:
        on_demand = explainer.explain(production.loc[[cid]], top=5)[0]
        looked_up = load_explanation(int(cid), store, top=5)
        assert looked_up is not None
        assert looked_up.reasons == on_demand.reasons
        assert looked_up.base_value == pytest.approx(on_demand.base_value)
        got = np.array([looked_up.contributions[f] for f in explainer.features])
        want = np.array([on_demand.contributions[f] for f in explainer.features])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert load_explanation(-1, store) is None


# --------------------------------------------------------------------------- the stage


@pytest.fixture(scope="module")
def stage_run(twin: dict[str, Any]) -> dict[str, Any]:
    """The explain stage on the small twin, without test predictions (fairness in-sample)."""
    root = twin["root"] / "stage"
    params = {
        "sample_rows": 150,
        "top_features": 8,
        "latency_clients": 5,
        "fairness": {"tradeoff_rows": 0, "min_group_size": 5},
    }
    summary = run_explain(
        params,
        scorer=twin["scorer"],
        features_dir=twin["root"] / "features",
        models_dir=root / "no-models",
        interim_dir=twin["interim"],
        out_dir=root / "explain",
        metrics_dir=root / "metrics",
        logs_dir=root / "logs",
    )
    return {"root": root, "summary": summary}


def test_explain_stage_writes_the_outputs_the_report_reads(
    twin: dict[str, Any], stage_run: dict[str, Any]
) -> None:
    import matplotlib.pyplot as plt

    from credit_scoring.explain import load_report

    root, summary = stage_run["root"], stage_run["summary"]
    written = json.loads((root / "explain" / "summary.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(summary))
    assert len(written["top_features"]) == 8
    assert {"stability", "fairness", "examples", "production"} <= set(written)
    assert written["fairness"]["sensitive_features_in_model"] == ["CODE_GENDER"]
    assert "in-sample" in written["fairness"]["source"]  # no test predictions given
    report = load_report(root / "explain")
    for decision_name in report.examples:
        assert report.example_markdown(decision_name).startswith("**Client ")
    plt.close(report.plot_beeswarm(5))
    assert load_explanation(
        int(twin["production"].index[0]), root / "explain" / "explanations.parquet"
    )


def test_explain_metrics_are_a_few_flat_numbers(stage_run: dict[str, Any]) -> None:
    from credit_scoring.explain.stage import HEADLINE_KEYS

    root = stage_run["root"]
    metrics = json.loads((root / "metrics" / "explain.json").read_text(encoding="utf-8"))
    assert set(metrics) <= set(HEADLINE_KEYS) and len(metrics) <= 8
    assert all(type(v) in (int, float) for v in metrics.values()), metrics
    # SHAP values add up to the log-odds: the check is exact up to float noise.
    assert metrics["shap_additivity_max_error"] < 1e-6
    assert 0 < metrics["top1_share"] <= metrics["top3_share"] <= 1
    assert metrics["gender_refusal_gap"] == pytest.approx(
        stage_run["summary"]["fairness"]["gaps"]["gender"]["refusal_rate"]["difference"], abs=1e-4
    )


def test_explain_outputs_hold_no_duration_version_or_path(stage_run: dict[str, Any]) -> None:
    # DVC hashes every one of these files: what changes from run to run has no place in them.
    root = stage_run["root"]
    written = [*(root / "explain").rglob("*.json"), root / "metrics" / "explain.json"]
    assert {p.name for p in written} >= {"summary.json", "examples.json", "explain.json"}
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert not json_keys(json.loads(text)) & {"seconds", "latency", "model_version"}, path
        assert str(root) not in text and "unregistered" not in text, path
    for path in (root / "explain").glob("*.csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert "seconds" not in header and "latency" not in header, path


def test_explain_stage_logs_latency_durations_and_version(stage_run: dict[str, Any]) -> None:
    from credit_scoring import runlog

    logged = runlog.read("explain", stage_run["root"] / "logs")
    assert logged["model_version"] == "unregistered"
    assert logged["latency"]["clients"] == 5 and "p50_ms" in logged["latency"]["on_demand"]
    assert {"global", "examples", "total"} <= set(logged["seconds"])
