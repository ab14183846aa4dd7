"""Feature engineering: cleaning, ratios, aggregates, dictionary, batch tables, serving equality."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import posted_history

from credit_scoring.data.ingest import find_kaggle_source, ingest
from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL, TABLES, TARGET
from credit_scoring.data.twin import TwinConfig, generate_twin
from credit_scoring.features import (
    application,
    build_feature_tables,
    build_features,
    category_levels,
    feature_dictionary,
    feature_groups,
    features_for_clients,
    rates,
    read_feature_table,
)
from credit_scoring.features import build as build_module
from credit_scoring.features.catalog import (
    GROUPS,
    SOURCES,
    TREND_CARD_MONTHS,
    TREND_INSTALMENTS,
    history_features,
)
from credit_scoring.features.serving import FeatureServer

NO_HISTORY_IDS = [990_001, 990_002, 990_003]


# --- hand-made tables ---------------------------------------------------------------------------


def _write(directory: Path, table: str, rows: list[dict]) -> None:
    """A table with the schema's columns and types; columns not given are missing (0 for ints)."""
    spec = TABLES[table]
    frame = pd.DataFrame(rows, columns=spec.column_names)
    arrow_types = {"int64": pa.int64(), "float64": pa.float64(), "object": pa.string()}
    for column in spec.columns:
        if column.dtype == "int64":
            frame[column.name] = frame[column.name].fillna(0).astype("int64")
        elif column.dtype == "float64":
            frame[column.name] = frame[column.name].astype("float64")
    schema = pa.schema([(c.name, arrow_types[c.dtype]) for c in spec.columns])
    pq.write_table(
        pa.Table.from_pandas(frame, schema=schema, preserve_index=False),
        directory / f"{table}.parquet",
    )


def _application(client: int, **values) -> dict:
    base = {
        CLIENT_ID: client,
        "CODE_GENDER": "F",
        "AMT_INCOME_TOTAL": 100_000.0,
        "AMT_CREDIT": 300_000.0,
        "AMT_ANNUITY": 20_000.0,
        "AMT_GOODS_PRICE": 250_000.0,
        "CNT_FAM_MEMBERS": 2.0,
        "DAYS_BIRTH": -36_525,
        "DAYS_EMPLOYED": -3_652,
    }
    return base | values


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A hand-made history: client 1 and 2 with a few rows, client 3 with none."""
    d = tmp_path_factory.mktemp("tiny")
    _write(
        d,
        "application_train",
        [
            _application(1, TARGET=0, CODE_GENDER="M"),
            _application(2, TARGET=1),
            _application(4, CODE_GENDER="XNA"),
        ],
    )
    _write(d, "application_test", [_application(3)])
    _write(
        d,
        "installments_payments",
        [
            # client 1: 3 days late paying all, then 2 days early paying 600 of 1,000
            {
                "SK_ID_PREV": 10,
                CLIENT_ID: 1,
                "DAYS_INSTALMENT": -100.0,
                "DAYS_ENTRY_PAYMENT": -97.0,
                "AMT_INSTALMENT": 1000.0,
                "AMT_PAYMENT": 1000.0,
            },
            {
                "SK_ID_PREV": 10,
                CLIENT_ID: 1,
                "DAYS_INSTALMENT": -70.0,
                "DAYS_ENTRY_PAYMENT": -72.0,
                "AMT_INSTALMENT": 1000.0,
                "AMT_PAYMENT": 600.0,
            },
            # client 2: 4 days late recently, 30 days late 400 days before the application
            {
                "SK_ID_PREV": 20,
                CLIENT_ID: 2,
                "DAYS_INSTALMENT": -40.0,
                "DAYS_ENTRY_PAYMENT": -36.0,
                "AMT_INSTALMENT": 500.0,
                "AMT_PAYMENT": 500.0,
            },
            {
                "SK_ID_PREV": 20,
                CLIENT_ID: 2,
                "DAYS_INSTALMENT": -400.0,
                "DAYS_ENTRY_PAYMENT": -370.0,
                "AMT_INSTALMENT": 500.0,
                "AMT_PAYMENT": 500.0,
            },
        ],
    )
    _write(
        d,
        "bureau",
        [
            {
                CLIENT_ID: 1,
                "SK_ID_BUREAU": 101,
                "CREDIT_ACTIVE": "Active",
                "DAYS_CREDIT": -200,
                "AMT_CREDIT_SUM": 1000.0,
                "AMT_CREDIT_SUM_DEBT": 100.0,
                "CREDIT_TYPE": "Consumer credit",
            },
            {
                CLIENT_ID: 1,
                "SK_ID_BUREAU": 102,
                "CREDIT_ACTIVE": "Active",
                "DAYS_CREDIT": -300,
                "AMT_CREDIT_SUM": 1000.0,
                "AMT_CREDIT_SUM_DEBT": 300.0,
                "CREDIT_TYPE": "Credit card",
            },
            {
                CLIENT_ID: 1,
                "SK_ID_BUREAU": 103,
                "CREDIT_ACTIVE": "Closed",
                "DAYS_CREDIT": -900,
                "AMT_CREDIT_SUM": 5000.0,
                "AMT_CREDIT_SUM_DEBT": 0.0,
                "CREDIT_TYPE": "Car loan",
            },
            {
                CLIENT_ID: 2,
                "SK_ID_BUREAU": 201,
                "CREDIT_ACTIVE": "Closed",
                "DAYS_CREDIT": -400,
                "AMT_CREDIT_SUM": 700.0,
            },
            {
                CLIENT_ID: 2,
                "SK_ID_BUREAU": 202,
                "CREDIT_ACTIVE": "Active",
                "DAYS_CREDIT": -100,
                "AMT_CREDIT_SUM": 900.0,
            },
        ],
    )
    _write(
        d,
        "bureau_balance",
        [
            {"SK_ID_BUREAU": 101, "MONTHS_BALANCE": -1, "STATUS": "0"},
            {"SK_ID_BUREAU": 101, "MONTHS_BALANCE": -2, "STATUS": "1"},
            {"SK_ID_BUREAU": 101, "MONTHS_BALANCE": -3, "STATUS": "3"},
            {"SK_ID_BUREAU": 103, "MONTHS_BALANCE": -20, "STATUS": "C"},
            {"SK_ID_BUREAU": 103, "MONTHS_BALANCE": -21, "STATUS": "0"},
        ],
    )
    _write(
        d,
        "previous_application",
        [
            {
                "SK_ID_PREV": 11,
                CLIENT_ID: 1,
                "NAME_CONTRACT_STATUS": "Approved",
                "DAYS_DECISION": -300,
                "AMT_APPLICATION": 100.0,
                "AMT_CREDIT": 80.0,
                "DAYS_FIRST_DRAWING": float(DAYS_SENTINEL),
                "DAYS_LAST_DUE": float(DAYS_SENTINEL),
            },
            {
                "SK_ID_PREV": 12,
                CLIENT_ID: 1,
                "NAME_CONTRACT_STATUS": "Refused",
                "DAYS_DECISION": -50,
                "AMT_APPLICATION": 500.0,
                "AMT_CREDIT": 500.0,
            },
            {
                "SK_ID_PREV": 13,
                CLIENT_ID: 1,
                "NAME_CONTRACT_STATUS": "Approved",
                "DAYS_DECISION": -900,
                "AMT_APPLICATION": 200.0,
                "AMT_CREDIT": 200.0,
                "DAYS_FIRST_DRAWING": -800.0,
                "DAYS_LAST_DUE": -100.0,
            },
        ],
    )
    for table in ("POS_CASH_balance", "credit_card_balance"):
        _write(d, table, [])
    return d


@pytest.fixture(scope="module")
def tiny_features(tiny) -> pd.DataFrame:
    apps = pd.DataFrame([_application(1), _application(2), _application(3)])
    return build_features(apps, tiny)


# --- application features -----------------------------------------------------------------------


def _application_features(rows: list[dict], interim: Path) -> pd.DataFrame:
    return application.compute(pd.DataFrame(rows), category_levels(interim))


def test_days_employed_sentinel_becomes_missing_with_a_flag(tiny):
    rows = [_application(1, DAYS_EMPLOYED=DAYS_SENTINEL), _application(2)]
    features = _application_features(rows, tiny)
    assert np.isnan(features.loc[1, "YEARS_EMPLOYED"])
    assert features.loc[1, "DAYS_EMPLOYED_ANOM"] == 1.0
    assert features.loc[2, "YEARS_EMPLOYED"] == pytest.approx(3652 / 365.25)
    assert features.loc[2, "DAYS_EMPLOYED_ANOM"] == 0.0


def test_xna_is_missing_and_never_a_category(tiny):
    features = _application_features([_application(1, CODE_GENDER="XNA")], tiny)
    assert pd.isna(features.loc[1, "CODE_GENDER"])
    assert list(features["CODE_GENDER"].cat.categories) == ["F", "M"]


def test_ratios_of_a_hand_made_application(tiny):
    row = _application(1, EXT_SOURCE_1=0.2, EXT_SOURCE_2=0.4, EXT_SOURCE_3=np.nan, CNT_CHILDREN=1)
    f = _application_features([row], tiny).loc[1]
    assert f["CREDIT_INCOME_RATIO"] == pytest.approx(3.0)
    assert f["ANNUITY_INCOME_RATIO"] == pytest.approx(0.2)
    assert f["PAYMENT_RATE"] == pytest.approx(20_000 / 300_000)
    assert f["CREDIT_GOODS_RATIO"] == pytest.approx(1.2)
    assert f["INCOME_PER_PERSON"] == pytest.approx(50_000)
    assert f["EMPLOYED_TO_AGE"] == pytest.approx(3652 / 36525)
    assert f["AGE_YEARS"] == pytest.approx(100.0)
    assert f["EXT_SOURCES_MEAN"] == pytest.approx(0.3)
    assert (f["EXT_SOURCES_MIN"], f["EXT_SOURCES_MAX"]) == (0.2, 0.4)
    assert f["EXT_SOURCES_STD"] == pytest.approx(0.1)
    assert np.isnan(f["EXT_SOURCES_PROD"])
    assert f["EXT_SOURCES_WEIGHTED"] == pytest.approx((2 * 0.2 + 0.4) / 3)
    assert f["EXT_SOURCES_MISSING"] == 1.0


def test_division_by_zero_gives_missing_not_infinity(tiny):
    f = _application_features([_application(1, AMT_INCOME_TOTAL=0.0)], tiny).loc[1]
    assert np.isnan(f["CREDIT_INCOME_RATIO"])


# --- history aggregates -------------------------------------------------------------------------


def test_instalment_aggregates_of_two_payments(tiny_features):
    f = tiny_features.loc[1]
    assert f["INST_COUNT"] == 2
    assert f["INST_DPD_MEAN"] == 1.5  # 3 days late, then on time (early)
    assert f["INST_DBD_MEAN"] == 1.0
    assert f["INST_LATE_SHARE"] == 0.5
    assert f["INST_PAYMENT_RATIO_MEAN"] == pytest.approx(0.8)
    assert f["INST_UNDERPAYMENT_SUM"] == 400.0


def test_recency_window_excludes_older_rows(tiny_features):
    f = tiny_features.loc[2]
    assert (f["INST_COUNT"], f["INST_DPD_MAX"]) == (2, 30)
    assert (f["INST_365D_COUNT"], f["INST_365D_DPD_MAX"]) == (1, 4)
    assert (f["BURO_COUNT"], f["BURO_365D_COUNT"]) == (2, 1)


def test_bureau_splits_active_and_closed_credits(tiny_features):
    f = tiny_features.loc[1]
    assert (f["BURO_ACTIVE_COUNT"], f["BURO_CLOSED_COUNT"]) == (2, 1)
    assert f["BURO_ACTIVE_AMT_CREDIT_SUM_DEBT_SUM"] == 400.0
    assert f["BURO_AMT_CREDIT_SUM_SUM"] == 7000.0
    assert f["BURO_CLOSED_AMT_CREDIT_SUM_MEAN"] == 5000.0
    assert f["BURO_ACTIVE_AMT_CREDIT_SUM_DEBT_RATE"] == pytest.approx(0.2)


def test_bureau_balance_is_summarised_per_credit_then_per_client(tiny_features):
    f = tiny_features.loc[1]
    assert f["BURO_BB_MONTHS_SUM"] == 5
    assert f["BURO_BB_DPD_MONTHS_RATE"] == pytest.approx(2 / 5)
    assert f["BURO_ACTIVE_BB_WORST_STATUS_MAX"] == 3
    assert f["BURO_CLOSED_BB_WORST_STATUS_MAX"] == 0
    assert f["BURO_BB_EVER_DPD_SHARE"] == pytest.approx(1 / 2)  # credit 102 has no history


def test_previous_applications_split_approved_and_refused(tiny_features):
    f = tiny_features.loc[1]
    assert (f["PREV_COUNT"], f["PREV_APPROVED_COUNT"], f["PREV_REFUSED_COUNT"]) == (3, 2, 1)
    assert f["PREV_APPROVED_AMT_CREDIT_MEAN"] == 140.0
    assert f["PREV_REFUSED_AMT_APPLICATION_MEAN"] == 500.0
    assert f["PREV_APPROVED_APP_CREDIT_RATIO_MEAN"] == pytest.approx((1.25 + 1.0) / 2)
    assert (f["PREV_LAST_IS_REFUSED"], f["PREV_LAST_AMT_APPLICATION"]) == (1.0, 500.0)
    assert f["PREV_RUNNING_COUNT"] == 1


def test_previous_application_sentinel_dates_are_missing(tiny_features):
    assert tiny_features.loc[1, "PREV_DAYS_FIRST_DRAWING_MEAN"] == -800.0


def test_client_without_history_gets_zero_counts_and_missing_means(tiny_features):
    f = tiny_features.loc[3]
    assert (f["BURO_COUNT"], f["PREV_COUNT"], f["INST_COUNT"], f["CC_COUNT"]) == (0, 0, 0, 0)
    assert f["BURO_AMT_CREDIT_SUM_SUM"] == 0.0
    assert np.isnan(f["INST_DPD_MEAN"]) and np.isnan(f["PREV_LAST_AMT_CREDIT"])


def test_features_do_not_include_the_target(tiny):
    apps = pd.read_parquet(tiny / "application_train.parquet")
    assert TARGET in apps
    assert TARGET not in build_features(apps, tiny).columns


# --- implied rates, trends, dates of late payments, bureau by type -------------------------------


def _annuity(credit: float, yearly_rate: float, months: int) -> float:
    r = yearly_rate / 12
    return credit * r / (1 - (1 + r) ** -months)


def _previous(prev: int, client: int, status: str, day: int, credit: float, **values) -> dict:
    return {
        "SK_ID_PREV": prev,
        CLIENT_ID: client,
        "NAME_CONTRACT_STATUS": status,
        "DAYS_DECISION": day,
        "AMT_APPLICATION": credit,
        "AMT_CREDIT": credit,
    } | values


def _loan(prev: int, client: int, status: str, day: int, yearly_rate: float, months: int) -> dict:
    credit = 100_000.0
    annuity = _annuity(credit, yearly_rate, months)
    return _previous(prev, client, status, day, credit, AMT_ANNUITY=annuity, CNT_PAYMENT=months)


@pytest.fixture(scope="module")
def constructed(tmp_path_factory) -> Path:
    """Clients built for one feature group each; client 5 has no history at all."""
    d = tmp_path_factory.mktemp("constructed")
    _write(
        d,
        "application_train",
        [
            # 24 months at 15 %, 60 months at 16 %, 12 months at 20 %
            _application(1, TARGET=0, AMT_CREDIT=300_000.0, AMT_ANNUITY=_annuity(3e5, 0.15, 24)),
            _application(2, TARGET=0, AMT_CREDIT=300_000.0, AMT_ANNUITY=_annuity(3e5, 0.16, 60)),
            _application(3, TARGET=1, AMT_CREDIT=300_000.0, AMT_ANNUITY=_annuity(3e5, 0.20, 12)),
            _application(4, TARGET=0),
            _application(5, TARGET=0),
            _application(6, TARGET=0, NAME_CONTRACT_TYPE="Revolving loans", AMT_ANNUITY=15_000.0),
        ],
    )
    _write(d, "application_test", [])
    _write(
        d,
        "previous_application",
        [
            _loan(11, 1, "Approved", -400, 0.18, 12),
            _loan(12, 1, "Approved", -800, 0.30, 24),
            _loan(13, 1, "Refused", -100, 0.25, 36),
            # The latest approved is a card (no term, no rate); one loan without interest.
            _previous(14, 1, "Approved", -50, 45_000.0, AMT_ANNUITY=2_250.0, CNT_PAYMENT=0.0),
            _previous(15, 1, "Approved", -600, 60_000.0, AMT_ANNUITY=6_000.0, CNT_PAYMENT=10.0),
            _previous(16, 1, "Refused", -500, 20_000.0),
        ],
    )
    payments = []
    for k in range(15):  # client 2: monthly due days, the latest 30 days before the application
        due = -30.0 * (15 - k)
        late = 50.0 if k < 3 else float(k - 3)  # 50 days late long ago, then 0, 1, ..., 11
        parts = [1000.0] if k < 14 else [500.0, 500.0]  # the latest instalment paid in two parts
        payments.extend(
            {
                "SK_ID_PREV": 20,
                CLIENT_ID: 2,
                "NUM_INSTALMENT_NUMBER": k + 1,
                "DAYS_INSTALMENT": due,
                "DAYS_ENTRY_PAYMENT": due + late,
                "AMT_INSTALMENT": 1000.0,
                "AMT_PAYMENT": paid,
            }
            for paid in parts
        )
    _write(d, "installments_payments", payments)
    # client 3: a card used more and more over the last 6 months, 5 days late 3 months ago
    use = {-8: 0.9, -7: 0.9, -6: 0.1, -5: 0.2, -4: 0.3, -3: 0.4, -2: 0.5, -1: 0.6}
    _write(
        d,
        "credit_card_balance",
        [
            {
                "SK_ID_PREV": 30,
                CLIENT_ID: 3,
                "MONTHS_BALANCE": month,
                "AMT_BALANCE": 10_000.0 * share,
                "AMT_CREDIT_LIMIT_ACTUAL": 10_000,
                "SK_DPD": 5 if month == -3 else 0,
            }
            for month, share in use.items()
        ],
    )
    _write(
        d,
        "POS_CASH_balance",
        [
            {"SK_ID_PREV": 31, CLIENT_ID: 3, "MONTHS_BALANCE": month, "SK_DPD": dpd}
            for month, dpd in ((-10, 3), (-6, 0), (-4, 8), (-2, 0))
        ],
    )
    credit = {CLIENT_ID: 4, "CREDIT_ACTIVE": "Active", "AMT_CREDIT_SUM_OVERDUE": 0.0}
    _write(
        d,
        "bureau",
        [
            credit
            | {
                "SK_ID_BUREAU": 401,
                "CREDIT_TYPE": "Consumer credit",
                "AMT_CREDIT_SUM_DEBT": 100.0,
                "AMT_CREDIT_SUM_OVERDUE": 10.0,
                "AMT_CREDIT_MAX_OVERDUE": 50.0,
            },
            credit
            | {
                "SK_ID_BUREAU": 402,
                "CREDIT_ACTIVE": "Closed",
                "CREDIT_TYPE": "Consumer credit",
                "AMT_CREDIT_SUM_DEBT": 0.0,
                "AMT_CREDIT_MAX_OVERDUE": 200.0,
            },
            credit
            | {"SK_ID_BUREAU": 403, "CREDIT_TYPE": "Credit card", "AMT_CREDIT_SUM_DEBT": 300.0},
            credit | {"SK_ID_BUREAU": 404, "CREDIT_TYPE": "Mortgage", "AMT_CREDIT_SUM_DEBT": 1e6},
        ],
    )
    _write(
        d,
        "bureau_balance",
        [
            {"SK_ID_BUREAU": 401, "MONTHS_BALANCE": -1, "STATUS": "0"},
            {"SK_ID_BUREAU": 401, "MONTHS_BALANCE": -2, "STATUS": "1"},
            {"SK_ID_BUREAU": 401, "MONTHS_BALANCE": -5, "STATUS": "2"},
            {"SK_ID_BUREAU": 402, "MONTHS_BALANCE": -7, "STATUS": "3"},
            {"SK_ID_BUREAU": 402, "MONTHS_BALANCE": -6, "STATUS": "C"},
        ],
    )
    return d


@pytest.fixture(scope="module")
def constructed_features(constructed) -> pd.DataFrame:
    return build_features(pd.read_parquet(constructed / "application_train.parquet"), constructed)


def test_implied_rate_recovers_the_rate_of_a_constructed_loan():
    q = _annuity(1.0, 0.18, 12)
    monthly = rates.implied_monthly_rate(np.array([q, 1 / 10, np.nan]), np.array([12, 10, 12]))
    assert 12 * monthly[0] == pytest.approx(0.18, abs=1e-12)
    assert monthly[1] == 0.0 and np.isnan(monthly[2])  # no interest; no annuity


def test_previous_rates_per_client(constructed_features):
    f = constructed_features.loc[1]
    # The SQL's Newton steps find the rates the annuities were built from (nine decimals kept).
    assert f["PREV_APPROVED_LAST_IMPLIED_RATE"] == pytest.approx(0.18, abs=1e-6)  # not the card
    assert f["PREV_IMPLIED_RATE_MAX"] == pytest.approx(0.30, abs=1e-6)
    assert f["PREV_IMPLIED_RATE_MIN"] == 0.0  # the loan without interest
    assert f["PREV_IMPLIED_RATE_MEAN"] == pytest.approx((0.18 + 0.30 + 0.25 + 0) / 4, abs=1e-6)
    assert f["PREV_APPROVED_IMPLIED_RATE_MEAN"] == pytest.approx(0.16, abs=1e-6)


def test_inferred_term_and_rate_of_the_current_application(constructed_features):
    f = constructed_features
    assert f.loc[[1, 2, 3], "APP_IMPLIED_TERM"].tolist() == [24.0, 60.0, 12.0]
    assert f.loc[[1, 2, 3], "APP_IMPLIED_RATE"].tolist() == pytest.approx([0.15, 0.16, 0.20])
    assert f.loc[6, ["APP_IMPLIED_TERM", "APP_IMPLIED_RATE"]].isna().all()  # revolving: no term
    gap = f.loc[1, "APP_RATE_VS_PREV_MEAN"]
    assert gap == pytest.approx(0.15 - f.loc[1, "PREV_IMPLIED_RATE_MEAN"])
    assert np.isnan(f.loc[2, "APP_RATE_VS_PREV_MEAN"])  # no previous application


def test_trends_over_the_latest_instalments(constructed_features):
    f = constructed_features.loc[2]
    last = f"INST_LAST{TREND_INSTALMENTS}"
    # 0, 1, ..., 11 days late over the 12 latest due days (the latest paid in two parts): a
    # slope of one day per instalment, whatever the 50 days late of the older ones.
    assert f[f"{last}_DPD_SLOPE"] == pytest.approx(1.0, abs=1e-12)
    assert f[f"{last}_PAYMENT_RATIO_SLOPE"] < 0  # the latest instalment paid in halves
    assert f[f"{last}_DPD_MEAN"] == pytest.approx((sum(range(11)) + 2 * 11) / 13)
    assert f[f"{last}_DPD_MEAN_VS_ALL"] == pytest.approx(
        f[f"{last}_DPD_MEAN"] - (sum(range(11)) + 2 * 11 + 3 * 50) / 16
    )
    assert f[f"{last}_LATE_SHARE"] == pytest.approx(12 / 13)


def test_trends_over_the_latest_card_months(constructed_features):
    f = constructed_features.loc[3]
    recent = f"CC_{TREND_CARD_MONTHS}M"
    assert f[f"{recent}_UTILISATION_SLOPE"] == pytest.approx(0.1, abs=1e-12)  # +10 % a month
    assert f[f"{recent}_UTILISATION_MEAN_VS_ALL"] == pytest.approx(0.35 - 3.9 / 8)
    # 5 days late 3 months ago, on time the other 5 months: (6 x -15 + 21 x 5) / (6 x 91 - 21 x 21).
    assert f[f"{recent}_SK_DPD_SLOPE"] == pytest.approx(1 / 7)


def test_dates_of_the_latest_late_payments(constructed_features):
    f = constructed_features
    assert f.loc[2, "INST_LATE_DAYS_INSTALMENT_MAX"] == -30.0
    assert f.loc[2, "INST_LATE30_DAYS_INSTALMENT_MAX"] == -30.0 * 13  # the third oldest
    assert f.loc[3, "POS_LATE_MONTHS_BALANCE_MAX"] == -4.0
    assert f.loc[3, "CC_LATE_MONTHS_BALANCE_MAX"] == -3.0
    assert f.loc[4, "BURO_LATE_BB_LAST_DPD_MONTH_MAX"] == -2.0
    # Refusals: the latest decision refused, and how many in the last 12 months.
    assert f.loc[1, "PREV_REFUSED_DAYS_DECISION_MAX"] == -100.0
    assert (f.loc[1, "PREV_REFUSED_COUNT"], f.loc[1, "PREV_365D_IS_REFUSED_COUNT"]) == (2, 1)


def test_bureau_aggregates_per_credit_type(constructed_features):
    f = constructed_features.loc[4]
    assert (f["BURO_CONSUMER_COUNT"], f["BURO_CONSUMER_IS_ACTIVE_COUNT"]) == (2, 1)
    assert f["BURO_CONSUMER_AMT_CREDIT_SUM_DEBT_SUM"] == 100.0
    assert f["BURO_CONSUMER_AMT_CREDIT_SUM_OVERDUE_SUM"] == 10.0
    assert f["BURO_CONSUMER_AMT_CREDIT_MAX_OVERDUE_MAX"] == 200.0  # the closed one
    assert (f["BURO_CARD_COUNT"], f["BURO_CARD_AMT_CREDIT_SUM_DEBT_SUM"]) == (1, 300.0)
    assert (f["BURO_MORTGAGE_COUNT"], f["BURO_MORTGAGE_IS_ACTIVE_COUNT"]) == (1, 1)
    # No car loan: none counted, nothing owed, no known maximum.
    assert (f["BURO_CAR_COUNT"], f["BURO_CAR_AMT_CREDIT_SUM_DEBT_SUM"]) == (0, 0.0)
    assert np.isnan(f["BURO_CAR_AMT_CREDIT_MAX_OVERDUE_MAX"])


def test_new_groups_are_missing_without_history_but_counts_are_zero(constructed_features):
    f = constructed_features.loc[5]
    groups = feature_groups()
    history = [
        name
        for group in ("taux_implicite", "tendances", "anciennete_incidents", "bureau_par_type")
        for name in groups[group]
        if not name.startswith("APP_IMPLIED_")
    ]
    counts = [n for n in history if n.endswith(("_COUNT", "_SUM"))]
    assert len(counts) == 16 and (f[counts] == 0).all()
    assert f[[n for n in history if n not in counts]].isna().all()
    assert f[["APP_IMPLIED_TERM", "APP_IMPLIED_RATE"]].notna().all()  # the application's own


def test_new_features_do_not_depend_on_row_order(constructed, constructed_features, tmp_path):
    for path in constructed.iterdir():
        table = pq.read_table(path)
        backwards = pa.array(range(table.num_rows - 1, -1, -1), pa.int64())
        pq.write_table(table.take(backwards), tmp_path / path.name)
    applications = pd.read_parquet(constructed / "application_train.parquet")
    pd.testing.assert_frame_equal(
        build_features(applications, tmp_path), constructed_features, check_exact=True
    )


def test_groups_split_every_feature_once():
    groups = feature_groups()
    assert list(groups) == list(GROUPS) and all(groups.values())
    names = [n for members in groups.values() for n in members]
    assert sorted(names) == sorted(feature_dictionary()["name"])
    new = sum(len(groups[g]) for g in list(GROUPS)[-4:])
    assert 30 <= new <= 60  # a modest addition: training time grows with the columns
    dictionary = feature_dictionary().set_index("name")
    assert (dictionary.loc[groups["tendances"], "group"] == "tendances").all()


# --- dictionary ---------------------------------------------------------------------------------


def test_every_feature_has_a_french_label_and_a_known_source(batch):
    out, _ = batch
    dictionary = feature_dictionary()
    train = read_feature_table(out / "train.parquet").drop(columns=TARGET)
    assert list(dictionary["name"]) == list(train.columns)
    assert dictionary["source"].isin(SOURCES).all()
    assert dictionary["label_fr"].str.strip().str.len().gt(3).all()
    # A client reads the label: no column code in it.
    assert not dictionary["label_fr"].str.contains(r"[A-Z]{2,}_[A-Z]", regex=True).any()
    assert dictionary["label_fr"].is_unique or dictionary["label_fr"].duplicated().sum() < 5
    assert dictionary.set_index("name").loc["AMT_CREDIT", "actionable"]
    assert not dictionary.set_index("name").loc["INST_DPD_MEAN", "actionable"]


# --- the twin: batch tables and serving ---------------------------------------------------------


@pytest.fixture(scope="module")
def twin(tmp_path_factory) -> Path:
    """A small twin, ingested, plus applications of clients without any history."""
    root = tmp_path_factory.mktemp("twin")
    generate_twin(TwinConfig(clients=1_000, seed=11), root / "csv", progress=False)
    ingest(find_kaggle_source(root / "csv"), root / "interim")
    interim = root / "interim"
    test = pd.read_parquet(interim / "application_test.parquet")
    strangers = test.head(len(NO_HISTORY_IDS)).assign(**{CLIENT_ID: NO_HISTORY_IDS})
    schema = pq.read_schema(interim / "application_test.parquet")
    pq.write_table(
        pa.Table.from_pandas(pd.concat([test, strangers]), schema=schema, preserve_index=False),
        interim / "application_test.parquet",
    )
    return interim


@pytest.fixture(scope="module")
def batch(twin, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("out") / "features"
    return out, build_feature_tables(twin, out)


def _batch_rows(out: Path, ids: list[int]) -> pd.DataFrame:
    train = read_feature_table(out / "train.parquet").drop(columns=TARGET)
    production = read_feature_table(out / "production.parquet")
    return pd.concat([train, production]).loc[ids]


def _without(twin: Path, table: str) -> set[int]:
    apps = pd.concat(
        pd.read_parquet(twin / f"{t}.parquet", columns=[CLIENT_ID])
        for t in ("application_train", "application_test")
    )[CLIENT_ID]
    has = set(pd.read_parquet(twin / f"{table}.parquet", columns=[CLIENT_ID])[CLIENT_ID])
    return set(apps) - has


def test_serving_equals_the_batch_rows_exactly(twin, batch):
    out, _ = batch
    train_ids = pd.read_parquet(twin / "application_train.parquet", columns=[CLIENT_ID])
    random_ids = train_ids[CLIENT_ID].sample(6, random_state=5).tolist()
    no_bureau = sorted(_without(twin, "bureau") - _without(twin, "previous_application"))[:2]
    no_card = sorted(_without(twin, "credit_card_balance") - _without(twin, "bureau"))[:2]
    ids = random_ids + no_bureau + no_card + NO_HISTORY_IDS
    served = features_for_clients(ids, twin)
    pd.testing.assert_frame_equal(served, _batch_rows(out, ids), check_exact=True)
    assert (served.loc[NO_HISTORY_IDS, ["BURO_COUNT", "PREV_COUNT", "INST_COUNT"]] == 0).all().all()


def test_serving_one_client_equals_its_batch_row(twin, batch):
    out, _ = batch
    client = int(pd.read_parquet(twin / "application_test.parquet")[CLIENT_ID].iloc[7])
    pd.testing.assert_frame_equal(
        features_for_clients([client], twin), _batch_rows(out, [client]), check_exact=True
    )


def test_posted_application_changes_its_own_features_not_the_history(twin, batch):
    out, _ = batch
    stored = pd.read_parquet(twin / "application_train.parquet").iloc[[3]]
    client = int(stored[CLIENT_ID].iloc[0])
    posted = stored.assign(AMT_CREDIT=stored["AMT_CREDIT"] * 2)
    served = features_for_clients([client], twin, applications=posted).loc[client]
    batch_row = _batch_rows(out, [client]).loc[client]
    assert served["CREDIT_INCOME_RATIO"] == pytest.approx(2 * batch_row["CREDIT_INCOME_RATIO"])
    history = [c for c in served.index if c.startswith(("BURO_", "PREV_", "INST_", "POS_", "CC_"))]
    pd.testing.assert_series_equal(
        served[history].drop("CREDIT_TO_PREV_APPROVED_MEAN", errors="ignore"),
        batch_row[history].drop("CREDIT_TO_PREV_APPROVED_MEAN", errors="ignore"),
        check_exact=True,
    )


# --- the in-memory serving path (credit_scoring.features.serving) -------------------------------


def _stored_applications(twin: Path, ids: list[int]) -> list[dict]:
    """Each client's stored application as the API receives it: fields by name, None missing."""
    apps = pd.concat(
        pd.read_parquet(twin / f"{t}.parquet") for t in ("application_train", "application_test")
    )
    apps = apps.drop(columns=TARGET).set_index(CLIENT_ID)
    return [{k: (None if pd.isna(v) else v) for k, v in apps.loc[i].items()} for i in ids]


@pytest.fixture(scope="module")
def served_ids(twin) -> list[int]:
    """Random clients of both tables, clients without some tables, clients without any."""
    train = pd.read_parquet(twin / "application_train.parquet", columns=[CLIENT_ID])[CLIENT_ID]
    test = pd.read_parquet(twin / "application_test.parquet", columns=[CLIENT_ID])[CLIENT_ID]
    no_bureau = sorted(_without(twin, "bureau") - _without(twin, "previous_application"))[:2]
    no_card = sorted(_without(twin, "credit_card_balance") - _without(twin, "bureau"))[:2]
    return (
        train.sample(8, random_state=21).tolist()
        + test[~test.isin(NO_HISTORY_IDS)].sample(8, random_state=22).tolist()
        + no_bureau
        + no_card
        + NO_HISTORY_IDS
    )


def test_in_memory_rows_equal_the_batch_rows(twin, batch, served_ids):
    out, _ = batch
    server = FeatureServer(twin, read_feature_table(out / "production.parquet"))
    rows = server.rows(_stored_applications(twin, served_ids), served_ids)
    pd.testing.assert_frame_equal(rows.to_frame(), _batch_rows(out, served_ids), check_exact=True)


def test_in_memory_rows_without_stored_rows_equal_the_batch_rows(twin, batch, served_ids):
    out, _ = batch
    rows = FeatureServer(twin).rows(_stored_applications(twin, served_ids), served_ids)
    pd.testing.assert_frame_equal(rows.to_frame(), _batch_rows(out, served_ids), check_exact=True)


def test_new_client_gets_the_history_of_a_client_without_records(twin, batch):
    out, _ = batch
    [application] = _stored_applications(twin, NO_HISTORY_IDS[:1])
    rows = FeatureServer(twin).rows([application], [None])
    expected = _batch_rows(out, NO_HISTORY_IDS[:1]).set_axis([0], axis=0).rename_axis(CLIENT_ID)
    pd.testing.assert_frame_equal(rows.to_frame(), expected, check_exact=True)


def test_posted_history_gives_the_batch_row(twin, batch, served_ids):
    out, _ = batch
    ids = served_ids[:6] + served_ids[-5:-3]  # with full histories, and without some tables
    server = FeatureServer(twin)
    rows = server.rows(_stored_applications(twin, ids), ids, [posted_history(twin, i) for i in ids])
    pd.testing.assert_frame_equal(rows.to_frame(), _batch_rows(out, ids), check_exact=True)


def test_posted_history_replaces_the_stored_one(twin, batch, served_ids):
    out, _ = batch
    client = served_ids[0]
    bureau_only = {
        t: records
        for t, records in posted_history(twin, client).items()
        if t in ("bureau", "bureau_balance")
    }
    assert bureau_only["bureau"], "the test needs a client with bureau records"
    [application] = _stored_applications(twin, [client])
    served = FeatureServer(twin).rows([application], [client], [bureau_only]).to_frame()
    batch_row = _batch_rows(out, [client])
    bureau = [f.name for f in history_features() if f.grain == "bureau"]
    pd.testing.assert_frame_equal(served[bureau], batch_row[bureau], check_exact=True)
    assert served.loc[client, "PREV_COUNT"] == 0 < batch_row.loc[client, "PREV_COUNT"]
    assert served.loc[client, "INST_COUNT"] == 0


def test_posted_records_of_an_unknown_table_are_refused(twin):
    [application] = _stored_applications(twin, NO_HISTORY_IDS[:1])
    with pytest.raises(KeyError, match="'loans' is not a history table"):
        FeatureServer(twin).rows([application], [None], [{"loans": [{"AMT": 1.0}]}])


def test_unknown_client_is_a_clear_error(twin):
    with pytest.raises(KeyError, match="123"):
        features_for_clients([123], twin)


def test_train_and_production_share_columns_and_dtypes(twin, batch):
    out, metrics = batch
    train = read_feature_table(out / "train.parquet")
    production = read_feature_table(out / "production.parquet")
    assert train.columns[0] == TARGET
    pd.testing.assert_series_equal(train.dtypes.iloc[1:], production.dtypes)
    levels = json.loads((out / "categories.json").read_text(encoding="utf-8"))
    assert levels == category_levels(twin)
    assert list(production["NAME_INCOME_TYPE"].cat.categories) == levels["NAME_INCOME_TYPE"]
    assert metrics["rows"] == {"train": len(train), "production": len(production)}


def test_metrics_count_features_per_source(batch):
    _, metrics = batch
    assert sum(metrics["features_per_source"].values()) == metrics["features"] >= 400
    assert all(metrics["features_per_source"][s] > 0 for s in SOURCES)


def test_engine_agrees_with_the_pandas_reference(twin):
    path = Path(__file__).parent / "benchmarks" / "features_scale.py"
    spec = importlib.util.spec_from_file_location("features_scale", path)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    # Every history feature of the catalog, the implied rates and trends included.
    ids = pd.read_parquet(twin / "application_train.parquet", columns=[CLIENT_ID])[CLIENT_ID]
    ids = ids.head(400).tolist() + NO_HISTORY_IDS
    ours = build_module.engine.history_aggregates(ids, twin)
    assert list(ours.columns) == [f.name for f in history_features()]
    # Ratios are kept to six decimals (DECIMAL(18, 6)), hence the absolute tolerance.
    pd.testing.assert_frame_equal(ours, reference.pandas_history(ids, twin), rtol=1e-9, atol=1e-6)


def test_batch_build_is_atomic(twin, batch, tmp_path, monkeypatch):
    out = tmp_path / "features"
    shutil.copytree(batch[0], out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    def broken() -> pd.DataFrame:
        raise RuntimeError("disk full")

    # Fails after both Parquet tables are written into the temporary directory.
    monkeypatch.setattr(build_module, "feature_dictionary", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build_feature_tables(twin, out)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["features"]


# --- an empty history table (a Kaggle export with the header alone) ----------------------------


@pytest.fixture(scope="module")
def without_cards(twin, tmp_path_factory) -> tuple[Path, Path, dict]:
    """The twin with credit_card_balance emptied as ingestion writes a header-only file, built."""
    root = tmp_path_factory.mktemp("empty")
    interim = root / "interim"
    shutil.copytree(twin, interim)
    path = interim / "credit_card_balance.parquet"
    pq.write_table(pq.read_table(path).slice(0, 0), path)
    out = root / "features"
    return interim, out, build_feature_tables(interim, out)


def test_metrics_name_the_empty_history_table(batch, without_cards):
    assert batch[1]["empty_tables"] == []
    assert without_cards[2]["empty_tables"] == ["credit_card_balance"]


def test_empty_table_gives_everyone_the_features_of_a_client_without_that_history(
    batch, without_cards
):
    _, out, _ = without_cards
    built = pd.concat(
        [
            read_feature_table(out / "train.parquet").drop(columns=TARGET),
            read_feature_table(out / "production.parquet"),
        ]
    )
    dictionary = feature_dictionary()
    cards = dictionary.loc[dictionary["source"] == "credit_card_balance", "name"].tolist()
    assert len(cards) > 40 and "CC_BALANCE_TO_INCOME" in cards
    # A client with no history anywhere had no card rows before the table was emptied.
    stranger = _batch_rows(batch[0], NO_HISTORY_IDS[:1]).iloc[0][cards]
    expected = pd.DataFrame([stranger.to_numpy()] * len(built), built.index, cards)
    pd.testing.assert_frame_equal(built[cards], expected.astype(built[cards].dtypes))
    assert (built["CC_COUNT"] == 0).all() and built["CC_AMT_BALANCE_MEAN"].isna().all()
    # Every other feature is untouched.
    before = _batch_rows(batch[0], built.index.tolist())
    others = [c for c in built.columns if c not in cards]
    pd.testing.assert_frame_equal(built[others], before[others], check_exact=True)


def test_serving_with_an_empty_table_equals_its_batch_rows(twin, without_cards):
    interim, out, _ = without_cards
    ids = pd.read_parquet(interim / "application_train.parquet", columns=[CLIENT_ID])
    ids = ids[CLIENT_ID].sample(4, random_state=2).tolist() + NO_HISTORY_IDS[:1]
    pd.testing.assert_frame_equal(
        features_for_clients(ids, interim), _batch_rows(out, ids), check_exact=True
    )


def test_batch_build_fails_clearly_without_a_table(twin, tmp_path):
    partial = tmp_path / "interim"
    shutil.copytree(twin, partial)
    (partial / "bureau.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"bureau\.parquet"):
        build_feature_tables(partial, tmp_path / "features")
    assert not (tmp_path / "features").exists()
