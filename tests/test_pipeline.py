"""The whole pipeline, `dvc repro`, on a small twin in a copy of the repository (the site it
renders is checked in test_site.py, on the same run), and its reproducibility: a second copy at
another path, run while busy processes load the CPUs, writes the same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import dvc_repro, pipeline_env, prepare_pipeline_copy

BIN = Path(sys.executable).parent
# One `dvc repro` (the session fixture `pipeline_run` of conftest.py) serves every module of
# the group: xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("pipeline")

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


@pytest.fixture(scope="module")
def second_run(tmp_path_factory, full_scale) -> Path:
    """Another copy, at a deeper path with a space in it, run under CPU load."""
    root = tmp_path_factory.mktemp("other clone") / "elsewhere" / "credit scoring"
    root.mkdir(parents=True)
    prepare_pipeline_copy(root, full_scale)
    busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(os.cpu_count() or 2)]
    try:
        dvc_repro(root)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    return root


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
    subprocess.run([*git, "add", "-f", "data/metrics"], cwd=second_run, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first clone"], cwd=second_run, check=True)
    for name, content in own.items():
        (metrics / name).write_bytes(content)
    diff = json.loads(_dvc(second_run, "metrics", "diff", "--json") or "{}")
    assert diff == {}, diff
    assert len(own) == 5  # data, features, train, explain, drift


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
