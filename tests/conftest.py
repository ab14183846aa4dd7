"""Shared fixtures, and the scale of long checks: small unless ``--runslow`` asks for full scale."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from filelock import FileLock

from credit_scoring import paths
from credit_scoring.data.schema import CLIENT_ID, TABLES, Column
from credit_scoring.features.engine import SIDE_TABLES

# A few rows per table whose keys join: every child row has a parent.
TINY_ROWS = {
    "application_train": 4,
    "application_test": 2,
    "bureau": 4,
    "bureau_balance": 6,
    "previous_application": 3,
    "POS_CASH_balance": 4,
    "installments_payments": 4,
    "credit_card_balance": 3,
}
_KEY_BASE = {"SK_ID_CURR": 100_001, "SK_ID_BUREAU": 5_000_001, "SK_ID_PREV": 2_000_001}
_OWNER = {"SK_ID_BUREAU": "bureau", "SK_ID_PREV": "previous_application"}
# Values inside the domain rules of credit_scoring.data.validation.
_TEXT = {
    "CODE_GENDER": "F",
    "NAME_CONTRACT_TYPE": "Cash loans",
    "NAME_CONTRACT_STATUS": "Approved",
    "FLAG_OWN_CAR": "N",
    "FLAG_OWN_REALTY": "Y",
    "FLAG_LAST_APPL_PER_CONTRACT": "Y",
    "WEEKDAY_APPR_PROCESS_START": "MONDAY",
    "CREDIT_ACTIVE": "Closed",
    "STATUS": "C",
    "NAME_TYPE_SUITE": "Spouse, partner",  # a quoted comma
}


def _key_values(table: str, column: str, n: int) -> list[int]:
    if column == "SK_ID_CURR" and table.startswith("application"):
        start = _KEY_BASE[column] + (
            TINY_ROWS["application_train"] if table.endswith("test") else 0
        )
        return list(range(start, start + n))
    if column == "SK_ID_CURR":
        clients = TINY_ROWS["application_train"] + TINY_ROWS["application_test"]
        return [_KEY_BASE[column] + i % clients for i in range(n)]
    owner = _OWNER[column]
    size = n if owner == table else TINY_ROWS[owner]
    return [_KEY_BASE[column] + i % size for i in range(n)]


def _values(table: str, column: Column, n: int) -> list[object]:
    name, i = column.name, np.arange(n)
    if name.startswith("SK_ID_"):
        return _key_values(table, name, n)
    if column.dtype == "object":
        value = _TEXT.get(name, f"{name.lower()} level")
        return [value if k % 3 != 2 or name in _TEXT else None for k in i]
    if name.startswith("DAYS_") or name == "MONTHS_BALANCE":
        return list(-100 - i if column.dtype == "int64" else -100.5 - i)
    if column.dtype == "int64":
        if name == "NUM_INSTALMENT_NUMBER":
            return list(1 + i)
        return list(i % 2)  # flags and counts
    value = 1.0 if "FLAG_" in name else 0.5
    return [value if k % 3 != 1 else np.nan for k in i]  # row 0 is never missing


def json_keys(value: object) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value).union(*(json_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(json_keys(v) for v in value))
    return set()


def posted_history(interim: Path, client_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every stored history record of a client, as a bank's system posts them: the Kaggle
    columns but SK_ID_CURR, missing fields left out."""

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items() if not pd.isna(v)}
            for r in frame.drop(columns=CLIENT_ID, errors="ignore").to_dict("records")
        ]

    history: dict[str, list[dict[str, Any]]] = {}
    # bureau_balance is keyed by the client's bureau credits, not by SK_ID_CURR.
    for table in (t for t in SIDE_TABLES if t != "bureau_balance"):
        rows = pd.read_parquet(interim / f"{table}.parquet")
        history[table] = records(rows[rows[CLIENT_ID] == client_id])
    balance = pd.read_parquet(interim / "bureau_balance.parquet")
    credits = {r["SK_ID_BUREAU"] for r in history["bureau"]}
    history["bureau_balance"] = records(balance[balance["SK_ID_BUREAU"].isin(credits)])
    return history


def tiny_frames() -> dict[str, pd.DataFrame]:
    """The tiny consistent tables, with the declared dtypes."""
    return {
        name: pd.DataFrame(
            {c.name: pd.Series(_values(name, c, TINY_ROWS[name]), dtype=c.dtype) for c in t.columns}
        )
        for name, t in TABLES.items()
    }


def write_tiny_kaggle(directory: Path) -> Path:
    """Write the eight tiny CSV files into ``directory``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tiny_frames().items():
        frame.to_csv(directory / TABLES[name].file_name, index=False)
    return directory


@pytest.fixture
def tiny_kaggle_dir(tmp_path: Path) -> Path:
    """A directory with the eight Kaggle CSV files, a few valid rows each, keys that join."""
    return write_tiny_kaggle(tmp_path / "raw")


# No test may phone home.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="run the long checks at full scale (CI runs their small-scale version)",
    )


@pytest.fixture(scope="session")
def full_scale(request: pytest.FixtureRequest) -> bool:
    """True under ``--runslow``: tests that take a scale use the full one."""
    return bool(request.config.getoption("--runslow"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="full-scale check: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


BIN = Path(sys.executable).parent


def _copy_repository(destination: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=paths.ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = paths.ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def prepare_pipeline_copy(root: Path, full_scale: bool) -> None:
    """Copy the repository into ``root`` with the test scale of ``params.yaml``."""
    _copy_repository(root)
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["twin"]["clients"] = 30_000 if full_scale else 1_500
    params["eda"]["sample_rows"] = 2_000
    if not full_scale:
        # The CI budget: every model, strategy and stage still runs, on few rows and folds.
        params["train"].update(
            compare_rows=1_000,
            compare_folds=2,
            tune_trials=3,
            tune_rows=1_000,
            tune_folds=2,
            calibration_folds=2,
            max_trees=300,
            tree_step=50,
            bootstrap=100,
        )
        params["explain"].update(sample_rows=200, latency_clients=10, stability_rows=1_000)
        params["explain"]["fairness"]["tradeoff_rows"] = 1_000
        params["drift"].update(sample_rows=1_000, timeline_rows=300, months=3)
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)


def pipeline_env(root: Path) -> dict[str, str]:
    """The environment of a ``dvc repro`` in the copy ``root``."""
    return os.environ | {
        "CREDIT_SCORING_ROOT": str(root),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def dvc_repro(root: Path) -> None:
    """``dvc repro`` in the copy ``root``; fails the test with the end of its output."""
    result = subprocess.run(
        [BIN / "dvc", "repro"], cwd=root, env=pipeline_env(root), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``name``, a folder that ``build`` fills once for the whole run, whichever xdist worker
    asks first: the others wait on a lock, then reuse it (a pipeline run takes minutes, and
    xdist's ``loadgroup`` cannot keep the tests that share one on one worker: with pytest 9 it
    groups nothing).

    A failed build is not retried by the next worker: it fails with the same message.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of this run
    root = base / "shared" / name
    built, failed = (root.parent / f"{root.name}.{state}" for state in ("built", "failed"))
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root.parent / f"{root.name}.lock")):
        if failed.exists():
            pytest.fail(f"building {name} failed on another worker: {failed.read_text()}")
        if not built.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            try:
                build(root)
            except BaseException as error:
                failed.write_text(str(error)[-3000:], encoding="utf-8")
                raise
            built.touch()
    return root


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, full_scale) -> Path:
    """A copy of the repo with a small twin, after ``dvc repro``."""

    def build(root: Path) -> None:
        prepare_pipeline_copy(root, full_scale)
        dvc_repro(root)

    return built_once(tmp_path_factory, "repo", build)
