"""The data stage: which tables it takes, when it regenerates the twin, what it records."""

from __future__ import annotations

import json

import pytest

from credit_scoring.data.prepare import choose_source, data_origin, ensure_twin, prepare
from credit_scoring.data.twin import MANIFEST_FILE, TwinConfig

SMALL = TwinConfig(clients=300, seed=3, drift=1.0)


def test_auto_takes_the_real_files_when_present(tiny_kaggle_dir):
    origin, source = choose_source("auto", tiny_kaggle_dir, SMALL, progress=False)
    assert origin == "real"
    assert source.path == tiny_kaggle_dir


def test_auto_generates_the_twin_in_its_own_folder_when_no_real_files(tmp_path):
    origin, source = choose_source("auto", tmp_path, SMALL, progress=False)
    assert origin == "twin"
    assert source.path == tmp_path / "twin"
    assert (tmp_path / "twin" / "application_train.csv").is_file()


def test_twin_source_ignores_real_files(tiny_kaggle_dir):
    origin, _ = choose_source("twin", tiny_kaggle_dir, SMALL, progress=False)
    assert origin == "twin"


def test_real_source_without_files_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        choose_source("real", tmp_path, SMALL, progress=False)


def test_unknown_source_names_the_parameter(tmp_path):
    with pytest.raises(ValueError, match=r"data\.source.*'kaggle'"):
        choose_source("kaggle", tmp_path, SMALL, progress=False)


def test_twin_is_reused_when_its_settings_are_unchanged(tmp_path):
    ensure_twin(SMALL, tmp_path, progress=False)
    written = (tmp_path / "application_train.csv").stat().st_mtime_ns
    ensure_twin(SMALL, tmp_path, progress=False)
    assert (tmp_path / "application_train.csv").stat().st_mtime_ns == written


def test_twin_is_regenerated_when_its_seed_changes(tmp_path):
    ensure_twin(SMALL, tmp_path, progress=False)
    manifest = ensure_twin(TwinConfig(clients=300, seed=4), tmp_path, progress=False)
    on_disk = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["config"]["seed"] == on_disk["config"]["seed"] == 4


def test_prepare_records_origin_and_oracle_in_the_metrics(tmp_path):
    params = {"source": "auto", "twin": {"clients": 300, "seed": 3, "drift": 1.0}}
    metrics_file = tmp_path / "metrics" / "data.json"
    prepare(params, tmp_path / "raw", tmp_path / "interim", metrics_file, progress=False)
    metrics = json.loads(metrics_file.read_text())
    assert metrics["origin"] == "twin"
    assert 0.5 < metrics["oracle_auc"] <= 1.0
    assert metrics["clients"] == 300
    assert len(metrics) <= 5  # the headline only: the detail is in the summary


def test_prepare_writes_the_summary_the_reports_read(tmp_path):
    params = {"source": "auto", "twin": {"clients": 300, "seed": 3, "drift": 1.0}}
    prepare(params, tmp_path / "raw", tmp_path / "interim", tmp_path / "data.json", progress=False)
    summary = data_origin(tmp_path / "interim" / "summary.json")
    assert summary["origin"] == "twin" and summary["twin"]["config"]["seed"] == 3
    assert summary["tables"]["application_train"]["rows"] == 300
    assert summary["tables"]["bureau"]["columns"] == 17 and summary["empty_tables"] == []
    assert (tmp_path / "interim" / "bureau_balance.parquet").is_file()
