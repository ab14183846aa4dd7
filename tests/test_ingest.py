"""Ingestion and validation: source detection, strict reading, clear errors, atomic writes."""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from credit_scoring.data import ingest as ingest_module
from credit_scoring.data.ingest import (
    INGEST_REPORT,
    ROWS_REQUIRED,
    KaggleSource,
    find_kaggle_source,
    ingest,
    read_table,
    validate_source,
)
from credit_scoring.data.prepare import prepare
from credit_scoring.data.schema import DAYS_SENTINEL, TABLES
from credit_scoring.data.validation import DataValidationError, Rule, _check_rules, validate_frame

Rows = list[list[str]]


def rewrite(path: Path, transform: Callable[[Rows], Rows]) -> None:
    """Apply ``transform`` to the CSV's rows (header first) and write the file back."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(transform(rows))


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set data row ``row`` (1-based, header not counted) of ``column`` to ``value``."""

    def change(rows: Rows) -> Rows:
        rows[row][rows[0].index(column)] = value
        return rows

    rewrite(path, change)


def drop_columns(*names: str) -> Callable[[Rows], Rows]:
    def change(rows: Rows) -> Rows:
        keep = [i for i, name in enumerate(rows[0]) if name not in names]
        return [[r[i] for i in keep] for r in rows]

    return change


def header_only(rows: Rows) -> Rows:
    return rows[:1]


def read_error(directory: Path, table: str) -> DataValidationError:
    source = find_kaggle_source(directory)
    assert source is not None
    with pytest.raises(DataValidationError) as info:
        read_table(source, table)
    return info.value


def zip_of(directory: Path, archive: Path, tables: list[str] | None = None) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in tables or list(TABLES):
            zf.write(directory / TABLES[name].file_name, TABLES[name].file_name)
    return archive


@pytest.fixture
def source(tiny_kaggle_dir: Path) -> KaggleSource:
    found = find_kaggle_source(tiny_kaggle_dir)
    assert found is not None
    return found


# --------------------------------------------------------------------------- finding the source


def test_csv_dir_with_the_eight_files_is_found(tiny_kaggle_dir: Path) -> None:
    (tiny_kaggle_dir / "HomeCredit_columns_description.csv").write_bytes(b"\x85 cp1252")
    found = find_kaggle_source(tiny_kaggle_dir)
    assert found is not None
    assert found.kind == "csv_dir"
    assert set(found.members) == set(TABLES)


def test_nothing_there_means_no_source(tmp_path: Path) -> None:
    (tmp_path / "twin").mkdir()
    assert find_kaggle_source(tmp_path) is None
    assert find_kaggle_source(tmp_path / "absent") is None


def test_partial_csv_set_names_the_missing_files(tiny_kaggle_dir: Path) -> None:
    (tiny_kaggle_dir / "bureau.csv").unlink()
    (tiny_kaggle_dir / "credit_card_balance.csv").unlink()
    with pytest.raises(DataValidationError, match="2 of the 8") as info:
        find_kaggle_source(tiny_kaggle_dir)
    assert "bureau.csv" in str(info.value)
    assert "credit_card_balance.csv" in str(info.value)
    assert "application_train.csv" not in str(info.value)


def test_zip_source_is_found(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "zipped"
    raw.mkdir()
    zip_of(tiny_kaggle_dir, raw / "home-credit-default-risk.zip")
    found = find_kaggle_source(raw)
    assert found is not None
    assert found.kind == "zip"
    assert found.label("bureau") == "home-credit-default-risk.zip:bureau.csv"


def test_csv_files_win_over_a_zip(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    zip_of(tiny_kaggle_dir, tiny_kaggle_dir / "home-credit-default-risk.zip")
    found = find_kaggle_source(tiny_kaggle_dir)
    assert found is not None
    assert found.kind == "csv_dir"
    assert "home-credit-default-risk.zip" in found.description


def test_zip_reads_like_the_csv_dir(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "zipped"
    raw.mkdir()
    zip_of(tiny_kaggle_dir, raw / "kaggle.zip")
    from_zip, from_dir = find_kaggle_source(raw), find_kaggle_source(tiny_kaggle_dir)
    assert from_zip is not None and from_dir is not None
    for table in ("application_train", "bureau_balance"):
        pd.testing.assert_frame_equal(read_table(from_zip, table), read_table(from_dir, table))
    zip_report, dir_report = validate_source(from_zip), validate_source(from_dir)
    assert zip_report.foreign_keys == dir_report.foreign_keys
    assert [(t.rows, t.missing_by_column) for t in zip_report.tables.values()] == [
        (t.rows, t.missing_by_column) for t in dir_report.tables.values()
    ]


def test_corrupt_zip_is_reported(tmp_path: Path) -> None:
    (tmp_path / "home-credit-default-risk.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataValidationError, match="not a readable zip"):
        find_kaggle_source(tmp_path)


def test_zip_lacking_tables_names_them(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "zipped"
    raw.mkdir()
    zip_of(tiny_kaggle_dir, raw / "home-credit-default-risk.zip", ["application_train"])
    with pytest.raises(DataValidationError, match="lacks 7 of the 8 tables") as info:
        find_kaggle_source(raw)
    assert "bureau_balance.csv" in str(info.value)


def test_damaged_zip_member_is_reported(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    raw = tmp_path / "zipped"
    raw.mkdir()
    archive = raw / "home-credit-default-risk.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for t in TABLES.values():
            zf.write(tiny_kaggle_dir / t.file_name, t.file_name)
    data = bytearray(archive.read_bytes())
    # Change one digit of bureau's data: the CSV still parses, the CRC no longer matches.
    at = data.index(b"100004,5000004")
    data[at + 5] = ord("9")
    archive.write_bytes(bytes(data))
    found = find_kaggle_source(raw)
    assert found is not None
    with pytest.raises(DataValidationError, match="zip archive is corrupt") as info:
        read_table(found, "bureau")
    assert info.value.file == "home-credit-default-risk.zip:bureau.csv"


# --------------------------------------------------------------------------- header


def test_missing_columns_are_all_named(tiny_kaggle_dir: Path) -> None:
    rewrite(tiny_kaggle_dir / "bureau.csv", drop_columns("DAYS_CREDIT", "CREDIT_TYPE"))
    err = read_error(tiny_kaggle_dir, "bureau")
    assert err.file == "bureau.csv"
    assert "missing 2 columns: DAYS_CREDIT, CREDIT_TYPE" in str(err)


def test_extra_column_is_named(tiny_kaggle_dir: Path) -> None:
    rewrite(tiny_kaggle_dir / "bureau_balance.csv", lambda rows: [[*r, "x"] for r in rows])
    err = read_error(tiny_kaggle_dir, "bureau_balance")
    assert err.column == "x"
    assert "unexpected column: x" in str(err)


def test_columns_in_wrong_order_are_reported(tiny_kaggle_dir: Path) -> None:
    rewrite(tiny_kaggle_dir / "bureau_balance.csv", lambda rows: [[r[1], r[0], r[2]] for r in rows])
    err = read_error(tiny_kaggle_dir, "bureau_balance")
    assert "wrong order: expected SK_ID_BUREAU at position 1, found MONTHS_BALANCE" in str(err)


# --------------------------------------------------------------------------- types


def test_text_in_an_integer_column_names_value_and_row(tiny_kaggle_dir: Path) -> None:
    set_cell(tiny_kaggle_dir / "bureau.csv", 3, "DAYS_CREDIT", "abc")
    err = read_error(tiny_kaggle_dir, "bureau")
    assert (err.file, err.column) == ("bureau.csv", "DAYS_CREDIT")
    assert str(err) == (
        "bureau.csv, column DAYS_CREDIT: expected int64, found text values such as 'abc' (row 3)"
    )


def test_decimal_in_an_integer_column_is_reported(tiny_kaggle_dir: Path) -> None:
    set_cell(tiny_kaggle_dir / "installments_payments.csv", 2, "NUM_INSTALMENT_NUMBER", "1.5")
    err = read_error(tiny_kaggle_dir, "installments_payments")
    assert err.column == "NUM_INSTALMENT_NUMBER"
    assert "expected int64, found non-integer numbers such as '1.5' (row 2)" in str(err)


def test_text_in_a_float_column_is_reported(tiny_kaggle_dir: Path) -> None:
    set_cell(tiny_kaggle_dir / "application_train.csv", 1, "AMT_CREDIT", "lots")
    err = read_error(tiny_kaggle_dir, "application_train")
    assert (err.file, err.column) == ("application_train.csv", "AMT_CREDIT")
    assert "expected float64, found text values such as 'lots' (row 1)" in str(err)


def test_all_type_errors_of_a_table_are_listed(tiny_kaggle_dir: Path) -> None:
    path = tiny_kaggle_dir / "bureau.csv"
    set_cell(path, 1, "DAYS_CREDIT", "abc")
    set_cell(path, 2, "AMT_CREDIT_SUM", "n/d")
    err = read_error(tiny_kaggle_dir, "bureau")
    assert [column for column, _ in err.problems] == ["DAYS_CREDIT", "AMT_CREDIT_SUM"]


def test_missing_value_in_an_integer_column_is_reported(tiny_kaggle_dir: Path) -> None:
    set_cell(tiny_kaggle_dir / "POS_CASH_balance.csv", 4, "SK_DPD", "")
    err = read_error(tiny_kaggle_dir, "POS_CASH_balance")
    assert err.column == "SK_DPD"
    assert "expected int64 with no missing values" in str(err)
    assert "row 4" in str(err)


def test_duplicate_primary_keys_give_count_and_examples(tiny_kaggle_dir: Path) -> None:
    set_cell(tiny_kaggle_dir / "bureau.csv", 2, "SK_ID_BUREAU", "5000001")
    err = read_error(tiny_kaggle_dir, "bureau")
    assert err.column == "SK_ID_BUREAU"
    assert "duplicate primary key: 2 rows share 1 value (e.g. 5000001)" in str(err)


# --------------------------------------------------------------------------- unreadable files


def test_unreadable_file_is_reported(
    tiny_kaggle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tiny_kaggle_dir / "bureau.csv"
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make the open fail as it would
        real_open = open

        def denied(file: object, *args: object, **kwargs: object) -> object:
            if Path(str(file)) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr("builtins.open", denied)
    err = read_error(tiny_kaggle_dir, "bureau")
    assert str(err) == "bureau.csv: cannot read the file: permission denied"


def test_empty_file_is_reported(tiny_kaggle_dir: Path) -> None:
    (tiny_kaggle_dir / "bureau.csv").write_bytes(b"")
    assert str(read_error(tiny_kaggle_dir, "bureau")) == "bureau.csv: the file is empty (0 bytes)"


@pytest.mark.parametrize("table", ROWS_REQUIRED)
def test_header_only_application_table_is_reported(tiny_kaggle_dir: Path, table: str) -> None:
    rewrite(tiny_kaggle_dir / f"{table}.csv", header_only)
    err = read_error(tiny_kaggle_dir, table)
    assert err.file == f"{table}.csv"
    assert str(err) == (
        f"{table}.csv: the file has a header but no data rows: {table} needs at least one "
        "applicant (one row per application)"
    )


def test_truncated_file_gives_the_line(tiny_kaggle_dir: Path) -> None:
    path = tiny_kaggle_dir / "bureau.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rstrip("\n").rfind("\n") + 20], encoding="utf-8")
    err = read_error(tiny_kaggle_dir, "bureau")
    assert err.file == "bureau.csv"
    assert "the last row is cut short" in str(err)
    assert "line 5 has 3 fields, expected 17" in str(err)


def test_binary_garbage_is_not_a_csv(tiny_kaggle_dir: Path) -> None:
    (tiny_kaggle_dir / "bureau.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    assert "binary data" in str(read_error(tiny_kaggle_dir, "bureau"))


def test_other_text_file_is_not_the_table(tiny_kaggle_dir: Path) -> None:
    (tiny_kaggle_dir / "bureau.csv").write_text('{"not": "a csv"}\n', encoding="utf-8")
    err = read_error(tiny_kaggle_dir, "bureau")
    assert "not the bureau table: none of its 17 columns in the header" in str(err)


def test_latin1_file_is_reported_as_not_utf8(tiny_kaggle_dir: Path) -> None:
    path = tiny_kaggle_dir / "bureau.csv"
    set_cell(path, 3, "CREDIT_TYPE", "Crédit")
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    offset = path.read_bytes().index(b"\xe9")
    err = read_error(tiny_kaggle_dir, "bureau")
    assert err.column == "CREDIT_TYPE"
    assert f"not UTF-8: byte 0xE9 at byte offset {offset:,} (line 4)" in str(err)


# --------------------------------------------------------------------------- domain rules


def test_domain_rules_report_every_problem(tiny_kaggle_dir: Path) -> None:
    set_cell(tiny_kaggle_dir / "application_train.csv", 2, "TARGET", "2")
    set_cell(tiny_kaggle_dir / "application_train.csv", 3, "DAYS_BIRTH", "12000")
    set_cell(tiny_kaggle_dir / "application_train.csv", 4, "CODE_GENDER", "U")
    err = read_error(tiny_kaggle_dir, "application_train")
    assert err.file == "application_train.csv"
    assert [c for c, _ in err.problems] == ["TARGET", "CODE_GENDER", "DAYS_BIRTH"]
    assert "column DAYS_BIRTH: failed less_than(0) for 1 row: 12000 (row 3)" in str(err)
    assert "'U' (row 4)" in str(err)


def test_real_data_quirks_pass(tiny_kaggle_dir: Path, source: KaggleSource) -> None:
    set_cell(tiny_kaggle_dir / "application_train.csv", 1, "DAYS_EMPLOYED", str(DAYS_SENTINEL))
    set_cell(tiny_kaggle_dir / "application_train.csv", 2, "CODE_GENDER", "XNA")
    set_cell(tiny_kaggle_dir / "bureau.csv", 1, "AMT_CREDIT_SUM_DEBT", "-377.235")
    set_cell(tiny_kaggle_dir / "bureau.csv", 1, "DAYS_CREDIT_ENDDATE", "31143.0")
    set_cell(tiny_kaggle_dir / "previous_application.csv", 1, "DAYS_FIRST_DUE", "365243.0")
    set_cell(tiny_kaggle_dir / "previous_application.csv", 1, "NAME_CONTRACT_TYPE", "XNA")
    set_cell(tiny_kaggle_dir / "credit_card_balance.csv", 1, "AMT_BALANCE", "-420.5")
    assert validate_source(source).tables["application_train"].rows == 4


def test_large_tables_are_checked_column_batch_wise(
    tiny_kaggle_dir: Path, source: KaggleSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "_BATCH_CELLS", 12)  # 2 columns of 6 rows at a time
    set_cell(tiny_kaggle_dir / "bureau_balance.csv", 5, "STATUS", "Z")
    with pytest.raises(DataValidationError, match="column STATUS: failed isin") as info:
        validate_source(source)
    assert info.value.file == "bureau_balance.csv"


def test_a_rule_matching_no_column_is_refused() -> None:
    with pytest.raises(ValueError, match="matching no declared column"):
        _check_rules([Rule(r"NO_SUCH_COLUMN", lambda: None)])  # type: ignore[arg-type,return-value]


def test_validate_frame_reports_wrong_dtype() -> None:
    df = pd.DataFrame({"SK_ID_BUREAU": [1.0], "MONTHS_BALANCE": [0], "STATUS": ["C"]})
    with pytest.raises(DataValidationError, match="expected int64, found float64") as info:
        validate_frame(df, "bureau_balance")
    assert info.value.column == "SK_ID_BUREAU"


def test_error_survives_pickling() -> None:
    err = DataValidationError.from_problems("x.csv", [("A", "bad"), (None, "worse")])
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.column, copy.problems, str(copy)) == (
        err.file,
        err.column,
        err.problems,
        str(err),
    )


# --------------------------------------------------------------------------- foreign keys


def test_orphan_foreign_keys_are_counted_not_fatal(
    tiny_kaggle_dir: Path, source: KaggleSource
) -> None:
    set_cell(tiny_kaggle_dir / "bureau.csv", 1, "SK_ID_CURR", "999999")
    set_cell(tiny_kaggle_dir / "bureau_balance.csv", 2, "SK_ID_BUREAU", "7777777")
    set_cell(tiny_kaggle_dir / "bureau_balance.csv", 3, "SK_ID_BUREAU", "7777777")
    report = validate_source(source)
    orphans = {(fk.table, fk.column): fk for fk in report.foreign_keys}
    assert len(orphans) == sum(len(t.foreign_keys) for t in TABLES.values())
    assert orphans[("bureau", "SK_ID_CURR")].orphan_rows == 1
    assert orphans[("bureau", "SK_ID_CURR")].parents == ("application_train", "application_test")
    balance = orphans[("bureau_balance", "SK_ID_BUREAU")]
    assert (balance.orphan_rows, balance.orphan_keys, balance.orphan_share) == (2, 1, 2 / 6)
    # Clients of application_test are parents too: no other orphan anywhere.
    others = [
        fk
        for key, fk in orphans.items()
        if key not in {("bureau", "SK_ID_CURR"), ("bureau_balance", "SK_ID_BUREAU")}
    ]
    assert all(fk.orphan_rows == 0 for fk in others)
    assert "bureau_balance.SK_ID_BUREAU -> bureau.SK_ID_BUREAU: 2 orphan rows" in report.to_text()


# --------------------------------------------------------------------------- ingest


def test_ingest_round_trips_the_declared_dtypes(source: KaggleSource, tmp_path: Path) -> None:
    out = tmp_path / "interim"
    ingest(source, out)
    for name, spec in TABLES.items():
        back = pd.read_parquet(out / f"{name}.parquet")
        assert list(back.columns) == spec.column_names
        assert back.dtypes.astype(str).to_dict() == spec.dtypes
        pd.testing.assert_frame_equal(back, read_table(source, name))


def test_ingest_writes_its_report(source: KaggleSource, tmp_path: Path) -> None:
    report = ingest(source, tmp_path / "interim")
    written = json.loads((tmp_path / "interim" / INGEST_REPORT).read_text(encoding="utf-8"))
    assert written == report.to_dict()
    assert written["tables"]["bureau_balance"]["rows"] == 6
    assert written["source"]["kind"] == "csv_dir"


def test_ingest_replaces_a_previous_output(source: KaggleSource, tmp_path: Path) -> None:
    out = tmp_path / "interim"
    out.mkdir()
    (out / "stale.parquet").write_bytes(b"old")
    ingest(source, out)
    assert not (out / "stale.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interim", "raw"]


def test_ingest_failing_midway_leaves_the_previous_output(
    source: KaggleSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "interim"
    ingest(source, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    written: list[Path] = []
    real_write = ingest_module._write_parquet

    def flaky(data: object, path: Path) -> None:
        if len(written) == 4:
            raise OSError("disk full")
        written.append(path)
        real_write(data, path)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module, "_write_parquet", flaky)
    with pytest.raises(OSError, match="disk full"):
        ingest(source, out)
    assert len(written) == 4
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interim", "raw"]


def test_ingest_of_invalid_data_writes_nothing(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    set_cell(tiny_kaggle_dir / "credit_card_balance.csv", 1, "SK_DPD", "-3")
    found = find_kaggle_source(tiny_kaggle_dir)
    assert found is not None
    with pytest.raises(DataValidationError, match=r"credit_card_balance\.csv, column SK_DPD"):
        ingest(found, tmp_path / "interim")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


# --------------------------------------------------------------------------- empty side tables


def test_header_only_side_table_is_an_empty_table_of_the_declared_schema(
    tiny_kaggle_dir: Path, source: KaggleSource, tmp_path: Path
) -> None:
    full = tmp_path / "full"
    ingest(source, full)
    rewrite(tiny_kaggle_dir / "credit_card_balance.csv", header_only)
    out = tmp_path / "interim"
    ingest(source, out)
    empty = pq.read_table(out / "credit_card_balance.parquet")
    assert empty.num_rows == 0
    assert empty.schema.equals(pq.read_schema(full / "credit_card_balance.parquet"))
    back = pd.read_parquet(out / "credit_card_balance.parquet")
    assert back.dtypes.astype(str).to_dict() == TABLES["credit_card_balance"].dtypes


def test_report_says_which_side_table_is_empty(
    tiny_kaggle_dir: Path, source: KaggleSource, tmp_path: Path
) -> None:
    rewrite(tiny_kaggle_dir / "credit_card_balance.csv", header_only)
    ingest(source, tmp_path / "interim")
    written = json.loads((tmp_path / "interim" / INGEST_REPORT).read_text(encoding="utf-8"))
    card = written["tables"]["credit_card_balance"]
    assert (card["rows"], card["empty"], card["missing_by_column"]) == (0, True, {})
    assert [name for name, t in written["tables"].items() if t["empty"]] == ["credit_card_balance"]
    assert written["empty_tables"] == ["credit_card_balance"]
    assert written["warnings"] == [
        "credit_card_balance.csv: header but no data rows: read as an empty credit_card_balance "
        "table (no client has this history)"
    ]


def test_validation_text_warns_about_an_empty_side_table(
    tiny_kaggle_dir: Path, source: KaggleSource, caplog: pytest.LogCaptureFixture
) -> None:
    rewrite(tiny_kaggle_dir / "bureau_balance.csv", header_only)
    with caplog.at_level("WARNING", logger=ingest_module.__name__):
        text = validate_source(source).to_text()
    assert "Warnings:\n  bureau_balance.csv: header but no data rows" in text
    assert "bureau_balance.csv" in caplog.text


def test_data_stage_metrics_flag_the_empty_table(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    rewrite(tiny_kaggle_dir / "previous_application.csv", header_only)
    params = {"source": "real", "twin": {"clients": 300, "seed": 3, "drift": 1.0}}
    metrics_file = tmp_path / "metrics" / "data.json"
    prepare(params, tiny_kaggle_dir, tmp_path / "interim", metrics_file, progress=False)
    summary = json.loads((tmp_path / "interim" / "summary.json").read_text(encoding="utf-8"))
    assert summary["tables"]["previous_application"]["rows"] == 0
    assert summary["empty_tables"] == ["previous_application"]


def test_header_without_a_final_line_break_is_an_empty_table(tiny_kaggle_dir: Path) -> None:
    path = tiny_kaggle_dir / "bureau.csv"
    path.write_text(",".join(TABLES["bureau"].column_names), encoding="utf-8")
    found = find_kaggle_source(tiny_kaggle_dir)
    assert found is not None
    frame = read_table(found, "bureau")
    assert len(frame) == 0
    assert frame.dtypes.astype(str).to_dict() == TABLES["bureau"].dtypes


def test_header_only_zip_member_is_an_empty_table(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    rewrite(tiny_kaggle_dir / "installments_payments.csv", header_only)
    raw = tmp_path / "zipped"
    raw.mkdir()
    zip_of(tiny_kaggle_dir, raw / "home-credit-default-risk.zip")
    found = find_kaggle_source(raw)
    assert found is not None
    report = validate_source(found)
    assert report.empty_tables == ["installments_payments"]
    assert report.warnings[0].startswith("home-credit-default-risk.zip:installments_payments.csv:")


@pytest.mark.parametrize(
    ("transform", "column", "expected"),
    [
        (drop_columns("AMT_BALANCE"), "AMT_BALANCE", "missing column: AMT_BALANCE"),
        (lambda rows: [[*rows[0], "x"]], "x", "unexpected column: x"),
        (
            lambda rows: [[rows[0][1], rows[0][0], *rows[0][2:]]],
            None,
            "wrong order: expected SK_ID_PREV at position 1, found SK_ID_CURR",
        ),
    ],
    ids=["missing", "extra", "misordered"],
)
def test_header_only_side_table_with_a_wrong_header_is_reported(
    tiny_kaggle_dir: Path,
    transform: Callable[[Rows], Rows],
    column: str | None,
    expected: str,
) -> None:
    path = tiny_kaggle_dir / "credit_card_balance.csv"
    rewrite(path, header_only)
    rewrite(path, transform)
    err = read_error(tiny_kaggle_dir, "credit_card_balance")
    assert (err.file, err.column) == ("credit_card_balance.csv", column)
    assert expected in str(err)


def test_twin_directory_extras_are_ignored(tiny_kaggle_dir: Path, tmp_path: Path) -> None:
    twin = tmp_path / "raw" / "twin"
    shutil.copytree(tiny_kaggle_dir, twin, ignore=shutil.ignore_patterns("twin"))
    (twin / "twin.json").write_text("{}", encoding="utf-8")
    (twin / "twin_truth.parquet").write_bytes(b"PAR1")
    found = find_kaggle_source(twin)
    assert found is not None
    report = ingest(found, tmp_path / "interim")
    assert set(report.tables) == set(TABLES)
