"""The whole pipeline, `dvc repro`, on a small twin in a copy of the repository (the site it
renders is checked in test_site.py, on the same run), and its reproducibility: a second copy at
another path, run while busy processes load the CPUs, writes the same bytes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import built_once, dvc_repro, pipeline_env, prepare_pipeline_copy

BIN = Path(sys.executable).parent

#: Spins until killed: the load of a machine that runs something else beside the pipeline.
BUSY_LOOP = "while True: pass"


def _dvc(root: Path, *args: str) -> str:
    result = subprocess.run(
        [BIN / "dvc", *args], cwd=root, env=pipeline_env(root), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _output_hashes(root: Path) -> dict[str, str]:
    """Every output of every stage in ``dvc.lock``: path -> md5."""
    lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    return {
        f"{stage}: {out['path']}": out["md5"]
        for stage, entry in lock["stages"].items()
        for out in entry.get("outs", [])
    }


@pytest.fixture(scope="session")
def second_run(tmp_path_factory, full_scale) -> Path:
    """Another copy, at a deeper path with a space in it, run under CPU load."""

    def build(folder: Path) -> None:
        root = folder / "elsewhere" / "credit scoring"
        root.mkdir(parents=True)
        prepare_pipeline_copy(root, full_scale)
        busy = [
            subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(os.cpu_count() or 2)
        ]
        try:
            dvc_repro(root)
        finally:
            for process in busy:
                process.kill()
                process.wait()

    return built_once(tmp_path_factory, "other clone", build) / "elsewhere" / "credit scoring"


# First: a worker that starts here builds the second clone while another builds the first.
def test_no_output_holds_the_path_of_its_clone(second_run):
    leaks = [
        str(path.relative_to(second_run))
        for folder in (
            "data/interim",
            "data/metrics",
            "data/features",
            "data/models",
            "data/reports",
            "site",
        )
        for path in (second_run / folder).rglob("*")
        if path.is_file()
        and path.suffix not in (".parquet", ".png")
        and str(second_run).encode() in path.read_bytes()
    ]
    assert not leaks


def test_executed_reports_hold_no_clock_and_no_memory_address(second_run):
    for report in (second_run / "data" / "reports").glob("*.ipynb"):
        text = report.read_text(encoding="utf-8")
        assert not re.search(r" at 0x[0-9a-f]{6,}", text), report.name  # a repr with an address
        assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", text), report.name  # a timestamp


def test_second_repro_has_nothing_to_do(pipeline_run):
    assert "up to date" in _dvc(pipeline_run, "status")


def test_two_clones_at_two_paths_under_load_write_the_same_outputs(pipeline_run, second_run):
    first, second = _output_hashes(pipeline_run), _output_hashes(second_run)
    assert len(first) >= 15  # every stage's outputs, data to site
    differing = {path for path in first if first[path] != second.get(path)}
    assert not differing, f"outputs that differ between the two clones: {sorted(differing)}"
    assert first == second


def test_two_clones_have_no_metrics_difference(pipeline_run, second_run):
    # `dvc metrics diff` compares a git revision with the workspace: the first clone's
    # metrics files, committed in the second clone, against the second clone's own.
    metrics = second_run / "data" / "metrics"
    own = {path.name: path.read_bytes() for path in metrics.glob("*.json")}
    for path in (pipeline_run / "data" / "metrics").glob("*.json"):
        (metrics / path.name).write_bytes(path.read_bytes())
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    # The revision needs dvc.yaml too: it names the metrics files.
    subprocess.run([*git, "add", "-A"], cwd=second_run, check=True)
    subprocess.run([*git, "add", "-f", "data/metrics"], cwd=second_run, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first clone"], cwd=second_run, check=True)
    for name, content in own.items():
        (metrics / name).write_bytes(content)
    diff = json.loads(_dvc(second_run, "metrics", "diff", "--json") or "{}")
    assert diff == {}, diff
    assert len(own) == 5  # data, features, train, explain, drift


def test_every_run_of_the_train_stage_is_in_the_project_experiment(pipeline_run):
    import mlflow

    from credit_scoring.modelling import registry

    uri = registry.tracking_uri(pipeline_run / "data" / "mlflow")
    client = mlflow.MlflowClient(tracking_uri=uri)
    params = yaml.safe_load((pipeline_run / "params.yaml").read_text(encoding="utf-8"))["train"]
    experiments = {e.name: e.experiment_id for e in client.search_experiments()}
    project = client.search_runs([experiments[params["experiment"]]], max_results=5000)
    others = [e for name, e in experiments.items() if name != params["experiment"]]
    assert not (others and client.search_runs(others, max_results=1))
    pairs = 1 + (len(params["models"]) - 1) * len(params["strategies"])
    # the stage, the comparison, the tuning and its trials, the scorecard challenger
    assert len(project) == 1 + pairs + 1 + params["tune_trials"] + 1
    by_id = {run.info.run_id: run for run in project}
    parent = next(run for run in project if run.info.run_name == "train")
    for run in project:
        if run is not parent:  # every child's parent is in the same experiment
            assert run.data.tags["mlflow.parentRunId"] in by_id
