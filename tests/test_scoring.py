"""The decision contract (risk score, decision band) and the Scorer, down to the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_scoring.scoring import (
    DEFAULT_POINTS_TO_DOUBLE_ODDS,
    Scorer,
    ScoreResult,
    decision,
    probability_from_score,
    risk_score,
)

thresholds = st.floats(min_value=0.001, max_value=0.999)
probabilities = st.floats(min_value=0.0, max_value=1.0)
scales = st.floats(min_value=5.0, max_value=40.0)


def odds(p: float) -> float:
    return p / (1 - p)


# --------------------------------------------------------------------------- risk score


@given(thresholds, scales, probabilities, probabilities)
def test_risk_score_is_monotone_in_the_probability(
    t: float, pdo: float, p1: float, p2: float
) -> None:
    low, high = sorted((p1, p2))
    s_low, s_high = risk_score(low, t, pdo), risk_score(high, t, pdo)
    assert s_low <= s_high
    if high - low > 1e-9 and s_low > 0.0 and s_high < 100.0:  # strict until the clip
        assert s_low < s_high


@given(thresholds, scales)
def test_risk_score_puts_the_threshold_at_50_and_spans_0_to_100(t: float, pdo: float) -> None:
    assert risk_score(t, t, pdo) == 50.0
    assert risk_score(0.0, t, pdo) == 0.0
    assert risk_score(1.0, t, pdo) == 100.0


@given(thresholds, scales, st.floats(min_value=0.01, max_value=0.99))
def test_every_pdo_points_the_odds_double(t: float, pdo: float, p: float) -> None:
    doubled = 2 * odds(p) / (1 + 2 * odds(p))
    s, s_doubled = risk_score(p, t, pdo), risk_score(doubled, t, pdo)
    if s > 0.0 and s_doubled < 100.0:
        assert s_doubled - s == pytest.approx(pdo, abs=1e-6)


@given(thresholds, scales, st.floats(min_value=0.0, max_value=50.0))
def test_a_symmetric_band_is_symmetric_in_odds_around_the_threshold(
    t: float, pdo: float, w: float
) -> None:
    low, high = probability_from_score(50 - w, t, pdo), probability_from_score(50 + w, t, pdo)
    assert odds(high) / odds(t) == pytest.approx(2 ** (w / pdo), rel=1e-6)
    assert odds(t) / odds(low) == pytest.approx(2 ** (w / pdo), rel=1e-6)


@given(thresholds, scales, st.floats(min_value=0.0, max_value=100.0))
def test_probability_from_score_inverts_risk_score(t: float, pdo: float, s: float) -> None:
    assert risk_score(probability_from_score(s, t, pdo), t, pdo) == pytest.approx(s, abs=1e-6)


def test_probability_from_score_gives_the_clip_edges_at_0_and_100() -> None:
    t, pdo = 0.1, 10.0
    edge_low, edge_high = probability_from_score(0, t, pdo), probability_from_score(100, t, pdo)
    assert 0.0 < edge_low < t < edge_high < 1.0
    assert risk_score(edge_low * 1.001, t, pdo) > 0.0
    assert risk_score(edge_high * 0.999, t, pdo) < 100.0


def test_more_points_to_double_the_odds_spread_the_scores_from_50() -> None:
    p = np.array([0.05, 0.08, 0.12, 0.2])
    narrow, wide = risk_score(p, 0.1, 10.0), risk_score(p, 0.1, 20.0)
    np.testing.assert_allclose(wide - 50, 2 * (narrow - 50))


def test_the_default_scale_doubles_the_odds_every_10_points() -> None:
    assert DEFAULT_POINTS_TO_DOUBLE_ODDS == 10.0
    assert risk_score(0.5, 1 / 3) == pytest.approx(60.0)  # odds 1/2 -> 1


def test_at_threshold_1_nobody_is_refused() -> None:
    scores = risk_score(np.linspace(0, 1, 101), 1.0)
    assert np.all(np.diff(scores) >= 0)
    assert scores[-1] == 50.0 and np.all(scores[:-1] < 50.0)
    assert "refuse" not in {decision(s) for s in scores}


def test_risk_score_refuses_an_impossible_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        risk_score(0.3, 0.0)


@pytest.mark.parametrize("pdo", [0.0, -5.0, float("nan"), float("inf")])
def test_the_scale_needs_a_positive_number_of_points(pdo: float) -> None:
    with pytest.raises(ValueError, match=r"points_to_double_odds must be .* above 0"):
        risk_score(0.3, 0.1, pdo)
    with pytest.raises(ValueError, match="points_to_double_odds"):
        probability_from_score(50, 0.1, pdo)
    with pytest.raises(ValueError, match="points_to_double_odds"):
        Scorer(HalfOfX(), threshold=0.1, points_to_double_odds=pdo, features=["p"])


# --------------------------------------------------------------------------- decision


@pytest.mark.parametrize(
    "score, expected",
    [
        (0, "grant"),
        (44.999, "grant"),
        (45, "review"),
        (50, "review"),
        (55, "review"),
        (55.001, "refuse"),
        (100, "refuse"),
    ],
)
def test_decision_band_edges(score: float, expected: str) -> None:
    assert decision(score, band=(45, 55)) == expected


def test_decision_band_is_a_parameter() -> None:
    assert decision(58, band=(40, 60)) == "review"
    assert decision(58, band=(45, 55)) == "refuse"
    with pytest.raises(ValueError, match="band"):
        decision(50, band=(60, 40))


def test_the_threshold_itself_goes_to_the_advisor() -> None:
    assert decision(risk_score(0.09, 0.09)) == "review"


# --------------------------------------------------------------------------- Scorer


class HalfOfX:
    """A stand-in model: probability = column ``p``; records what it was given."""

    def __init__(self) -> None:
        self.seen: list[pd.DataFrame] = []

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.seen.append(X)
        return np.column_stack([1 - X["p"], X["p"]])


def test_score_result_is_json_ready() -> None:
    result = ScoreResult(1, 0.1, 55.0, "review", 0.09, (45.0, 55.0), "credit-scoring/2")
    out = json.loads(json.dumps(result.to_dict()))
    assert out["decision"] == "review"
    assert out["reasons"] == []
    assert set(out) == {
        "client_id",
        "probability_default",
        "risk_score",
        "decision",
        "threshold",
        "review_band",
        "model_version",
        "reasons",
    }


def test_scorer_passes_only_its_features_in_training_order() -> None:
    model = HalfOfX()
    scorer = Scorer(model, threshold=0.1, features=["p", "q"])
    frame = pd.DataFrame(
        {"q": [1.0], "extra": ["x"], "p": [0.1]}, index=pd.Index([7], name="SK_ID_CURR")
    )
    [result] = scorer.score_features(frame)
    assert list(model.seen[0].columns) == ["p", "q"]
    assert (result.client_id, result.risk_score, result.decision) == (7, 50.0, "review")


def test_scorer_scores_on_its_own_scale() -> None:
    scorer = Scorer(HalfOfX(), threshold=0.1, points_to_double_odds=20.0, features=["p"])
    p = np.array([0.02, 0.1, 0.3])
    np.testing.assert_allclose(scorer.risk_score(p), risk_score(p, 0.1, 20.0))
    [result] = scorer.score_features(pd.DataFrame({"p": [0.3]}))
    assert result.risk_score == pytest.approx(risk_score(0.3, 0.1, 20.0))
    assert result.risk_score != pytest.approx(risk_score(0.3, 0.1))


def test_scorer_takes_the_default_scale_unless_told() -> None:
    scorer = Scorer(HalfOfX(), threshold=0.1, features=["p"])
    assert scorer.points_to_double_odds == DEFAULT_POINTS_TO_DOUBLE_ODDS


def test_scorer_from_a_contract_without_a_scale_takes_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    contract = {"threshold": 0.1, "review_band": [45.0, 55.0], "features": ["p"]}
    loaded = SimpleNamespace(model=HalfOfX(), version=1, contract=contract)
    monkeypatch.setattr("credit_scoring.modelling.registry.load_registered", lambda *a, **k: loaded)
    assert Scorer.from_registry().points_to_double_odds == DEFAULT_POINTS_TO_DOUBLE_ODDS


def test_scorer_never_fills_a_missing_feature() -> None:
    scorer = Scorer(HalfOfX(), threshold=0.1, features=["p", "q"])
    with pytest.raises(KeyError, match="q"):
        scorer.score_features(pd.DataFrame({"p": [0.2]}))


def test_score_clients_uses_the_serving_features(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[int], Any]] = []

    def fake_features(ids: list[int], applications: Any = None) -> pd.DataFrame:
        calls.append((list(ids), applications))
        index = pd.Index(ids, name="SK_ID_CURR")
        return pd.DataFrame({"p": [0.01 * i for i in range(1, len(ids) + 1)]}, index=index)

    monkeypatch.setattr("credit_scoring.features.features_for_clients", fake_features)
    scorer = Scorer(HalfOfX(), threshold=0.02, features=["p"])
    results = scorer.score_clients([30, 10])
    assert calls == [([30, 10], None)]
    assert [(r.client_id, r.decision) for r in results] == [(30, "grant"), (10, "review")]

    application = pd.DataFrame({"AMT_CREDIT": [1000.0]})
    result = scorer.score_application(application, client_id=55)
    ids, posted = calls[-1]
    assert ids == [55] and posted["SK_ID_CURR"].tolist() == [55]
    assert result.client_id == 55


# --------------------------------------------------------------------------- registry round trip


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X["kind"] = pd.Categorical(rng.choice(["u", "v"], n))
    X.loc[::9, "b"] = np.nan
    y = (rng.random(n) < 1 / (1 + np.exp(2.2 - 1.5 * X["a"]))).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny calibrated champion registered twice in a temporary SQLite store."""
    import mlflow

    from credit_scoring.modelling import registry
    from credit_scoring.modelling.calibration import fit_calibrated
    from credit_scoring.modelling.zoo import build_pipeline

    mlflow_dir: Path = tmp_path_factory.mktemp("mlflow")
    X, y = _frame(600, seed=0)
    fit = fit_calibrated(build_pipeline("logreg", "none", y), X, y, method="sigmoid", folds=3)
    registry.configure(mlflow_dir)
    experiment = registry.experiment_id("test-scoring", mlflow_dir)
    versions = []
    for threshold in (0.2, 0.15):  # the second registration must take the alias
        contract = {
            "threshold": threshold,
            "review_band": [40.0, 60.0],
            "points_to_double_odds": 20.0,
            "features": ["a", "b", "kind"],
        }
        with mlflow.start_run(experiment_id=experiment):
            info = registry.log_model(fit.model, X.head(5), contract)
        versions.append(
            registry.register(info.model_uri, "credit-scoring", tags={"threshold": threshold})
        )
    return {"uri": registry.tracking_uri(mlflow_dir), "model": fit.model, "versions": versions}


def test_scorer_from_registry_loads_the_champion_and_its_contract(
    registered: dict[str, Any],
) -> None:
    scorer = Scorer.from_registry(tracking_uri=registered["uri"])
    assert scorer.model_version == f"credit-scoring/{registered['versions'][-1]}"
    assert scorer.threshold == 0.15
    assert scorer.review_band == (40.0, 60.0)
    assert scorer.points_to_double_odds == 20.0
    assert scorer.features == ["a", "b", "kind"]


def test_scorer_from_registry_returns_the_logged_probabilities(registered: dict[str, Any]) -> None:
    scorer = Scorer.from_registry(tracking_uri=registered["uri"])
    X, _ = _frame(20, seed=1)
    expected = registered["model"].predict_proba(X)[:, 1]
    results = scorer.score_features(X.assign(SK_ID_CURR=range(20)))
    got = np.array([r.probability_default for r in results])
    np.testing.assert_allclose(got, expected)
    assert len({round(p, 6) for p in got}) > 2  # probabilities, not 0/1 labels
    for r in results:
        assert r.risk_score == pytest.approx(risk_score(r.probability_default, 0.15, 20.0))
        assert r.decision == decision(r.risk_score, (40, 60))


def test_scorer_from_registry_says_when_no_champion_exists(registered: dict[str, Any]) -> None:
    with pytest.raises(LookupError, match="train stage"):
        Scorer.from_registry(name="no-such-model", tracking_uri=registered["uri"])


@pytest.mark.parametrize("blended", [True, False])
def test_served_rows_score_as_the_feature_table(blended: bool) -> None:
    from sklearn.linear_model import LogisticRegression

    from credit_scoring.features.serving import FeatureRows
    from credit_scoring.modelling.blend import MemberSpec, fit_blend

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"a": rng.normal(size=400), "c": pd.Categorical(rng.choice(["u", "v"], 400))},
        index=pd.Index(np.arange(1, 401), name="SK_ID_CURR"),
    )
    y = ((frame["a"] > 0.3) ^ (rng.random(400) < 0.2)).astype(int).to_numpy()
    if blended:
        specs = [MemberSpec("lightgbm", "none", {}), MemberSpec("xgboost", "none", {})]
        model = fit_blend(specs, frame, y, folds=2, max_trees=40, tree_step=20).model
    else:  # any other model: the rows as a data frame
        model = LogisticRegression().fit(frame[["a"]].assign(c=frame["c"].cat.codes), y)
        frame = frame.assign(c=frame["c"].cat.codes.astype(float))
    scorer = Scorer(model, threshold=0.3, features=["a", "c"])
    rows = FeatureRows.from_frame(frame, {"c": ("u", "v")} if blended else {})
    np.testing.assert_array_equal(scorer.predict_proba_rows(rows), scorer.predict_proba(frame))
