"""Every location of the project, anchored at the repository root, never the cwd.

``CREDIT_SCORING_ROOT`` overrides the root (tests run whole pipelines in a temporary copy).

Examples
--------
>>> RAW_DIR.relative_to(ROOT).as_posix()
'data/raw'
"""

from __future__ import annotations

import os
from pathlib import Path


def _find_root() -> Path:
    override = os.environ.get("CREDIT_SCORING_ROOT")
    if override:
        return Path(override).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "params.yaml").exists() and (parent / "dvc.yaml").exists():
            return parent
    # Installed outside a checkout: the working directory is the only sensible anchor left.
    return Path.cwd().resolve()


ROOT = _find_root()
PARAMS_FILE = ROOT / "params.yaml"
DATA_DIR = ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
TWIN_DIR = RAW_DIR / "twin"
INTERIM_DIR = DATA_DIR / "interim"
FEATURES_DIR = DATA_DIR / "features"
MODELS_DIR = DATA_DIR / "models"
REPORTS_DIR = DATA_DIR / "reports"
METRICS_DIR = DATA_DIR / "metrics"
MLFLOW_DIR = DATA_DIR / "mlflow"
# Timings, run ids and warnings of each stage: not a DVC output, so never hashed.
LOGS_DIR = DATA_DIR / "logs"
NOTEBOOKS_DIR = ROOT / "notebooks"
SITE_DIR = ROOT / "site"


def relative(path: Path | str) -> str:
    """``path`` as written into an output: relative to the repository root when inside it.

    Outputs that DVC hashes must not depend on where the repository was cloned.

    Examples
    --------
    >>> relative(RAW_DIR / "twin")
    'data/raw/twin'
    >>> relative("/elsewhere/raw")
    '/elsewhere/raw'
    """
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(ROOT).as_posix()
    except ValueError:
        return Path(path).as_posix()
