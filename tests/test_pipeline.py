"""The whole pipeline, `dvc repro`, on a small twin in a copy of the repository (the site it
renders is checked in test_site.py, on the same run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# One `dvc repro` (the session fixture `pipeline_run` of conftest.py) serves every module of
# the group: xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("pipeline")


def test_second_repro_has_nothing_to_do(pipeline_run):
    env = os.environ | {"CREDIT_SCORING_ROOT": str(pipeline_run), "DVC_NO_ANALYTICS": "1"}
    status = subprocess.run(
        [BIN / "dvc", "status"], cwd=pipeline_run, env=env, capture_output=True, text=True
    )
    assert "up to date" in status.stdout, status.stdout
