"""Fairness audit: rates and gaps by group, age bands, the attribute's trade-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from credit_scoring.fairness import (
    age_band,
    attribute_tradeoff,
    audit,
    sensitive_features_in,
)

# Eight clients, threshold 0.5. Women: refused 1, 2, 3 (of 4); men: refused 6 (of 4).
Y = np.array([1, 1, 0, 0, 1, 0, 0, 1])
P = np.array([0.9, 0.2, 0.7, 0.6, 0.1, 0.8, 0.3, 0.4])
GENDER = pd.Series(["femmes"] * 4 + ["hommes"] * 4)


def _by_group(result, attribute: str) -> pd.DataFrame:
    rates = result.rates
    return rates[rates["attribut"] == attribute].set_index("groupe")


def test_rates_by_group_equal_hand_computed_ones() -> None:
    result = audit(Y, P, threshold=0.5, sensitive={"gender": GENDER})
    rates = _by_group(result, "gender")
    # women: refused {0, 2, 3}; defaults {0, 1}: FN = {1} of 2; goods {2, 3}: FP 2 of 2
    assert rates.loc["femmes", "refusal_rate"] == pytest.approx(3 / 4)
    assert rates.loc["femmes", "false_negative_rate"] == pytest.approx(1 / 2)
    assert rates.loc["femmes", "false_positive_rate"] == pytest.approx(2 / 2)
    # men: refused {5}; defaults {4, 7}: both missed; goods {5, 6}: FP 1 of 2
    assert rates.loc["hommes", "refusal_rate"] == pytest.approx(1 / 4)
    assert rates.loc["hommes", "false_negative_rate"] == pytest.approx(2 / 2)
    assert rates.loc["hommes", "false_positive_rate"] == pytest.approx(1 / 2)
    assert rates.loc["femmes", "default_rate"] == pytest.approx(2 / 4)
    assert rates["clients"].tolist() == [4, 4]
    assert result.overall["refusal_rate"] == pytest.approx(4 / 8)


def test_gaps_are_max_minus_min_and_min_over_max() -> None:
    gaps = audit(Y, P, threshold=0.5, sensitive={"gender": GENDER}).gaps.set_index("taux")
    assert gaps.loc["refusal_rate", "difference"] == pytest.approx(3 / 4 - 1 / 4)
    assert gaps.loc["refusal_rate", "ratio"] == pytest.approx((1 / 4) / (3 / 4))
    assert gaps.loc["refusal_rate", "highest"] == "femmes"
    assert gaps.loc["false_negative_rate", "highest"] == "hommes"


def test_a_client_refused_at_exactly_the_threshold_counts_as_refused() -> None:
    result = audit([0, 0], [0.5, 0.49], threshold=0.5, sensitive={"g": pd.Series(["a", "a"])})
    assert result.overall["refusal_rate"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "age, band",
    [
        (18.0, "moins de 30 ans"),
        (29.99, "moins de 30 ans"),
        (30.0, "30-39 ans"),
        (49.5, "40-49 ans"),
        (60.0, "60 ans et plus"),
        (70.0, "60 ans et plus"),
    ],
)
def test_age_bands_start_at_their_lower_edge(age: float, band: str) -> None:
    assert age_band([age])[0] == band


def test_age_bands_keep_their_order_in_the_rates_table() -> None:
    ages = age_band([65, 25, 45, 35, 55, 25, 65, 45])
    rates = _by_group(audit(Y, P, 0.5, {"age_band": pd.Series(ages)}), "age_band")
    assert list(rates.index) == [c for c in ages.categories if c in set(ages)]


def test_small_and_unknown_groups_are_left_out_of_the_gaps() -> None:
    groups = pd.Series(["a"] * 4 + ["b"] * 3 + [None])
    result = audit(Y, P, threshold=0.5, sensitive={"g": groups}, min_group_size=4)
    assert set(result.rates["groupe"]) == {"a", "b"}  # shown...
    assert set(result.gaps["highest"]) | set(result.gaps["lowest"]) == {"a"}  # ...not compared
    assert result.excluded["g"] == 3 + 1


def test_gender_derived_features_are_detected_in_the_model() -> None:
    assert sensitive_features_in(["AGE_YEARS", "CODE_GENDER", "GENDER_X_INCOME"]) == [
        "CODE_GENDER",
        "GENDER_X_INCOME",
    ]
    assert sensitive_features_in(["AGE_YEARS", "AMT_CREDIT"]) == []


def test_tradeoff_measures_the_signal_lost_without_the_attribute() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    gender = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 2.5 * gender + 0.5 * x)))).astype(int)
    X = pd.DataFrame({"x": x, "CODE_GENDER": gender.astype(float)})
    table = attribute_tradeoff(
        LogisticRegression(), X, y, ["CODE_GENDER"], pd.Series(gender), folds=3, seed=0
    )
    assert list(table.index) == ["avec l'attribut", "sans l'attribut"]
    assert table.loc["avec l'attribut", "auc"] > table.loc["sans l'attribut", "auc"] + 0.1
    assert table.loc["avec l'attribut", "refusal_gap"] > table.loc["sans l'attribut", "refusal_gap"]
