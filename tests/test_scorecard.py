"""The scorecard challenger: binning, selection, logistic regression on the WoE, points."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from credit_scoring.modelling.scorecard import (
    BASE_POINTS,
    BinnedFeature,
    Scorecard,
    binning_process,
    fit_scorecard,
)

CANDIDATES = ["retards", "contrat", "bruit"]
THRESHOLD = 0.15


def synthetic_clients(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A number whose risk rises (with gaps), a category, pure noise; about 12 % defaults."""
    rng = np.random.default_rng(seed)
    retards = rng.normal(size=n)
    contrat = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    logit = -2.3 + 0.9 * retards + pd.Series(contrat).map({"a": -0.6, "b": 0.0, "c": 0.4, "d": 0.9})
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit.to_numpy()))).astype(np.int64)
    X = pd.DataFrame(
        {
            "retards": np.where(rng.random(n) < 0.15, np.nan, retards),
            "contrat": pd.Categorical(contrat, categories=["a", "b", "c", "d"]),
            "bruit": rng.normal(size=n),
        }
    )
    X.loc[rng.random(n) < 0.05, "contrat"] = np.nan
    return X, y


@pytest.fixture(scope="module")
def clients() -> tuple[pd.DataFrame, np.ndarray]:
    return synthetic_clients()


@pytest.fixture(scope="module")
def card(clients: tuple[pd.DataFrame, np.ndarray]) -> Scorecard:
    X, y = clients
    return fit_scorecard(X, y, candidates=CANDIDATES)


def logit(p: float | np.ndarray) -> float | np.ndarray:
    return np.log(p / (1.0 - p))


# --------------------------------------------------------------------------- fit


def test_log_odds_equal_optbinning_woe_through_a_logistic_regression(
    clients: tuple[pd.DataFrame, np.ndarray], card: Scorecard
) -> None:
    X, y = clients
    # An independent path: optbinning's own transform, scikit-learn's default solver.
    process = binning_process(CANDIDATES, categorical=["contrat"]).fit(X[CANDIDATES], y)
    woe = process.transform(X[CANDIDATES], metric="woe", metric_missing="empirical")
    selected = woe[list(card.names)].to_numpy()
    model = LogisticRegression(tol=1e-10, max_iter=1000).fit(selected, y)
    np.testing.assert_allclose(card.log_odds(X), model.decision_function(selected), atol=1e-5)


def test_the_uninformative_feature_is_dropped_and_the_informative_ones_kept(
    card: Scorecard,
) -> None:
    assert set(card.names) == {"retards", "contrat"}


def test_features_come_by_decreasing_information_value(card: Scorecard) -> None:
    ivs = [feature.iv for feature in card.features]
    assert ivs == sorted(ivs, reverse=True)


def test_a_near_copy_of_a_kept_feature_is_left_out(
    clients: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = clients
    X = X.assign(copie=X["retards"] + np.random.default_rng(1).normal(scale=0.01, size=len(X)))
    card = fit_scorecard(X, y, candidates=["retards", "copie"], max_correlation=0.8)
    assert len(card.names) == 1


def test_a_feature_whose_coefficient_would_contradict_its_bins_is_left_out() -> None:
    # "masque" raises the risk on its own (it follows "revenu") but lowers it once "revenu"
    # is known: in the regression its WoE would get a positive coefficient.
    rng = np.random.default_rng(2)
    n = 8000
    revenu = rng.normal(size=n)
    masque = revenu + rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-(-2.0 + 2.0 * revenu - 0.8 * masque)))
    y = (rng.random(n) < p).astype(int)
    X = pd.DataFrame({"revenu": revenu, "masque": masque})
    card = fit_scorecard(X, y, candidates=["revenu", "masque"], max_correlation=None)
    assert card.names == ("revenu",)
    assert all(feature.coefficient < 0 for feature in card.features)


def test_an_empty_candidate_column_is_left_out(clients: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = clients
    card = fit_scorecard(X.assign(vide=np.nan), y, candidates=["retards", "vide"])
    assert card.names == ("retards",)


def test_two_fits_give_the_same_scorecard(clients: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = clients
    first = fit_scorecard(X, y, candidates=CANDIDATES)
    second = fit_scorecard(X, y, candidates=CANDIDATES)
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())


def test_a_candidate_absent_from_the_features_raises_naming_it(
    clients: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = clients
    with pytest.raises(ValueError, match="revenu_inconnu"):
        fit_scorecard(X, y, candidates=["retards", "revenu_inconnu"])


def test_a_target_that_is_not_zero_or_one_raises(
    clients: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = clients
    with pytest.raises(ValueError, match=r"0 \(repaid\) or 1 \(default\)"):
        fit_scorecard(X, np.where(y == 1, 2, 0), candidates=CANDIDATES)


# --------------------------------------------------------------------------- points and score


def test_points_of_a_client_sum_to_his_total_points(
    clients: tuple[pd.DataFrame, np.ndarray], card: Scorecard
) -> None:
    X, _ = clients
    points = card.points(X, threshold=THRESHOLD)
    total = 50 + 10 / math.log(2) * (card.log_odds(X) - logit(THRESHOLD))
    assert list(points.columns) == [BASE_POINTS, *card.names]
    np.testing.assert_allclose(points.sum(axis=1), total, rtol=0, atol=1e-9)


def test_score_is_the_risk_score_formula_on_the_probability(
    clients: tuple[pd.DataFrame, np.ndarray], card: Scorecard
) -> None:
    X, _ = clients
    p = card.predict_proba(X)[:, 1]
    expected = np.clip(50 + 20 / np.log(2) * (logit(p) - logit(THRESHOLD)), 0, 100)
    score = card.score(X, threshold=THRESHOLD, points_to_double_odds=20)
    np.testing.assert_allclose(score, expected, rtol=0, atol=1e-9)


def test_more_of_a_risk_raising_feature_never_gives_fewer_points(card: Scorecard) -> None:
    X = pd.DataFrame({"retards": np.linspace(-3, 3, 61), "contrat": "b", "bruit": 0.0})
    points = card.points(X, threshold=THRESHOLD)["retards"].to_numpy()
    assert np.all(np.diff(points) >= 0)
    assert points[-1] > points[0]


def test_an_unseen_category_is_scored_as_a_missing_value(card: Scorecard) -> None:
    X = pd.DataFrame({"retards": [0.5, 0.5], "contrat": ["jamais vue", None], "bruit": 0.0})
    log_odds = card.log_odds(X)
    assert log_odds[0] == log_odds[1]


def test_the_table_gives_each_client_the_points_of_his_bin(
    clients: tuple[pd.DataFrame, np.ndarray], card: Scorecard
) -> None:
    X, _ = clients
    table = card.table(threshold=THRESHOLD)
    points = card.points(X, threshold=THRESHOLD)
    assert table["points"].iloc[0] == pytest.approx(points[BASE_POINTS].iloc[0])
    for feature in card.features:
        bins = table.loc[table["variable"] == feature.name, "points"].to_numpy()
        np.testing.assert_allclose(points[feature.name], bins[feature.bin_index(X[feature.name])])


def test_the_table_shares_of_clients_of_a_feature_add_up_to_one(card: Scorecard) -> None:
    table = card.table(threshold=THRESHOLD)
    shares = table[table["variable"] != BASE_POINTS].groupby("variable")["clients"].sum()
    np.testing.assert_allclose(shares, 1.0)


def test_numeric_bins_read_the_french_way() -> None:
    feature = BinnedFeature(
        "x", "numeric", splits=(0.35, 0.52), woe=(0.0,) * 4, count=(1,) * 4, defaults=(0,) * 4
    )
    assert feature.labels() == ["< 0,35", "[0,35 ; 0,52[", "≥ 0,52", "manquant"]


def test_category_groups_read_the_french_way() -> None:
    feature = BinnedFeature(
        "x",
        "categorical",
        groups=(("A", "B"), ("C",)),
        woe=(0.0,) * 3,
        count=(1,) * 3,
        defaults=(0,) * 3,
    )
    assert feature.labels() == [
        "catégories : A, B",
        "catégorie : C",
        "manquant ou catégorie inconnue",
    ]


# --------------------------------------------------------------------------- persistence


def test_a_scorecard_read_back_from_json_scores_identically(
    clients: tuple[pd.DataFrame, np.ndarray], card: Scorecard
) -> None:
    X, _ = clients
    again = Scorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    np.testing.assert_array_equal(again.log_odds(X), card.log_odds(X))


def test_an_unknown_format_version_is_refused(card: Scorecard) -> None:
    data = {**card.to_dict(), "format_version": 99}
    with pytest.raises(ValueError, match="format 99"):
        Scorecard.from_dict(data)
