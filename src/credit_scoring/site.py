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
from credit_scoring.labels import number, percent


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


#: Where the site stage writes the reader versions of the executed notebooks (git-ignored).
READER_DIR = paths.ROOT / "rapports"
#: The executed notebooks the site shows, by report name (= stage name).
REPORTS = ("eda", "features")
_HIDDEN_TAGS = {"parameters", "injected-parameters"}


def reader_notebook(notebook: dict[str, Any]) -> dict[str, Any]:
    """The executed notebook as a reviewer reads it: code hidden, parameter cells dropped.

    Examples
    --------
    >>> nb = {"cells": [
    ...     {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "seed = 1"},
    ...     {"cell_type": "code", "metadata": {}, "source": "#| label: fig-a\\nplot()"},
    ...     {"cell_type": "markdown", "metadata": {}, "source": "## Titre"}]}
    >>> [c["source"] for c in reader_notebook(nb)["cells"]]
    ['#| echo: false\\n#| label: fig-a\\nplot()', '## Titre']
    """
    cells = []
    for cell in notebook["cells"]:
        if _HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            cell = cell | {"source": "#| echo: false\n" + source}
        cells.append(cell)
    return notebook | {"cells": cells}


def publish_reports(reports_dir: Path = paths.REPORTS_DIR, reader_dir: Path = READER_DIR) -> None:
    """Write the reader version of each executed report next to the site's pages."""
    reader_dir.mkdir(exist_ok=True)
    for name in REPORTS:
        notebook = json.loads((reports_dir / f"{name}.ipynb").read_text(encoding="utf-8"))
        (reader_dir / f"{name}.ipynb").write_text(
            json.dumps(reader_notebook(notebook), ensure_ascii=False, indent=1), encoding="utf-8"
        )


def render_command(engine: str) -> tuple[str, list[str]]:
    """The engine actually used and its command line: Quarto where installed, else smalldocs."""
    if engine not in ("auto", "quarto", "smalldocs"):
        raise ValueError(
            f"params.yaml site.engine: expected auto, quarto or smalldocs, got {engine!r}"
        )
    quarto = shutil.which("quarto")
    if engine == "quarto" and quarto is None:
        raise FileNotFoundError("params.yaml site.engine is 'quarto' but quarto is not installed")
    if engine in ("auto", "quarto") and quarto is not None:
        return "quarto", [quarto, "render", str(paths.ROOT)]
    smalldocs = str(Path(sys.executable).parent / "smalldocs")
    return "smalldocs", [smalldocs, "render", str(paths.ROOT)]


def build_site(engine: str = "auto") -> str:
    """Write ``_variables.yml`` and the reports, render ``site/``; return the engine used."""
    publish_reports()
    variables = site_variables()
    (paths.ROOT / "_variables.yml").write_text(
        yaml.safe_dump(variables, allow_unicode=True, sort_keys=True), encoding="utf-8"
    )
    used, command = render_command(engine)
    subprocess.run(command, cwd=paths.ROOT, check=True)
    return used
