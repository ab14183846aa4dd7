"""The whole pipeline, `dvc repro`, on a small twin in a copy of the repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# One `dvc repro` (the session fixture `pipeline_run` of conftest.py) serves every module of
# the group: xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("pipeline")


def test_repro_builds_the_site_home_page(pipeline_run):
    assert (pipeline_run / "site" / "index.html").is_file()


def test_site_says_the_figures_come_from_the_twin(pipeline_run):
    home = (pipeline_run / "site" / "index.html").read_text(encoding="utf-8")
    assert "jumeau de données" in home


def test_site_quotes_the_row_count_of_the_data_stage(pipeline_run):
    metrics = json.loads((pipeline_run / "data" / "metrics" / "data.json").read_text())
    rows = metrics["tables"]["application_train"]["rows"]
    home = (pipeline_run / "site" / "index.html").read_text(encoding="utf-8")
    assert f"{rows:,}".replace(",", "\u202f") in home


def test_eda_report_is_executed_and_rendered(pipeline_run):
    report = json.loads((pipeline_run / "data" / "reports" / "eda.ipynb").read_text())
    outputs = [o for c in report["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    page = pipeline_run / "site" / "rapports" / "eda.html"
    assert "synthétiques" in page.read_text(encoding="utf-8")


def test_second_repro_has_nothing_to_do(pipeline_run):
    env = os.environ | {"CREDIT_SCORING_ROOT": str(pipeline_run), "DVC_NO_ANALYTICS": "1"}
    status = subprocess.run(
        [BIN / "dvc", "status"], cwd=pipeline_run, env=env, capture_output=True, text=True
    )
    assert "up to date" in status.stdout, status.stdout


def test_site_loads_nothing_from_the_network(pipeline_run):
    remote = re.compile(r"""(?:src|href)\s*=\s*["']https?://|@import\s+url\(["']?https?://""")
    offenders = [
        str(page.relative_to(pipeline_run))
        for page in (pipeline_run / "site").rglob("*")
        if page.suffix in {".html", ".css", ".js"}
        and remote.search(page.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_site_sources_are_clean_for_smalldocs(pipeline_run):
    env = os.environ | {"CREDIT_SCORING_ROOT": str(pipeline_run)}
    check = subprocess.run(
        [BIN / "smalldocs", "check", "."], cwd=pipeline_run, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
