"""The review band's workload and cost: shares, the three advisor policies, the sweep."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from credit_scoring.modelling.band import (
    band_policies,
    band_sweep,
    band_table,
    plot_band_sweep,
)
from credit_scoring.modelling.cost import cost_per_client
from credit_scoring.scoring import probability_from_score

PDO = 10.0


def _sample(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated by construction: each label drawn with its own probability."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-2.4, 1.0, n)))
    y = (rng.random(n) < p).astype(int)
    return y, p


# Threshold 0.2: the band 45-55 covers 15.0 % to 26.1 %. Client 0 is granted, client 3
# refused; clients 1 (0.16, defaults) and 2 (0.25, repays) go to the advisors.
Y_HAND = [0, 1, 0, 1]
P_HAND = [0.05, 0.16, 0.25, 0.5]


def test_the_three_shares_sum_to_one() -> None:
    y, p = _sample()
    f = band_policies(y, p, threshold=0.09, points_to_double_odds=PDO)
    assert f["share_granted"] + f["share_review"] + f["share_refused"] == pytest.approx(1.0)
    assert 0 < f["share_review"] < 1


@pytest.mark.parametrize("threshold", [0.05, 0.09, 0.2])
def test_following_the_threshold_costs_what_thresholding_at_t_costs(threshold: float) -> None:
    y, p = _sample()
    f = band_policies(y, p, threshold=threshold, points_to_double_odds=PDO, cost_fn=10, cost_fp=1)
    direct = cost_per_client(y, p > threshold, cost_fn=10, cost_fp=1)
    assert f["cost_follow_threshold"] == pytest.approx(direct)


def test_hand_example_costs_per_policy() -> None:
    f = band_policies(Y_HAND, P_HAND, threshold=0.2, points_to_double_odds=PDO)
    assert f["cost_grant_all"] == pytest.approx(10 / 4)  # the default at 0.16 granted
    assert f["cost_refuse_all"] == pytest.approx(1 / 4)  # the good client at 0.25 refused
    assert f["cost_follow_threshold"] == pytest.approx(11 / 4)  # both mistakes


def test_hand_example_shares_and_default_rate_in_the_band() -> None:
    f = band_policies(Y_HAND, P_HAND, threshold=0.2, points_to_double_odds=PDO)
    assert (f["share_granted"], f["share_review"], f["share_refused"]) == (0.25, 0.5, 0.25)
    assert f["n_review"] == 2
    assert f["default_rate_review"] == 0.5


def test_a_band_of_defaulters_is_cheapest_refused_and_a_band_of_good_clients_granted() -> None:
    p = [0.05, 0.16, 0.18, 0.5]
    defaulters = band_policies([0, 1, 1, 1], p, threshold=0.2, points_to_double_odds=PDO)
    good = band_policies([0, 0, 0, 1], p, threshold=0.2, points_to_double_odds=PDO)
    assert defaulters["cost_refuse_all"] < defaulters["cost_grant_all"]
    assert good["cost_grant_all"] < good["cost_refuse_all"]


def test_grant_all_minus_refuse_all_is_the_band_defaults_against_its_good_clients() -> None:
    y, p = _sample()
    t, cost_fn, cost_fp = 0.09, 10.0, 1.0
    f = band_policies(
        y, p, threshold=t, points_to_double_odds=PDO, cost_fn=cost_fn, cost_fp=cost_fp
    )
    inside = (p >= f["p_low"]) & (p <= f["p_high"])
    gap = (cost_fn * np.sum(y[inside] == 1) - cost_fp * np.sum(y[inside] == 0)) / len(y)
    assert f["cost_grant_all"] - f["cost_refuse_all"] == pytest.approx(gap)


def test_the_band_edges_are_the_probabilities_of_its_scores() -> None:
    f = band_policies(Y_HAND, P_HAND, threshold=0.2, band=(40, 55), points_to_double_odds=PDO)
    assert f["p_low"] == pytest.approx(probability_from_score(40, 0.2, PDO))
    assert f["p_high"] == pytest.approx(probability_from_score(55, 0.2, PDO))


def test_more_points_to_double_the_odds_send_fewer_clients_to_the_advisors() -> None:
    y, p = _sample()
    narrow = band_policies(y, p, threshold=0.09, points_to_double_odds=20.0)
    wide = band_policies(y, p, threshold=0.09, points_to_double_odds=5.0)
    assert narrow["share_review"] < wide["share_review"]


def test_an_empty_band_has_no_default_rate() -> None:
    f = band_policies([0, 1], [0.01, 0.9], threshold=0.2, points_to_double_odds=PDO)
    assert f["n_review"] == 0 and np.isnan(f["default_rate_review"])


# --------------------------------------------------------------------------- sweep


def test_sweep_has_one_band_50_plus_minus_w_per_half_width_in_order() -> None:
    y, p = _sample(300)
    sweep = band_sweep(y, p, threshold=0.09, points_to_double_odds=PDO, half_widths=[5, 0, 10])
    assert sweep["half_width"].tolist() == [5.0, 0.0, 10.0]
    assert sweep["low"].tolist() == [45.0, 50.0, 40.0]
    assert sweep["high"].tolist() == [55.0, 50.0, 60.0]


def test_sweep_row_equals_band_policies_of_the_same_band() -> None:
    y, p = _sample(300)
    sweep = band_sweep(y, p, threshold=0.09, points_to_double_odds=PDO, half_widths=[7.5])
    single = band_policies(y, p, threshold=0.09, band=(42.5, 57.5), points_to_double_odds=PDO)
    row = sweep.iloc[0]
    for key, value in single.items():
        assert row[key] == pytest.approx(value, nan_ok=True), key


def test_sweep_at_width_0_sends_almost_nobody_to_the_advisors() -> None:
    y, p = _sample()
    [row] = band_sweep(y, p, threshold=0.09, points_to_double_odds=PDO, half_widths=[0]).to_dict(
        "records"
    )
    assert row["share_review"] <= 1 / len(y)  # only a probability exactly at the threshold
    assert row["cost_grant_all"] == pytest.approx(row["cost_follow_threshold"])
    assert row["cost_refuse_all"] == pytest.approx(row["cost_follow_threshold"], abs=1 / len(y))


def test_sweep_workload_grows_with_the_width() -> None:
    y, p = _sample()
    sweep = band_sweep(y, p, threshold=0.09, points_to_double_odds=PDO)
    assert sweep["share_review"].is_monotonic_increasing
    assert sweep["share_review"].iloc[-1] > sweep["share_review"].iloc[0]


# --------------------------------------------------------------------------- report helpers


def test_band_table_has_french_columns_and_percentages_as_numbers() -> None:
    f = band_policies(Y_HAND, P_HAND, threshold=0.2, points_to_double_odds=PDO)
    row = band_table(f).iloc[0]
    assert row["Envoyés aux conseillers (%)"] == pytest.approx(50.0)
    assert row["Probabilité haute (%)"] == pytest.approx(100 * f["p_high"])
    assert row["Coût par client, les conseillers accordent tout"] == pytest.approx(2.5)


def test_plot_band_sweep_draws_the_workload_and_three_costs_with_french_labels() -> None:
    y, p = _sample(300)
    fig = plot_band_sweep(band_sweep(y, p, threshold=0.09, points_to_double_odds=PDO))
    load, cost = fig.axes
    assert len(load.get_lines()) == 1 and len(cost.get_lines()) == 3
    assert "conseillers" in load.get_ylabel() and "Coût" in cost.get_ylabel()
    assert "Demi-largeur" in load.get_xlabel() and fig.get_suptitle()
    plt.close(fig)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "y, p, match",
    [
        ([0, 1, 0], [0.1, 0.2], "same length"),
        ([], [], "empty"),
        ([0, 1], [0.1, 1.2], r"probabilities in \[0, 1\]"),
        ([0, 1], [0.1, float("nan")], r"probabilities in \[0, 1\]"),
        ([0, 2], [0.1, 0.2], "0/1 labels"),
        (["no", "yes"], [0.1, 0.2], "0/1 labels"),
    ],
)
def test_band_policies_names_the_bad_input(y: list, p: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        band_policies(y, p, threshold=0.1, points_to_double_odds=PDO)


@pytest.mark.parametrize(
    "band, match", [((55, 45), "low <= high"), ((45,), "low, high"), ((52, 60), "contain")]
)
def test_band_policies_refuses_an_invalid_band(band: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        band_policies(Y_HAND, P_HAND, threshold=0.2, band=band, points_to_double_odds=PDO)


def test_band_policies_refuses_a_negative_cost() -> None:
    with pytest.raises(ValueError, match="cost_fp"):
        band_policies(Y_HAND, P_HAND, threshold=0.2, points_to_double_odds=PDO, cost_fp=-1)


def test_band_policies_refuses_an_invalid_scale() -> None:
    with pytest.raises(ValueError, match="points_to_double_odds"):
        band_policies(Y_HAND, P_HAND, threshold=0.2, points_to_double_odds=0)


@pytest.mark.parametrize("half_widths", [[-1], [60], [], [float("nan")]])
def test_band_sweep_refuses_half_widths_outside_0_50(half_widths: list) -> None:
    with pytest.raises(ValueError, match="half_width"):
        band_sweep(
            Y_HAND, P_HAND, threshold=0.2, points_to_double_odds=PDO, half_widths=half_widths
        )


def test_band_table_says_where_its_figures_must_come_from() -> None:
    with pytest.raises(ValueError, match="band_policies or band_sweep"):
        band_table({"share_review": 0.5})
