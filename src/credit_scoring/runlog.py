"""What a stage measured that its outputs must not hold: durations, run ids, versions, warnings.

DVC hashes every stage output, and a reviewer re-running the pipeline must get the same bytes.
A duration, a clock time, an MLflow run id or a registry version number differs at every run,
so none of them goes into an output: each stage records them here, in
``data/logs/<stage>.json`` (git-ignored and no DVC output), and in MLflow where it logs.

Examples
--------
>>> import tempfile, pathlib
>>> logs = pathlib.Path(tempfile.mkdtemp())
>>> _ = record("features", {"seconds": {"total": 1.5}}, logs)
>>> _ = record("features", {"rows": 10}, logs)
>>> read("features", logs)
{'seconds': {'total': 1.5}, 'rows': 10}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from credit_scoring import paths


def record(stage: str, info: dict[str, Any], logs_dir: Path | None = None) -> Path:
    """Merge ``info`` into ``logs_dir/<stage>.json`` (written atomically); return its path."""
    logs_dir = Path(logs_dir or paths.LOGS_DIR)
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = logs_dir / f"{stage}.json"
    content = {**read(stage, logs_dir), **info}
    fd, tmp = tempfile.mkstemp(dir=logs_dir, prefix=f".{stage}.", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(content, f, indent=2, default=str)
    os.replace(tmp, path)
    return path


def read(stage: str, logs_dir: Path | None = None) -> dict[str, Any]:
    """What ``stage`` recorded last (empty when it never ran here)."""
    path = Path(logs_dir or paths.LOGS_DIR) / f"{stage}.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
