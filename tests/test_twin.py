"""The data twin: files, dtypes, keys, consistency, marginals, drift, determinism, atomicity."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from credit_scoring import fidelity
from credit_scoring.data.schema import DAYS_SENTINEL, TABLES, Column, Table
from credit_scoring.data.twin import (
    MANIFEST_FILE,
    TRUTH_FILE,
    TwinConfig,
    _writer,
    generate_twin,
    signal,
)
from credit_scoring.data.twin._core import Cat

CLIENTS = 2_500


def read(twin: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(twin / TABLES[name].file_name)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("twin") / "twin"
    generate_twin(TwinConfig(clients=CLIENTS, seed=7), out, progress=False)
    return out


@pytest.fixture(scope="module")
def tables(twin: Path) -> dict[str, pd.DataFrame]:
    return {name: read(twin, name) for name in TABLES}


@pytest.fixture(scope="module")
def no_drift(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("twin0") / "twin"
    generate_twin(TwinConfig(clients=CLIENTS, seed=7, drift=0.0), out, progress=False)
    return out


def assert_schema(twin: Path) -> None:
    for name, table in TABLES.items():
        df = read(twin, name)
        assert list(df.columns) == table.column_names, name
        dtypes = {c: str(t) for c, t in df.dtypes.items()}
        assert dtypes == table.dtypes, (
            name,
            {c: dtypes[c] for c in dtypes if dtypes[c] != table.dtypes[c]},
        )
        assert len(df) > 0, name


# --------------------------------------------------------------------------- files


def test_pandas_reads_schema_columns_and_dtypes(twin: Path) -> None:
    assert_schema(twin)


def test_schema_holds_for_a_tiny_twin(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    generate_twin(TwinConfig(clients=150, seed=3), out, progress=False)
    assert_schema(out)


def test_output_files_and_manifest(twin: Path) -> None:
    files = sorted(p.name for p in twin.iterdir())
    csvs = sorted(t.file_name for t in TABLES.values())
    assert files == sorted([*csvs, TRUTH_FILE, MANIFEST_FILE])
    manifest = json.loads((twin / MANIFEST_FILE).read_text())
    assert manifest["config"]["clients"] == CLIENTS
    assert manifest["rows"]["application_train"] == CLIENTS
    assert 0.75 < manifest["oracle_auc_train"] < 0.95


def test_truth_has_one_probability_per_client(twin: Path, tables: dict[str, pd.DataFrame]) -> None:
    truth = pd.read_parquet(twin / TRUTH_FILE)
    assert list(truth.columns) == ["SK_ID_CURR", "split", "probability_default"]
    assert truth["SK_ID_CURR"].is_unique
    expected = {
        **dict.fromkeys(tables["application_train"]["SK_ID_CURR"], "train"),
        **dict.fromkeys(tables["application_test"]["SK_ID_CURR"], "test"),
    }
    assert dict(zip(truth["SK_ID_CURR"], truth["split"], strict=True)) == expected
    assert truth["probability_default"].between(0, 1).all()
    for name in TABLES:  # the truth never leaks into the CSVs
        assert "probability_default" not in tables[name].columns


def _toy_table() -> Table:
    return Table(
        "toy",
        (
            Column("ID", "int64", ""),
            Column("AMOUNT", "float64", ""),
            Column("STATUS", "object", ""),
        ),
        None,
        (),
        0,
    )


def test_writer_keeps_dtypes_of_whole_floats_and_numeric_looking_strings(tmp_path: Path) -> None:
    table = _toy_table()
    with _writer.CsvTableWriter(tmp_path, table) as writer:
        writer.write(
            {
                "ID": np.array([1, 2, 3]),
                "AMOUNT": np.array([202500.0, np.nan, 1.0]),
                "STATUS": Cat(np.array([2, 3, -1], dtype=np.int16), ("C", "X", "0", "1")),
            }
        )
    text = (tmp_path / table.file_name).read_text()
    assert "202500.0" in text and "NaN" not in text
    df = pd.read_csv(tmp_path / table.file_name)
    assert {c: str(t) for c, t in df.dtypes.items()} == table.dtypes


def test_writer_refuses_missing_values_in_int_columns(tmp_path: Path) -> None:
    with _writer.CsvTableWriter(tmp_path, _toy_table()) as writer, pytest.raises(ValueError):
        writer.write(
            {
                "ID": np.array([1.0, np.nan]),
                "AMOUNT": np.array([1.0, 2.0]),
                "STATUS": Cat(np.array([0, 1], dtype=np.int16), ("C", "X")),
            }
        )


# --------------------------------------------------------------------------- keys


def test_primary_keys_are_unique(tables: dict[str, pd.DataFrame]) -> None:
    ids = pd.concat(
        [tables["application_train"]["SK_ID_CURR"], tables["application_test"]["SK_ID_CURR"]]
    )
    assert ids.is_unique
    assert ids.between(100_000, 460_000).all()
    assert tables["bureau"]["SK_ID_BUREAU"].is_unique
    assert tables["previous_application"]["SK_ID_PREV"].is_unique


def test_foreign_keys_resolve(tables: dict[str, pd.DataFrame]) -> None:
    clients = set(tables["application_train"]["SK_ID_CURR"]) | set(
        tables["application_test"]["SK_ID_CURR"]
    )
    for name in (
        "bureau",
        "previous_application",
        "POS_CASH_balance",
        "installments_payments",
        "credit_card_balance",
    ):
        assert set(tables[name]["SK_ID_CURR"]) <= clients, name
    assert set(tables["bureau_balance"]["SK_ID_BUREAU"]) <= set(tables["bureau"]["SK_ID_BUREAU"])
    owner = tables["previous_application"].set_index("SK_ID_PREV")["SK_ID_CURR"]
    for name in ("POS_CASH_balance", "installments_payments", "credit_card_balance"):
        child = tables[name]
        parent_client = owner.reindex(child["SK_ID_PREV"]).to_numpy()
        assert (parent_client == child["SK_ID_CURR"].to_numpy()).all(), name


def test_side_tables_scale_with_the_real_row_counts(twin: Path) -> None:
    manifest = json.loads((twin / MANIFEST_FILE).read_text())
    for name in (
        "bureau",
        "bureau_balance",
        "previous_application",
        "POS_CASH_balance",
        "installments_payments",
        "credit_card_balance",
    ):
        ratio = manifest["rows"][name] / manifest["expected_rows"][name]
        assert 0.8 < ratio < 1.25, (name, ratio)


def test_test_clients_have_side_history(tables: dict[str, pd.DataFrame]) -> None:
    test_ids = tables["application_test"]["SK_ID_CURR"]
    for name in ("bureau", "previous_application", "installments_payments"):
        share = test_ids.isin(tables[name]["SK_ID_CURR"]).mean()
        assert share > 0.5, name


# --------------------------------------------------------------------------- consistency


def test_closed_bureau_credits_have_an_end_date_active_ones_not(
    tables: dict[str, pd.DataFrame],
) -> None:
    bureau = tables["bureau"]
    fact = bureau["DAYS_ENDDATE_FACT"].notna()
    assert fact[bureau["CREDIT_ACTIVE"] == "Closed"].all()
    assert not fact[bureau["CREDIT_ACTIVE"] == "Active"].any()


def test_bureau_balance_shows_closed_after_the_end(tables: dict[str, pd.DataFrame]) -> None:
    bureau = tables["bureau"].set_index("SK_ID_BUREAU")
    bb = tables["bureau_balance"]
    end_month = np.floor(bureau["DAYS_ENDDATE_FACT"] / 30.4375)
    bb = bb.assign(END=end_month.reindex(bb["SK_ID_BUREAU"]).to_numpy())
    after = bb[bb["MONTHS_BALANCE"] > bb["END"]]
    assert len(after) > 0
    assert (after["STATUS"] == "C").all()
    active = bureau.index[bureau["CREDIT_ACTIVE"] == "Active"]
    assert not (bb[bb["SK_ID_BUREAU"].isin(active)]["STATUS"] == "C").any()


def test_overdue_credits_show_dpd_in_their_last_month(tables: dict[str, pd.DataFrame]) -> None:
    bureau = tables["bureau"]
    overdue = bureau.loc[bureau["CREDIT_DAY_OVERDUE"] > 0, "SK_ID_BUREAU"]
    bb = tables["bureau_balance"]
    last = bb[(bb["MONTHS_BALANCE"] == 0) & bb["SK_ID_BUREAU"].isin(overdue)]
    assert last["STATUS"].isin(list("12345")).all()


def test_installments_follow_the_term(tables: dict[str, pd.DataFrame]) -> None:
    prev = tables["previous_application"].set_index("SK_ID_PREV")
    inst = tables["installments_payments"]
    loans = inst[inst["NUM_INSTALMENT_VERSION"] > 0]
    per_loan = loans.groupby("SK_ID_PREV")["NUM_INSTALMENT_NUMBER"].agg(["max", "nunique"])
    term = prev["CNT_PAYMENT"].reindex(per_loan.index)
    assert (term > 0).all()
    assert (per_loan["max"] <= term).all()
    assert (per_loan["nunique"] <= term).all()
    first_due = prev["DAYS_FIRST_DUE"].reindex(loans["SK_ID_PREV"]).to_numpy()
    assert (loans["DAYS_INSTALMENT"].to_numpy() >= first_due).all()


def test_only_approved_applications_have_history(tables: dict[str, pd.DataFrame]) -> None:
    prev = tables["previous_application"].set_index("SK_ID_PREV")
    for name in ("POS_CASH_balance", "installments_payments", "credit_card_balance"):
        status = prev["NAME_CONTRACT_STATUS"].reindex(tables[name]["SK_ID_PREV"].unique())
        assert (status == "Approved").all(), name
    card_type = prev["NAME_CONTRACT_TYPE"].reindex(
        tables["credit_card_balance"]["SK_ID_PREV"].unique()
    )
    assert (card_type == "Revolving loans").all()
    refused = prev[prev["NAME_CONTRACT_STATUS"] == "Refused"]
    assert len(refused) > 0 and (refused["CODE_REJECT_REASON"] != "XAP").all()


def test_pos_countdown_and_dpd_match_late_instalments(tables: dict[str, pd.DataFrame]) -> None:
    pos = tables["POS_CASH_balance"].sort_values(["SK_ID_PREV", "MONTHS_BALANCE"])
    steps = pos.groupby("SK_ID_PREV")["CNT_INSTALMENT_FUTURE"].diff().dropna()
    assert (steps <= 0).all()  # counts down, never up
    inst = tables["installments_payments"]
    late = inst[inst["DAYS_ENTRY_PAYMENT"] > inst["DAYS_INSTALMENT"]]
    late = late.assign(MONTHS_BALANCE=np.floor(late["DAYS_INSTALMENT"] / 30.4375).astype(int))
    # Loan instalments against POS months, card repayments (version 0) against card months.
    for monthly, rows in (
        (pos, late["NUM_INSTALMENT_VERSION"] > 0),
        (tables["credit_card_balance"], late["NUM_INSTALMENT_VERSION"] == 0),
    ):
        merged = late[rows].merge(monthly, on=["SK_ID_PREV", "MONTHS_BALANCE"], how="left")
        assert len(merged) > 0
        assert (merged["SK_DPD"] > 0).all()


# --------------------------------------------------------------------------- marginals


def test_default_rate_is_about_eight_percent(tables: dict[str, pd.DataFrame]) -> None:
    rate = tables["application_train"]["TARGET"].mean()
    assert 0.065 < rate < 0.095


def test_ext_source_1_mostly_missing_and_building_block_missing_together(
    tables: dict[str, pd.DataFrame],
) -> None:
    app = tables["application_train"]
    assert abs(app["EXT_SOURCE_1"].isna().mean() - 0.56) < 0.03
    block = [c for c in app.columns if c.endswith(("_AVG", "_MODE", "_MEDI"))]
    missing = app[block].isna()
    # Whoever has the least-missing column of the block missing has the whole block missing.
    least = missing.mean().idxmin()
    assert missing[missing[least]].all(axis=None)
    for quantity in ("APARTMENTS", "COMMONAREA", "YEARS_BUILD"):
        trio = missing[[f"{quantity}_AVG", f"{quantity}_MODE", f"{quantity}_MEDI"]]
        assert (trio.nunique(axis=1) == 1).all()


def test_days_employed_sentinel_exactly_for_organization_xna(
    tables: dict[str, pd.DataFrame],
) -> None:
    for name in ("application_train", "application_test"):
        app = tables[name]
        sentinel = app["DAYS_EMPLOYED"] == DAYS_SENTINEL
        assert (sentinel == (app["ORGANIZATION_TYPE"] == "XNA")).all()
        assert sentinel.any()
        assert app.loc[sentinel, "NAME_INCOME_TYPE"].isin(["Pensioner", "Unemployed"]).all()
    app = tables["application_train"]
    worker = app["DAYS_EMPLOYED"] != DAYS_SENTINEL
    assert (app.loc[worker, "DAYS_EMPLOYED"] > app.loc[worker, "DAYS_BIRTH"] + 16 * 365).all()


def test_cross_column_logic(tables: dict[str, pd.DataFrame]) -> None:
    app = tables["application_train"]
    assert (app["CNT_FAM_MEMBERS"] >= app["CNT_CHILDREN"] + 1).all()
    assert app.loc[app["FLAG_OWN_CAR"] == "N", "OWN_CAR_AGE"].isna().all()
    age = -app["DAYS_BIRTH"] / 365.25
    assert age.between(20, 70).all()
    cash = app[app["NAME_CONTRACT_TYPE"] == "Cash loans"]
    ratio = cash["AMT_CREDIT"] / cash["AMT_GOODS_PRICE"]
    assert ratio.between(0.99, 1.5).all() and 1.03 < ratio.mean() < 1.2
    term = cash["AMT_CREDIT"] / cash["AMT_ANNUITY"]
    assert term.between(5, 60).all()
    assert (
        np.abs(app["REGION_RATING_CLIENT"] - app["REGION_RATING_CLIENT_W_CITY"]) <= 1
    ).mean() > 0.99


# --------------------------------------------------------------------------- drift


def test_no_drift_draws_test_from_the_training_population(no_drift: Path) -> None:
    train, test = read(no_drift, "application_train"), read(no_drift, "application_test")
    assert ks_2samp(train["DAYS_BIRTH"], test["DAYS_BIRTH"]).pvalue > 0.01
    assert ks_2samp(train["AMT_INCOME_TOTAL"], test["AMT_INCOME_TOTAL"]).pvalue > 0.01


def test_drift_makes_test_older_and_grows_along_the_ids(
    twin: Path, tables: dict[str, pd.DataFrame]
) -> None:
    train, test = tables["application_train"], tables["application_test"].sort_values("SK_ID_CURR")
    assert test["DAYS_BIRTH"].mean() < train["DAYS_BIRTH"].mean() - 365  # more than a year older
    half = len(test) // 2
    early, late = test.iloc[:half], test.iloc[half:]
    assert late["DAYS_BIRTH"].mean() < early["DAYS_BIRTH"].mean()
    assert late["AMT_INCOME_TOTAL"].median() > early["AMT_INCOME_TOTAL"].median()


def test_drift_never_changes_the_training_data(twin: Path, no_drift: Path) -> None:
    name = TABLES["application_train"].file_name
    assert (twin / name).read_bytes() == (no_drift / name).read_bytes()
    truth = [pd.read_parquet(d / TRUTH_FILE).query("split == 'train'") for d in (twin, no_drift)]
    pd.testing.assert_frame_equal(truth[0], truth[1])


# --------------------------------------------------------------------------- reproducibility


def _digest(directory: Path) -> dict[str, str]:
    names = [t.file_name for t in TABLES.values()] + [TRUTH_FILE]
    return {n: hashlib.sha256((directory / n).read_bytes()).hexdigest() for n in names}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    config = TwinConfig(clients=400, seed=11)
    generate_twin(config, tmp_path / "a", progress=False)
    generate_twin(config, tmp_path / "b", progress=False)
    generate_twin(TwinConfig(clients=400, seed=12), tmp_path / "c", progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    other = _digest(tmp_path / "c")
    assert all(other[k] != v for k, v in _digest(tmp_path / "a").items())


def test_the_manifest_is_the_same_bytes_at_every_generation(tmp_path: Path) -> None:
    # data/raw is a dependency that dvc.lock hashes: a duration in twin.json would change it.
    config = TwinConfig(clients=300, seed=5)
    returned = generate_twin(config, tmp_path / "a", progress=False)
    generate_twin(config, tmp_path / "b", progress=False)
    first, second = ((tmp_path / d / MANIFEST_FILE).read_bytes() for d in "ab")
    assert first == second
    assert "generation_seconds" in returned and b"seconds" not in first


# --------------------------------------------------------------------------- atomicity


def test_failure_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    original = _writer.CsvTableWriter.write

    def failing(self: _writer.CsvTableWriter, columns: dict) -> int:
        calls["n"] += 1
        if self.table.name == "installments_payments":
            raise OSError("disk full")
        return original(self, columns)

    monkeypatch.setattr(_writer.CsvTableWriter, "write", failing)
    out = tmp_path / "twin"
    with pytest.raises(OSError, match="disk full"):
        generate_twin(TwinConfig(clients=200, seed=1), out, progress=False)
    assert calls["n"] > 0
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "twin"
    generate_twin(TwinConfig(clients=200, seed=1), out, progress=False)
    before = _digest(out)

    def failing(self: _writer.CsvTableWriter, columns: dict) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(_writer.CsvTableWriter, "write", failing)
    with pytest.raises(RuntimeError, match="boom"):
        generate_twin(TwinConfig(clients=200, seed=2), out, progress=False)
    assert _digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twin"]


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TwinConfig(clients=10)
    with pytest.raises(ValueError):
        TwinConfig(drift=-1.0)


@pytest.mark.parametrize("name", list(fidelity.load_profile()))
def test_marginals_follow_the_real_samples(name: str, tables: dict[str, pd.DataFrame]) -> None:
    spec = fidelity.load_profile()[name]
    gaps = fidelity.column_gaps(tables[name], spec)
    assert len(gaps) >= 0.8 * (len(spec["columns"]) - 2), "profiled columns missing"
    limits = fidelity.TOLERANCES
    assert gaps["missing"].max() <= limits["missing"], gaps["missing"].idxmax()
    assert gaps["shares"].fillna(0).max() <= limits["shares"], gaps["shares"].idxmax()
    table = "application" if name == "application_train" else "history"
    tolerance = limits[f"{table}_quantiles"]
    quantiles = gaps.loc[gaps["real_values"] >= fidelity.MIN_REAL_VALUES, "quantiles"].dropna()
    assert quantiles.max() <= tolerance, quantiles.idxmax()


@pytest.fixture(scope="module")
def signal_measures(tmp_path_factory: pytest.TempPathFactory, full_scale: bool) -> dict:
    clients = 307_511 if full_scale else 30_000
    out = tmp_path_factory.mktemp("signal") / "twin"
    generate_twin(TwinConfig(clients=clients, seed=42), out, progress=False)
    return signal.measure(out, seed=42)


def test_oracle_sets_the_ceiling(signal_measures: dict) -> None:
    m = signal_measures
    assert 0.83 < m["oracle_auc"] < 0.90
    assert m["oracle_auc"] > m["auc_with_history"] + 0.03


def test_application_columns_alone_give_a_real_data_auc(
    signal_measures: dict, full_scale: bool
) -> None:
    # 0.74-0.76 at Kaggle scale; a quarter of the training rows learns less.
    low, high = (0.74, 0.765) if full_scale else (0.70, 0.76)
    assert low < signal_measures["auc_application"] < high


def test_history_tables_add_signal(signal_measures: dict, full_scale: bool) -> None:
    m = signal_measures
    low, high = (0.78, 0.81) if full_scale else (0.74, 0.80)
    assert low < m["auc_with_history"] < high
    assert m["auc_with_history"] > m["auc_application"] + 0.025


# --------------------------------------------------------------------------- full scale


@pytest.mark.slow
def test_full_scale_row_counts(tmp_path: Path) -> None:
    manifest = generate_twin(
        TwinConfig(clients=307_511, seed=42), tmp_path / "twin", progress=False
    )
    for name, expected in manifest["expected_rows"].items():
        assert 0.9 < manifest["rows"][name] / expected < 1.1, name
    assert manifest["generation_seconds"] < 300
