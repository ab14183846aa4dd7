"""The ``site`` stage: the pipeline's outputs into the methodology site, then render.

No figure on the site is typed by hand. The stage writes, before rendering:

- ``_variables.yml``: every number the pages quote with ``{{< var ... >}}``, formatted the
  French way from ``data/metrics/*.json`` and ``params.yaml`` (:func:`site_variables`);
- ``rapports/*.ipynb``: the executed reports, as a reader sees them (code hidden, parameter
  cells dropped; :func:`publish_reports`);
- ``rapports/figures/*.png`` and ``rapports/_inclus/*.md``: the labelled figures and tables of
  the executed reports, and tables computed from the metrics, as Markdown snippets the pages
  include with ``{{< include ... >}}`` (:func:`write_includes`). Quarto's ``embed`` shortcode
  would do the same for notebooks, but smalldocs has none; ``include`` is understood by both;
- ``rapports/evidently-drift.html``: the Evidently report the drift page embeds.

Both Quarto and smalldocs read ``_variables.yml`` beside ``_quarto.yml``; ``build_site``
renders with Quarto where it is installed, else with smalldocs.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from credit_scoring import paths
from credit_scoring.labels import french_list, interval, number, percent

#: Where the site stage writes the reader versions of the executed notebooks (git-ignored).
READER_DIR = paths.ROOT / "rapports"
#: The executed notebooks the site shows, by report name (= stage name).
REPORTS = ("eda", "features", "train", "explain", "drift")
#: Sub-folders of ``READER_DIR``: extracted figures, and the Markdown snippets pages include.
FIGURES = "figures"
INCLUDES = "_inclus"
#: The Evidently report, copied under a name no rendered page takes (``drift.ipynb`` renders
#: to ``rapports/drift.html``).
EVIDENTLY_FILE = "evidently-drift.html"
#: Dashboard screenshots, and the README that captions them.
DASHBOARD_DIR = paths.ROOT / "images" / "dashboard"
_HIDDEN_TAGS = {"parameters", "injected-parameters"}

MODEL_FR = {
    "dummy": "référence (probabilité constante)",
    "logreg": "régression logistique",
    "random_forest": "forêt aléatoire",
    "xgboost": "XGBoost",
    "lightgbm": "LightGBM",
}
STRATEGY_FR = {
    "none": "aucun rééquilibrage",
    "class_weight": "pondération des classes",
    "smote": "SMOTE (sur-échantillonnage synthétique)",
    "undersample": "sous-échantillonnage aléatoire",
}
#: Shorter names for the comparison table's cells.
MODEL_SHORT = MODEL_FR | {
    "dummy": "Référence",
    "logreg": "Régression logistique",
    "random_forest": "Forêt aléatoire",
}
STRATEGY_SHORT = {
    "none": "aucun",
    "class_weight": "pondération",
    "smote": "SMOTE",
    "undersample": "sous-échantillonnage",
}
CALIBRATION_FR = {"isotonic": "isotonique", "sigmoid": "sigmoïde (Platt)"}
OBJECTIVE_FR = {"roc_auc": "l'AUC ROC", "cost": "le coût métier"}
DECISIONS_FR = {"grant": "accordé", "review": "à étudier", "refuse": "refusé"}


# --------------------------------------------------------------------------- variables


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def data_variables(data: Mapping[str, Any], train: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``data`` variables, from the data stage's summary: origin, row counts, default
    rate, twin settings."""
    tables = data["tables"]
    twin = data["origin"] == "twin"
    out: dict[str, Any] = {
        "origin": "jumeau de données (synthétique)" if twin else "fichiers Kaggle réels",
        "is_twin": "oui" if twin else "non",
        "origin_note": (
            "Tous les chiffres et figures de ce site ont été produits sur le **jumeau de "
            "données** : des clients synthétiques, pas une clientèle réelle."
            if twin
            else "Tous les chiffres et figures de ce site ont été produits sur les fichiers "
            "Kaggle réels « Home Credit Default Risk »."
        ),
        "train_rows": number(tables["application_train"]["rows"]),
        "test_rows": number(tables["application_test"]["rows"]),
        "total_rows": number(sum(t["rows"] for t in tables.values())),
        "tables": len(tables),
        "train_columns": tables["application_train"]["columns"],
        "train_missing": percent(tables["application_train"]["missing_share"]),
    }
    if twin:
        t = data["twin"]
        out |= {
            "default_rate": percent(t["default_rate"], 2),
            "oracle_auc": number(t["oracle_auc"], 3),
            "twin_seed": t["config"]["seed"],
            "twin_drift": number(t["config"]["drift"], 1),
            "twin_version": t.get("generator_version", ""),
        }
    elif train is not None:
        rows, rates = train["rows"], train["default_rate"]
        rate = (rates["train"] * rows["train"] + rates["test"] * rows["test"]) / (
            rows["train"] + rows["test"]
        )
        out["default_rate"] = percent(rate, 2)
    return out


def params_variables(params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``params`` variables: the tunables the pages quote, from ``params.yaml``."""
    t = params.get("train", {})
    out: dict[str, Any] = {}
    if t:
        low, high = t["review_band"]
        out |= {
            "cost_fn": number(t["cost_fn"]),
            "cost_fp": number(t["cost_fp"]),
            "review_low": number(low),
            "review_high": number(high),
            "test_size": percent(t["test_size"], 0),
            "models": french_list([MODEL_FR.get(m, m) for m in t["models"]]),
            "models_count": len(t["models"]),
            "strategies": french_list([STRATEGY_FR.get(s, s) for s in t["strategies"]]),
            "strategies_count": len(t["strategies"]),
            "compare_folds": t["compare_folds"],
            "tune_trials": t["tune_trials"],
            "tune_folds": t["tune_folds"],
            "tune_objective": OBJECTIVE_FR.get(t["tune_objective"], t["tune_objective"]),
            "select_by": OBJECTIVE_FR.get(t["select_by"], t["select_by"]),
            "calibration": CALIBRATION_FR.get(t["calibration"], t["calibration"]),
            "calibration_folds": t["calibration_folds"],
            "max_trees": number(t["max_trees"]),
            "patience": number(t["patience"]),
            "bootstrap": number(t["bootstrap"]),
            "excluded": french_list([f"`{c}`" for c in t.get("exclude_features", [])] or ["—"]),
            "seed": t["seed"],
            "experiment": t["experiment"],
            "model_name": t["model_name"],
        }
    d = params.get("drift", {})
    if d:
        out |= {
            "drift_alert_share": percent(d["alert_share"], 0),
            "drift_sample_rows": number(d["sample_rows"]),
            "drift_months": d["months"],
        }
    e = params.get("explain", {})
    if e:
        out |= {"explain_reasons": e["reasons"], "explain_sample_rows": number(e["sample_rows"])}
    return out


def train_variables(m: Mapping[str, Any]) -> dict[str, Any]:
    """The ``train`` variables, from the stage's ``summary.json``."""
    from credit_scoring.modelling.report import members_text

    ch, rows = m["champion"], m["rows"]
    out: dict[str, Any] = {
        "model": MODEL_FR.get(ch["model"], ch["model"]),
        "strategy": STRATEGY_FR.get(ch["strategy"], ch["strategy"]),
        "calibration": CALIBRATION_FR.get(ch["calibration"], ch["calibration"]),
        "champion": members_text(ch["members"]),
        "blend_oof_auc": number(ch["blend_oof_auc"], 3),
        "points_to_double_odds": number(m["points_to_double_odds"], 0),
        "band_p_low": percent(m["band"]["p_low"], 1),
        "band_p_high": percent(m["band"]["p_high"], 1),
        "band_share": percent(m["band"]["share_review"], 1),
        "band_cost_grant_all": number(m["band"]["cost_grant_all"], 3),
        "band_cost_refuse_all": number(m["band"]["cost_refuse_all"], 3),
        "band_cost_follow": number(m["band"]["cost_follow_threshold"], 3),
        "scorecard_features": len(m["scorecard"]["features"]),
        "scorecard_auc": number(m["scorecard"]["test_auc"], 3),
        "scorecard_auc_gap": number(m["scorecard"]["auc_gap"], 3),
        "rows_train": number(rows["train"]),
        "rows_test": number(rows["test"]),
        "rows_comparison": number(rows["comparison"]),
        "rows_tuning": number(rows["tuning"]),
        "features": number(rows["features"]),
        "default_rate_train": percent(m["default_rate"]["train"], 2),
        "default_rate_test": percent(m["default_rate"]["test"], 2),
        "cv_auc": number(m["cv_auc"], 3),
        "cv_auc_std": number(m["cv_auc_std"], 3),
        "trials": m["tuning"]["trials"],
        "test_auc": number(m["test_auc"], 3),
        "test_auc_ci": interval(m["test_auc_ci"]),
        "test_pr_auc": number(m["test_pr_auc"], 3),
        "test_brier": number(m["test_brier"], 4),
        "test_brier_raw": number(m["test_brier_raw"], 4),
        "test_cost": number(m["test_cost_per_client"], 3),
        "test_cost_ci": interval(m["test_cost_ci"]),
        "test_cost_half": number(m["test_cost_at_half"], 3),
        "test_cost_accept_all": number(m["test_cost_accept_all"], 3),
        "saving_accept_all": percent(m["saving_vs_accept_all"], 0),
        "saving_half": percent(m["saving_vs_half"], 0),
        "recall": percent(m["test_recall"], 1),
        "precision": percent(m["test_precision"], 1),
        "refusal_rate": percent(m["test_refusal_rate"], 1),
        "threshold": number(m["threshold"], 3),
        "threshold_percent": percent(m["threshold"], 1),
        "theoretical_threshold": number(m["theoretical_threshold"], 3),
        "model_name": m.get("model_name", ""),
    }
    selection = m.get("selection", {})
    if selection:
        out |= {
            "others_tied": selection["others_tied"],
            "chosen_fold_wins": selection["chosen_fold_wins"],
            "runner_up_gap_in_se": "—"
            if selection["runner_up_gap_in_se"] is None
            else number(selection["runner_up_gap_in_se"], 1),
        }
    if "oracle" in m:
        o = m["oracle"]
        out |= {
            "oracle_auc": number(o["auc"], 3),
            "oracle_cost": number(o["cost_per_client"], 3),
            "oracle_auc_gap": number(o["auc_gap"], 3),
            "oracle_cost_ratio": percent(o["cost_ratio"], 1),
        }
    return out


def explain_variables(m: Mapping[str, Any]) -> dict[str, Any]:
    """The ``explain`` variables, from the stage's ``summary.json``.

    No latency: it differs from run to run and machine to machine, so no stage output holds
    it (``make bench`` measures it).
    """
    top = m["top_features"]
    out: dict[str, Any] = {
        "sample_rows": number(m["sample_rows"]),
        "features": number(m["features"]),
        "top1": top[0]["label"] if top else "—",
        "top1_share": percent(top[0]["share"], 0) if top else "—",
        "top3": french_list([t["label"].lower() for t in top[:3]]) if top else "—",
        "top3_share": percent(sum(t["share"] for t in top[:3]), 0) if top else "—",
        "gain_overlap": percent(m["gain_shap_rank_overlap"], 0),
        "stability_top_k": m["stability"]["top_k"],
        "stability_overlap": percent(m["stability"]["overlap_mean"], 0),
        "stability_always": len(m["stability"].get("always_top", [])),
        "production_clients": number(m["production"]["clients"]),
    }
    for d, share in m["production"]["decision_shares"].items():
        out[f"share_{d}"] = percent(share, 1)
    f = m["fairness"]
    out["gender_in_model"] = "oui" if f["sensitive_features_in_model"] else "non"
    gaps = f.get("gaps", {})
    for attribute in ("gender", "age_band"):
        for rate in ("refusal_rate", "false_negative_rate", "false_positive_rate"):
            g = gaps.get(attribute, {}).get(rate)
            if g is None:
                continue
            key = f"{attribute}_{rate}"
            out[f"{key}_gap"] = percent(g["difference"], 1)
            out[f"{key}_ratio"] = number(g["ratio"], 2)
            out[f"{key}_highest"] = g["highest"]
            out[f"{key}_lowest"] = g["lowest"]
    overall = f.get("overall", {})
    if "refusal_rate" in overall:
        out["overall_refusal_rate"] = percent(overall["refusal_rate"], 1)
    return out


def drift_variables(m: Mapping[str, Any]) -> dict[str, Any]:
    """The ``drift`` variables, from the stage's full summary ``data/reports/drift.json``."""
    out: dict[str, Any] = {
        "columns": m["columns"],
        "drifted_columns": m["drifted_columns"],
        "drifted_share": percent(m["drifted_share"], 1),
        "alert_share": percent(m["alert_share"], 0),
        "dataset_drift": "oui" if m["dataset_drift"] else "non",
        "verdict": (
            "le lot de production **est en dérive** : l'alerte se déclenche"
            if m["dataset_drift"]
            else "le lot de production **n'est pas en dérive** au sens de l'alerte"
        ),
        "psi_significant": len(m.get("psi_significant", [])),
        "reference_rows": number(m["sampled"]["reference_rows"]),
        "current_rows": number(m["sampled"]["current_rows"]),
    }
    score = m.get("score")
    if score:
        out |= {
            "score_psi": number(score["psi"], 3),
            "score_reading": score["reading"],
            "score_mean_reference": number(score["mean_reference"], 1),
            "score_mean_current": number(score["mean_current"], 1),
        }
    timeline = m.get("timeline", {})
    if timeline:
        month = timeline.get("alert_month")
        out["months"] = timeline["months"]
        out["alert_month"] = (
            f"au mois {month} sur {timeline['months']}"
            if month is not None
            else f"à aucun des {timeline['months']} mois"
        )
    return out


#: The figures of ``tests/benchmarks/spark_scale.py`` that the "Passer à l'échelle" page quotes:
#: measured on a machine, not produced by the pipeline, so committed with the page.
SPARK_SCALE_FILE = paths.ROOT / "docs" / "benchmarks" / "spark_scale.json"
#: A large single machine of a cloud (memory, GB), for the training-size bound of that page...
LARGE_MACHINE_GB = 256
#: ...with this many float64 copies of the training table alive at once (LightGBM's binned
#: histograms, the cross-validation folds, the calibration).
TRAINING_COPIES = 4


def _seconds(value: float) -> str:
    """Seconds, with a decimal under ten.

    >>> _seconds(0.44), _seconds(43.36)
    ('0,4', '43')
    """
    return number(value, 1 if value < 10 else 0)


def _largest(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return max(m["results"], key=lambda r: r["scale"])


def scale_variables(m: Mapping[str, Any]) -> dict[str, Any]:
    """The ``scale`` variables, from the benchmark's ``spark_scale.json``: the machine, and the
    features stage on DuckDB and on Spark at the largest scale measured.

    Examples
    --------
    >>> m = {"machine": {"cores": 2, "memory_gb": 24}, "spark": {"master": "local[2]"},
    ...      "results": [{"scale": 1.0, "clients_train": 307511, "clients_production": 48744,
    ...                   "history_rows": 58000000, "ratio": 4.0, "history_ratio": 6.0,
    ...                   "duckdb": {"seconds": 60.0, "history_s": 20.0, "peak_rss_gb": 5.1,
    ...                              "features": 500},
    ...                   "spark": {"seconds": 240.0, "history_s": 120.0, "peak_rss_gb": 4.2,
    ...                             "startup_s": 9.0}}]}
    >>> v = scale_variables(m)
    >>> v["largest"], v["ratio"], v["spark_seconds"], v["max_clients_large_machine"]
    ('100\u202f%', '4,0', '240', '16 millions')
    """
    largest = _largest(m)
    duck, spark = largest["duckdb"], largest["spark"]
    bytes_per_client = 8 * int(duck["features"])
    max_clients = LARGE_MACHINE_GB * 1e9 / (TRAINING_COPIES * bytes_per_client)
    return {
        "features": number(duck["features"]),
        "bytes_per_client": number(bytes_per_client),
        "large_machine_gb": number(LARGE_MACHINE_GB),
        "max_clients_large_machine": f"{number(max_clients / 1e6)} millions",
        "scales": french_list([percent(r["scale"], 0) for r in m["results"]]),
        "largest": percent(largest["scale"], 0),
        "clients": number(largest["clients_train"] + largest["clients_production"]),
        "history_rows": number(largest["history_rows"]),
        "cores": number(m["machine"]["cores"]),
        "memory_gb": number(m["machine"]["memory_gb"]),
        "master": str(m["spark"]["master"]),
        "duckdb_seconds": _seconds(duck["seconds"]),
        "duckdb_history_seconds": _seconds(duck["history_s"]),
        "duckdb_peak_gb": number(duck["peak_rss_gb"], 1),
        "spark_seconds": _seconds(spark["seconds"]),
        "spark_history_seconds": _seconds(spark["history_s"]),
        "spark_peak_gb": number(spark["peak_rss_gb"], 1),
        "spark_startup_seconds": _seconds(spark["startup_s"]),
        "ratio": number(largest["ratio"], 1),
        "history_ratio": number(largest["history_ratio"], 1),
    }


def scale_markdown(m: Mapping[str, Any]) -> str:
    """The table of the benchmark: one row per scale, both engines side by side."""
    rows = [
        {
            "Échelle": percent(r["scale"], 1 if r["scale"] < 0.095 else 0),
            "Clients": number(r["clients_train"] + r["clients_production"]),
            "Lignes d'historique": number(r["history_rows"]),
            "DuckDB (s)": _seconds(r["duckdb"]["seconds"]),
            "DuckDB, historique (s)": _seconds(r["duckdb"]["history_s"]),
            "DuckDB, pic (Go)": number(r["duckdb"]["peak_rss_gb"], 1),
            f"Spark {m['spark']['master']} (s)": _seconds(r["spark"]["seconds"]),
            "Spark, historique (s)": _seconds(r["spark"]["history_s"]),
            "Spark, pic (Go)": number(r["spark"]["peak_rss_gb"], 1),
            "Spark / DuckDB": number(r["ratio"], 1),
        }
        for r in sorted(m["results"], key=lambda r: r["scale"])
    ]
    caption = (
        f"L'étape features sur les mêmes fichiers, DuckDB puis Spark, sur une machine de "
        f"{number(m['machine']['cores'])} cœurs et {number(m['machine']['memory_gb'])} Go "
        "(tests/benchmarks/spark_scale.py). Le démarrage de Spark est compté à part."
    )
    return markdown_table(pd.DataFrame(rows), caption, "tbl-echelle")


def site_variables(
    metrics_dir: Path = paths.METRICS_DIR,
    params_file: Path = paths.PARAMS_FILE,
    models_dir: Path = paths.MODELS_DIR,
    interim_dir: Path = paths.INTERIM_DIR,
    reports_dir: Path = paths.REPORTS_DIR,
    spark_scale_file: Path = SPARK_SCALE_FILE,
) -> dict[str, Any]:
    """The display strings the pages quote, from the stages' outputs and ``params.yaml``.

    Each stage gives one section (``data``, ``train``, ``explain``, ``drift``); a missing
    output leaves its section out. ``params`` holds the tunables.
    """
    metrics_dir = Path(metrics_dir)
    train = _read_json(Path(models_dir) / "summary.json")
    variables: dict[str, Any] = {}
    data = _read_json(Path(interim_dir) / "summary.json")
    if data is not None:
        variables["data"] = data_variables(data, train)
    features = _read_json(metrics_dir / "features.json")
    if features is not None:
        variables["features"] = {
            "count": number(features["features"]),
            "from_history": number(features["history_features"]),
        }
    from credit_scoring import fidelity

    profile = fidelity.load_profile()
    side = {t["sample_rows"] for name, t in profile.items() if name != "application_train"}
    variables["profile"] = {
        "train_rows": number(profile["application_train"]["sample_rows"]),
        "side_rows": french_list([number(n) for n in sorted(side)]),
        **{f"{gap}_tolerance": number(100 * limit) for gap, limit in fidelity.TOLERANCES.items()},
    }
    if Path(params_file).exists():
        params = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
        variables["params"] = params_variables(params)
    if train is not None:
        variables["train"] = train_variables(train)
    # The full summaries, not the headline figures of data/metrics/.
    explain = _read_json(Path(reports_dir) / "explain" / "summary.json")
    if explain is not None:
        variables["explain"] = explain_variables(explain)
    drift = _read_json(Path(reports_dir) / "drift.json")
    if drift is not None:
        variables["drift"] = drift_variables(drift)
    scale = _read_json(Path(spark_scale_file))
    if scale is not None:
        variables["scale"] = scale_variables(scale)
    return variables


# --------------------------------------------------------------------------- reports


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


@dataclass(frozen=True)
class Output:
    """A labelled output of an executed notebook.

    Attributes
    ----------
    label
        The cell's ``#| label:`` (``fig-...`` or ``tbl-...``).
    kind
        ``figure`` (a PNG) or ``table`` (HTML).
    content
        The PNG bytes, or the HTML.
    caption
        The cell's ``fig-cap`` or ``tbl-cap`` ("" when it has none).
    """

    label: str
    kind: str
    content: bytes | str
    caption: str


def _cell_options(source: str) -> dict[str, Any]:
    lines = [line[2:].strip() for line in source.splitlines() if line.startswith("#|")]
    try:
        options = yaml.safe_load("\n".join(lines)) if lines else {}
    except yaml.YAMLError:
        return {}
    return options if isinstance(options, dict) else {}


def notebook_outputs(notebook: Mapping[str, Any]) -> dict[str, Output]:
    """The labelled figures and tables of an executed notebook, by label.

    A ``fig-`` cell gives its first PNG, a ``tbl-`` cell its first HTML output.

    Examples
    --------
    >>> png = base64.b64encode(b"png").decode()
    >>> nb = {"cells": [{"cell_type": "code", "metadata": {},
    ...     "source": "#| label: fig-a\\n#| fig-cap: Une figure\\nplot()",
    ...     "outputs": [{"output_type": "display_data", "data": {"image/png": png}}]}]}
    >>> out = notebook_outputs(nb)["fig-a"]
    >>> out.kind, out.content, out.caption
    ('figure', b'png', 'Une figure')
    """
    found: dict[str, Output] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        options = _cell_options(source)
        label = str(options.get("label", ""))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if label.startswith("fig-") and "image/png" in data:
                png = data["image/png"]
                png = "".join(png) if isinstance(png, list) else png
                caption = options.get("fig-cap", "")
                caption = caption[0] if isinstance(caption, list) else caption
                found[label] = Output(label, "figure", base64.b64decode(png), str(caption))
                break
            if label.startswith("tbl-") and "text/html" in data:
                html = data["text/html"]
                html = "".join(html) if isinstance(html, list) else html
                found[label] = Output(label, "table", html, str(options.get("tbl-cap", "")))
                break
    return found


def _table_html(html: str) -> str:
    """A notebook's HTML table with the site's table classes, without its own ``<style>``."""
    html = re.sub(r"<style[^>]*>.*?</style>", "", html, flags=re.S)
    if not re.search(r"<table\b[^>]*\bclass=", html):
        html = re.sub(r"<table\b", '<table class="table table-sm table-striped"', html, count=1)
    return html.strip()


def output_markdown(report: str, output: Output, figures: str) -> str:
    """The Markdown that shows one output on a page at the site's top level.

    Examples
    --------
    >>> output_markdown("train", Output("fig-roc", "figure", b"", "ROC"), "rapports/figures")
    '![ROC](rapports/figures/train-fig-roc.png){#fig-train-roc}\\n'
    """
    ident = output.label.replace("-", f"-{report}-", 1)
    if output.kind == "figure":
        return f"![{output.caption}]({figures}/{report}-{output.label}.png){{#{ident}}}\n"
    table = _table_html(str(output.content))
    if output.caption and "<caption" not in table:
        caption = f"<caption>{html.escape(output.caption)}</caption>"
        table = re.sub(r"(<table\b[^>]*>)", lambda m: m.group(1) + caption, table, count=1)
    fence = "````"
    return f'{fence}{{=html}}\n<div class="table-responsive">\n{table}\n</div>\n{fence}\n'


def markdown_table(frame: pd.DataFrame, caption: str, ident: str = "") -> str:
    """A pipe table with its caption, for both Quarto and smalldocs (cells already strings).

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"a": ["1"], "b": ["x|y"]}), "Légende"))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    <BLANKLINE>
    : Légende
    <BLANKLINE>
    """

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    suffix = f" {{#{ident}}}" if ident else ""
    return "\n".join(lines) + f"\n\n: {caption}{suffix}\n"


def _formatted(frame: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]]) -> pd.DataFrame:
    out = frame.reset_index()
    for column in out.columns:
        fmt = next((f for key, f in formats.items() if key in str(column)), str)
        out[column] = [
            ("–" if pd.isna(v) else fmt(v)) if not isinstance(v, str) else v for v in out[column]
        ]
    return out


def profile_markdown(comparison: Mapping[str, Any], origin: str) -> str:
    """The "Données" page's comparison with the real samples, as Markdown tables."""
    ours = "jumeau" if origin == "twin" else "données complètes"
    data_rate, real_rate = comparison["default_rate"]
    parts = [
        f"Taux de défaut : **{percent(data_rate, 2)}** ({ours}) contre "
        f"**{percent(real_rate, 2)}** dans l'échantillon réel.\n"
    ]

    def rename(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(
            columns=lambda c: c.replace("(données)", f"({ours})").replace("(réel)", "(réel)")
        )

    columns = comparison["columns"]

    def digits(name: str) -> int:
        return 3 if "Score externe" in name else 1 if "(an" in name else 0

    central, spread = [], []
    for name, row in columns.iterrows():
        d = digits(str(name))

        def value(key: str, d: int = d, row: pd.Series = row) -> str:
            return "–" if pd.isna(row[key]) else number(row[key], d)

        central.append(
            {
                "variable": name,
                f"manquants ({ours})": percent(row["manquants (données)"], 1),
                "manquants (réel)": percent(row["manquants (réel)"], 1),
                f"médiane ({ours})": value("médiane (données)"),
                "médiane (réel)": value("médiane (réel)"),
            }
        )
        spread.append(
            {
                "variable": name,
                f"5e à 95e centile ({ours})": f"{value('5e centile (données)')} à "
                f"{value('95e centile (données)')}",
                "5e à 95e centile (réel)": f"{value('5e centile (réel)')} à "
                f"{value('95e centile (réel)')}",
            }
        )
    parts.append(
        markdown_table(
            pd.DataFrame(central),
            "Variables clés de la demande : part de valeurs manquantes et médiane, données du "
            f"pipeline contre échantillon réel de {number(comparison['sample_rows'])} demandes.",
            "tbl-profile-columns",
        )
    )
    parts.append(
        markdown_table(
            pd.DataFrame(spread),
            "Les mêmes variables : étendue des 90 % de valeurs centrales (du 5e au 95e centile).",
            "tbl-profile-spread",
        )
    )
    parts.append(
        markdown_table(
            rename(_formatted(comparison["categories"], {"part": lambda v: percent(v, 1)})),
            "Part de la modalité la plus fréquente (dans l'échantillon réel) des principales "
            "variables catégorielles.",
            "tbl-profile-categories",
        )
    )
    tables = comparison["tables"].copy()
    tables["colonne la plus éloignée"] = "`" + tables["colonne la plus éloignée"] + "`"
    parts.append(
        markdown_table(
            _formatted(tables, {"écart": lambda v: number(100 * v, 1), "colonnes": number}),
            "Pour chaque table, en points de pourcentage : écart moyen entre les taux de "
            "valeurs manquantes des données du pipeline et ceux de l'échantillon réel ; écart "
            "des quantiles, c'est-à-dire la part de lignes qu'il faudrait déplacer pour que les "
            "5e, 25e, 50e, 75e et 95e centiles réels tombent au même rang dans les données "
            "(médiane et maximum sur les colonnes numériques).",
            "tbl-profile-tables",
        )
    )
    return "\n".join(parts)


def results_markdown(m: Mapping[str, Any]) -> str:
    """The summary table of the results page, from the ``train`` stage's summary."""
    rows = [
        (
            "AUC ROC, validation croisée (entraînement)",
            f"{number(m['cv_auc'], 3)} ± {number(m['cv_auc_std'], 3)}",
            "écart-type sur les plis",
        ),
        ("AUC ROC, jeu de test", number(m["test_auc"], 3), f"IC 95 % {interval(m['test_auc_ci'])}"),
        ("AUC précision-rappel, jeu de test", number(m["test_pr_auc"], 3), "classes rares"),
        (
            "Score de Brier, jeu de test",
            number(m["test_brier"], 4),
            f"{number(m['test_brier_raw'], 4)} avant calibration",
        ),
        (
            "Seuil de décision (probabilité)",
            number(m["threshold"], 3),
            f"théorique : {number(m['theoretical_threshold'], 3)}",
        ),
        (
            "Coût métier par client, jeu de test",
            number(m["test_cost_per_client"], 3),
            f"IC 95 % {interval(m['test_cost_ci'])}",
        ),
        (
            "Coût si tous les crédits sont accordés",
            number(m["test_cost_accept_all"], 3),
            f"économie du modèle : {percent(m['saving_vs_accept_all'], 0)}",
        ),
        (
            "Coût au seuil 0,5",
            number(m["test_cost_at_half"], 3),
            f"économie du seuil optimisé : {percent(m['saving_vs_half'], 0)}",
        ),
        ("Défauts détectés (rappel)", percent(m["test_recall"], 1), "au seuil optimisé"),
        ("Précision des refus", percent(m["test_precision"], 1), "refus qui étaient des défauts"),
        ("Taux de refus", percent(m["test_refusal_rate"], 1), "au seuil optimisé"),
    ]
    if "oracle" in m:
        o = m["oracle"]
        rows += [
            (
                "AUC de l'oracle (vraies probabilités du jumeau)",
                number(o["auc"], 3),
                f"écart du modèle : {number(o['auc_gap'], 3)}",
            ),
            (
                "Coût de l'oracle par client",
                number(o["cost_per_client"], 3),
                f"coût du modèle : {percent(o['cost_ratio'], 1)} de celui de l'oracle",
            ),
        ]
    frame = pd.DataFrame(rows, columns=["Indicateur", "Valeur", "Repère"])
    return markdown_table(
        frame,
        "Synthèse des résultats du modèle retenu ; jeu de test : "
        f"{number(m['rows']['test'])} clients jamais utilisés pour un choix.",
        "tbl-synthese",
    )


def comparison_markdown(results: pd.DataFrame, champion: Mapping[str, Any] | None) -> str:
    """The comparison of every model x strategy, narrow enough to read: cost, AUC and recall
    (mean ± standard deviation over the folds), cheapest first.

    Examples
    --------
    >>> r = pd.DataFrame({"model": ["logreg"], "strategy": ["none"], "cost_per_client_mean": [0.5],
    ...     "cost_per_client_std": [0.01], "roc_auc_mean": [0.75], "roc_auc_std": [0.02],
    ...     "recall_mean": [0.6], "recall_std": [0.05]})
    >>> row = comparison_markdown(r, {"model": "logreg", "strategy": "none"}).splitlines()[2]
    >>> row.startswith("| **Régression logistique** | **aucun** | 0,500 ± 0,010")
    True
    """

    def pm(row: Any, key: str, digits: int) -> str:
        return f"{number(row[f'{key}_mean'], digits)} ± {number(row[f'{key}_std'], digits)}"

    rows = []
    chosen = (champion or {}).get("model"), (champion or {}).get("strategy")
    for _, row in results.sort_values("cost_per_client_mean").iterrows():
        bold = "**" if (row["model"], row["strategy"]) == chosen else ""
        strategy = STRATEGY_SHORT.get(row["strategy"], row["strategy"])
        rows.append(
            {
                "Modèle": f"{bold}{MODEL_SHORT.get(row['model'], row['model'])}{bold}",
                "Rééquilibrage": f"{bold}{strategy}{bold}",
                "Coût par client": pm(row, "cost_per_client", 3),
                "AUC ROC": pm(row, "roc_auc", 3),
                "Rappel": f"{percent(row['recall_mean'], 0)} ± {percent(row['recall_std'], 0)}",
            }
        )
    return markdown_table(
        pd.DataFrame(rows),
        "Chaque modèle avec chaque traitement du déséquilibre, en validation croisée (moyenne ± "
        "écart-type sur les plis), du moins coûteux au plus coûteux ; en gras, la combinaison "
        "retenue.",
        "tbl-comparaison",
    )


def selection_markdown(selection: pd.DataFrame) -> str:
    """How sure the choice of the pair to tune is: each pair's paired gap to the chosen one.

    Examples
    --------
    >>> sel = pd.DataFrame({"model": ["lightgbm", "xgboost"], "strategy": ["none", "none"],
    ...     "cost_per_client_mean": [0.48, 0.49], "roc_auc_mean": [0.79, 0.78],
    ...     "gap_in_se": [0.0, 2.5], "fold_wins": [4, 1], "tied": [True, False],
    ...     "chosen": [True, False]})
    >>> selection_markdown(sel).splitlines()[3].startswith("| XGBoost | aucune | 0,490")
    True
    """
    from credit_scoring.modelling.report import selection_frame

    return markdown_table(
        selection_frame(selection),
        "Le choix de la combinaison à régler : écart de coût de chaque combinaison à la "
        "retenue, mesuré pli à pli, en erreurs-types de cet écart (positif : plus coûteuse), "
        "et nombre de plis où elle est la moins coûteuse. « À égalité » : à moins d'une "
        "erreur-type de la meilleure, la validation croisée ne les départage pas, et la "
        "meilleure AUC l'emporte.",
        "tbl-selection",
    )


def dashboard_captions(readme: Path) -> dict[str, str]:
    """Captions of the screenshots, from the README of the folder: on any line naming a
    ``.png`` file, the rest of the line (list item, table row or ``name: caption``).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "README.md"
    >>> _ = p.write_text("# Captures\\n| fichier | légende |\\n|---|---|\\n"
    ...     "| `accueil.png` | L'accueil du tableau de bord |\\n"
    ...     "- [client.png](client.png) : Un client\\n")
    >>> dashboard_captions(p)
    {'accueil.png': "L'accueil du tableau de bord", 'client.png': 'Un client'}
    """
    captions: dict[str, str] = {}
    if not readme.exists():
        return captions
    for line in readme.read_text(encoding="utf-8").splitlines():
        names = re.findall(r"([\w./-]+\.png)", line)
        if not names:
            continue
        name = Path(names[0]).name
        rest = re.sub(r"\[[^\]]*\]\([^)]*\)", "", line)  # links
        rest = re.sub(r"`?[\w./-]+\.png`?", "", rest)
        rest = rest.strip().strip("|-*:–— ").strip()
        rest = re.sub(r"\s*\|\s*", " ", rest).strip(" :–—")
        if rest and name not in captions:
            captions[name] = rest
    return captions


def dashboard_markdown(folder: Path = DASHBOARD_DIR, origin: str = "twin") -> str:
    """The "Tableau de bord" gallery: every PNG of ``images/dashboard/``, with its caption."""
    pictures = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not pictures:
        return (
            '::: {.callout-note title="Pas encore de captures"}\n'
            "Aucune capture d'écran n'a été déposée dans `images/dashboard/` : elles "
            "s'afficheront ici au prochain rendu du site.\n:::\n"
        )
    captions = dashboard_captions(folder / "README.md")
    data = (
        "sur le jumeau de données (clients synthétiques)"
        if origin == "twin"
        else "sur les données réelles"
    )
    parts = [
        f"Les {len(pictures)} captures ci-dessous ont été prises {data}.\n"
        if len(pictures) > 1
        else f"La capture ci-dessous a été prise {data}.\n"
    ]
    root = paths.ROOT
    for picture in pictures:
        caption = captions.get(picture.name) or picture.stem.replace("_", " ").replace("-", " ")
        try:
            href = picture.relative_to(root).as_posix()
        except ValueError:
            href = picture.as_posix()
        ident = re.sub(r"[^a-z0-9]+", "-", picture.stem.lower()).strip("-")
        parts.append(f"![{caption}]({href}){{#fig-dashboard-{ident}}}\n")
    return "\n".join(parts)


def write_includes(
    reports_dir: Path = paths.REPORTS_DIR,
    reader_dir: Path = READER_DIR,
    metrics_dir: Path = paths.METRICS_DIR,
    interim_dir: Path = paths.INTERIM_DIR,
    dashboard_dir: Path = DASHBOARD_DIR,
    models_dir: Path = paths.MODELS_DIR,
    pages: Iterable[Path] = (),
    spark_scale_file: Path = SPARK_SCALE_FILE,
) -> list[str]:
    """Write the figures and Markdown snippets the pages include; return the snippet names.

    Every include of ``rapports/_inclus/`` that a page names but the run did not produce (a
    figure a small run skips) gets a short note instead, so the site always renders.
    """
    from credit_scoring import fidelity

    figures_dir, includes_dir = reader_dir / FIGURES, reader_dir / INCLUDES
    for folder in (figures_dir, includes_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    figures_href = f"{reader_dir.name}/{FIGURES}"
    written: dict[str, str] = {}
    for report in REPORTS:
        path = reports_dir / f"{report}.ipynb"
        if not path.exists():
            continue
        outputs = notebook_outputs(json.loads(path.read_text(encoding="utf-8")))
        for label, output in outputs.items():
            if output.kind == "figure":
                (figures_dir / f"{report}-{label}.png").write_bytes(bytes(output.content))  # type: ignore[arg-type]
            written[f"{report}-{label}"] = output_markdown(report, output, figures_href)
    data = _read_json(metrics_dir / "data.json") or {"origin": "twin"}
    train = _read_json(models_dir / "summary.json")
    if train is not None:
        written["synthese"] = results_markdown(train)
        results = models_dir / "results.csv"
        if results.exists():
            written["comparaison"] = comparison_markdown(pd.read_csv(results), train["champion"])
        selection = models_dir / "selection.csv"
        if selection.exists():
            written["selection"] = selection_markdown(pd.read_csv(selection))
    if (interim_dir / "application_train.parquet").exists():
        written["profil"] = profile_markdown(fidelity.compare(interim_dir), data["origin"])
    written["tableau-de-bord"] = dashboard_markdown(dashboard_dir, data["origin"])
    scale = _read_json(Path(spark_scale_file))
    if scale is not None:
        written["echelle"] = scale_markdown(scale)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for name in re.findall(
            rf"{{{{<\s*include\s+{reader_dir.name}/{INCLUDES}/([\w.-]+)\.md", text
        ):
            written.setdefault(
                name,
                "::: {.callout-note}\nCette figure n'a pas été produite par cette exécution du "
                "pipeline (voir le rapport détaillé).\n:::\n",
            )
    for name, text in written.items():
        (includes_dir / f"{name}.md").write_text(text, encoding="utf-8")
    evidently = reports_dir / "drift.html"
    if evidently.exists():
        shutil.copy2(evidently, reader_dir / EVIDENTLY_FILE)
    return sorted(written)


# --------------------------------------------------------------------------- render


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


def prepare_site() -> None:
    """Everything the render reads: reports, figures, snippets and ``_variables.yml``."""
    publish_reports()
    write_includes(pages=sorted(paths.ROOT.glob("*.qmd")))
    copy_deck()
    variables = site_variables()
    (paths.ROOT / "_variables.yml").write_text(
        yaml.safe_dump(variables, allow_unicode=True, sort_keys=True), encoding="utf-8"
    )


def copy_deck(deck: Path | None = None, folder: Path = paths.ROOT) -> Path | None:
    """Copy the ``slides`` stage's deck beside the pages, where the home page links to it.

    The render then publishes it as ``site/soutenance.pptx`` (Quarto and smalldocs copy the
    files a page links to). The deck has its own stage: DVC forbids two stages writing into
    ``site/``. Returns the copy, or None when the stage has not run.
    """
    from credit_scoring.slides import DECK_FILE

    deck = deck or DECK_FILE
    if not deck.is_file():
        return None
    target = folder / deck.name
    shutil.copyfile(deck, target)
    return target


def build_site(engine: str = "auto") -> str:
    """Prepare the site's inputs, render ``site/``; return the engine used."""
    prepare_site()
    used, command = render_command(engine)
    subprocess.run(command, cwd=paths.ROOT, check=True)
    return used
