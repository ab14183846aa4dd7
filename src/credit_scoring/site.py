"""The ``site`` stage: figures from the pipeline's metrics into ``_variables.yml``, then render.

Pages quote numbers through Quarto's ``{{< var ... >}}`` shortcode, so that no figure on the site
is typed by hand: both Quarto and smalldocs read ``_variables.yml`` beside ``_quarto.yml``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from credit_scoring import paths


def percent(value: float, digits: int = 1) -> str:
    """French percentage.

    >>> percent(0.0807)
    '8,1 %'
    """
    return f"{value * 100:.{digits}f} %".replace(".", ",")


def number(value: float, digits: int = 0) -> str:
    """French number with thin spaces between thousands.

    >>> number(307511)
    '307\u202f511'
    >>> number(0.7512, 3)
    '0,751'
    """
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def site_variables(metrics_dir: Path = paths.METRICS_DIR) -> dict[str, Any]:
    """The display strings the pages quote, computed from ``data/metrics/*.json``."""
    variables: dict[str, Any] = {}
    data_file = metrics_dir / "data.json"
    if data_file.exists():
        data = json.loads(data_file.read_text(encoding="utf-8"))
        tables = data["tables"]
        train = tables["application_train"]
        variables["data"] = {
            "origin": "jumeau de données (synthétique)" if data["origin"] == "twin" else "Kaggle",
            "train_rows": number(train["rows"]),
            "test_rows": number(tables["application_test"]["rows"]),
            "total_rows": number(sum(t["rows"] for t in tables.values())),
        }
        if "twin" in data:
            twin = data["twin"]
            variables["data"] |= {
                "default_rate": percent(twin["default_rate"], 2),
                "oracle_auc": number(twin["oracle_auc"], 3),
                "twin_seed": twin["config"]["seed"],
                "twin_drift": number(twin["config"]["drift"], 1),
            }
    return variables


def render_command(engine: str) -> tuple[str, list[str]]:
    """The engine actually used and its command line: Quarto where installed, else smalldocs."""
    if engine not in ("auto", "quarto", "smalldocs"):
        raise ValueError(f"params.yaml site.engine: expected auto, quarto or smalldocs, got {engine!r}")
    quarto = shutil.which("quarto")
    if engine == "quarto" and quarto is None:
        raise FileNotFoundError("params.yaml site.engine is 'quarto' but quarto is not installed")
    if engine in ("auto", "quarto") and quarto is not None:
        return "quarto", [quarto, "render", str(paths.ROOT)]
    smalldocs = str(Path(sys.executable).parent / "smalldocs")
    return "smalldocs", [smalldocs, "render", str(paths.ROOT)]


def build_site(engine: str = "auto") -> str:
    """Write ``_variables.yml`` and render the website into ``site/``; return the engine used."""
    variables = site_variables()
    (paths.ROOT / "_variables.yml").write_text(
        yaml.safe_dump(variables, allow_unicode=True, sort_keys=True), encoding="utf-8"
    )
    used, command = render_command(engine)
    subprocess.run(command, cwd=paths.ROOT, check=True)
    return used
