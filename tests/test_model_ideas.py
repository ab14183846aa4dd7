"""The label-dependent ideas of tests/benchmarks/model_ideas.py never read a row's own label."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"


@pytest.fixture(scope="module")
def ideas():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("model_ideas", BENCHMARKS / "model_ideas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def clients() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["EXT_SOURCE_2", "EXT_SOURCE_3"])
    y = (X["EXT_SOURCE_2"] + rng.normal(size=300) > 1.0).to_numpy().astype(np.int64)
    return X, y


def test_cross_fitted_neighbours_rate_ignores_each_rows_own_label(ideas, clients):
    X, y = clients
    before = ideas.cross_fitted_rate(X, y, k=25)
    for i in range(0, len(y), 15):
        flipped = y.copy()
        flipped[i] = 1 - flipped[i]
        assert ideas.cross_fitted_rate(X, flipped, k=25)[i] == before[i]


def test_in_sample_neighbours_rate_would_leak(ideas, clients):
    # The control: a rate among all rows counts the row itself, so flipping its label moves it.
    X, y = clients
    before = ideas.neighbours_rate(X, y, X, k=25)
    flipped = y.copy()
    flipped[0] = 1 - flipped[0]
    assert ideas.neighbours_rate(X, flipped, X, k=25)[0] != before[0]


def test_record_evidence_ignores_each_clients_own_label(ideas):
    rng = np.random.default_rng(5)
    ids = np.arange(100, 260)
    owners = rng.choice(ids, size=900)
    risk = pd.Series(rng.normal(size=len(ids)), index=ids)
    records = pd.DataFrame(
        {"SK_ID_CURR": owners, "late": risk.loc[owners].to_numpy() + rng.normal(size=900)}
    )
    target = pd.Series((risk > 0.8).astype(np.int64), index=ids)
    fit_ids, apply_ids = ids[:120], ids[120:]

    def evidence(labels: pd.Series) -> pd.DataFrame:
        return ideas.record_evidence(records, labels, fit_ids, apply_ids, seed=0, n_jobs=1)

    before = evidence(target)
    for client in (*fit_ids[::20], *apply_ids[::10]):
        flipped = target.copy()
        flipped.loc[client] = 1 - flipped.loc[client]
        after = evidence(flipped)
        # The base rate moves with any fit label; the log-odds of the client's own records
        # (count, max and mean relative to it) must not move with its own.
        shift = np.log(flipped.loc[fit_ids].mean() / (1 - flipped.loc[fit_ids].mean())) - np.log(
            target.loc[fit_ids].mean() / (1 - target.loc[fit_ids].mean())
        )
        if client in before.index:
            assert after.loc[client, "max"] + shift == pytest.approx(before.loc[client, "max"])
