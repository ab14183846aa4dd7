"""The methodology site: its inputs (fast unit tests), then the site that `dvc repro` renders
from a small pipeline run (the session fixture ``pipeline_run`` of conftest.py)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
import yaml
from conftest import json_keys

from credit_scoring import fidelity, paths, site
from credit_scoring.drift import external_resources
from credit_scoring.labels import number, percent

BIN = Path(sys.executable).parent
# The pipeline run is the session fixture `pipeline_run` (conftest.py), built once for all
# workers.

QUARTO = yaml.safe_load((paths.ROOT / "_quarto.yml").read_text(encoding="utf-8"))
RENDERED = QUARTO["project"]["render"]
QMD_PAGES = [p for p in RENDERED if p.endswith(".qmd")]
VAR = re.compile(r"\{\{<\s*var\s+([\w.]+)\s*>\}\}")
INCLUDE = re.compile(r"\{\{<\s*include\s+rapports/_inclus/([\w.-]+)\.md\s*>\}\}")
GENERATED = {"synthese", "comparaison", "selection", "profil", "tableau-de-bord", "echelle"}
# Where the pictures of the site's own pages come from: the executed notebooks, the screenshots.
PIPELINE_FIGURES = ("rapports/figures/", "images/dashboard/")
NOTEBOOKS = {
    "eda": "01_eda",
    "features": "02_features",
    "train": "03_train",
    "explain": "04_explain",
    "drift": "05_drift",
}


def _text(page: Path) -> str:
    """The visible text of a rendered page, entities decoded, tags and scripts removed."""
    raw = page.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    raw = re.sub(r"</?(strong|em|a|span|code|sup)\b[^>]*>", "", raw)  # inline: no space
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return re.sub(r"[ \t\r\n]+", " ", text)


def _metrics(root: Path, name: str) -> dict:
    return json.loads((root / "data" / "metrics" / f"{name}.json").read_text(encoding="utf-8"))


#: The full summaries of the stages (their metrics files hold the headline figures only).
SUMMARIES = {
    "data": "interim/summary.json",
    "train": "models/summary.json",
    "explain": "reports/explain/summary.json",
    "drift": "reports/drift.json",
}


def _summary(root: Path, name: str) -> dict:
    path = root / "data" / SUMMARIES[name]
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- fast unit tests


def test_every_page_of_the_issue_is_in_the_site():
    assert set(QMD_PAGES) == {
        "index.qmd",
        "donnees.qmd",
        "entrainement.qmd",
        "desequilibre.qmd",
        "cout.qmd",
        "resultats.qmd",
        "interpretabilite.qmd",
        "equite.qmd",
        "derive.qmd",
        "limites.qmd",
        "carte.qmd",
        "tableau-de-bord.qmd",
        "echelle.qmd",
        "reproduire.qmd",
    }
    assert {f"rapports/{r}.ipynb" for r in site.REPORTS} <= set(RENDERED)
    for page in QMD_PAGES:
        assert (paths.ROOT / page).is_file(), page


def test_every_page_has_a_title_and_technical_pages_a_reading_guide():
    for page in QMD_PAGES:
        text = (paths.ROOT / page).read_text(encoding="utf-8")
        front = yaml.safe_load(text.split("---")[1])
        assert front.get("title"), page
        if page not in ("index.qmd", "tableau-de-bord.qmd"):
            assert "Comment lire cette page" in text, page


@pytest.mark.parametrize("page", QMD_PAGES)
def test_included_figures_and_tables_exist_in_the_notebooks(page):
    """A typo in an include would silently show the "not produced" note: each one names a
    labelled cell of the stage's notebook, or a snippet the site stage computes."""
    text = (paths.ROOT / page).read_text(encoding="utf-8")
    for name in INCLUDE.findall(text):
        if name in GENERATED:
            continue
        report, label = name.split("-", 1)
        notebook = (paths.NOTEBOOKS_DIR / f"{NOTEBOOKS[report]}.ipynb").read_text(encoding="utf-8")
        assert f"#| label: {label}\\n" in notebook, f"{page}: {name}"
        if label.startswith("fig-"):
            assert re.search(rf"#\| label: {label}\\n\",\s*\"#\| fig-cap: ", notebook), (
                f"{name} has no fig-cap"
            )


def test_pages_quote_numbers_only_through_variables():
    """No typed result: the only numbers written in the pages' prose are fixed facts of the
    method (the 0-100 scale and its midpoint 50, the 0,5 threshold, 95 % intervals, the PSI
    reading grid 0,1 / 0,25, the four-fifths rule 0,8, the 365243 code, Evidently's 1 000-row
    switch, "5 points"), counts of the design (seven sources, eight tables) and Python 3.11.
    Every result comes through ``{{< var >}}`` or an include."""
    allowed = {"0", "1", "5", "50", "100", "0,5", "95", "90", "0,1", "0,25", "0,8", "365243"}
    allowed |= {"000", "3.11", "7", "8"}
    for page in QMD_PAGES:
        text = (paths.ROOT / page).read_text(encoding="utf-8")
        text = re.sub(r"^\s*\d+\.\s", "", text, flags=re.M)  # ordered lists
        text = re.sub(r"\{\{<.*?>\}\}", "", text)
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        text = re.sub(r"`[^`]*`|<[^>]+>|\([^)]*\.(qmd|ipynb|html)[^)]*\)", "", text)
        text = re.sub(r"\{#[\w-]+\}", "", text)
        numbers = set(re.findall(r"\d+(?:[,.]\d+)?", text.split("---", 2)[2]))
        assert numbers <= allowed, f"{page}: {sorted(numbers - allowed)}"


def test_data_variables_say_which_data_the_site_shows():
    tables = {"application_train": {"rows": 1500, "columns": 122, "missing_share": 0.25}}
    tables["application_test"] = {"rows": 300, "columns": 121, "missing_share": 0.25}
    twin = site.data_variables(
        {
            "origin": "twin",
            "tables": tables,
            "twin": {
                "config": {"seed": 7, "drift": 1.0},
                "default_rate": 0.0812,
                "oracle_auc": 0.8449,
            },
        },
        None,
    )
    assert twin["origin"].startswith("jumeau de données")
    assert "jumeau de données" in twin["origin_note"]
    assert twin["total_rows"] == number(1800)
    assert twin["default_rate"] == percent(0.0812, 2)
    train = {"rows": {"train": 800, "test": 200}, "default_rate": {"train": 0.1, "test": 0.05}}
    real = site.data_variables({"origin": "real", "tables": tables}, train)
    assert "Kaggle" in real["origin"] and "jumeau" not in real["origin_note"]
    assert real["default_rate"] == percent(0.09, 2)


def test_dashboard_page_builds_without_screenshots(tmp_path):
    assert "Pas encore de captures" in site.dashboard_markdown(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert "Pas encore de captures" in site.dashboard_markdown(tmp_path / "empty")


def test_dashboard_page_shows_every_screenshot_with_its_caption(tmp_path, monkeypatch):
    folder = tmp_path / "images" / "dashboard"
    folder.mkdir(parents=True)
    for name in ("01_accueil.png", "02_client.png"):
        (folder / name).write_bytes(b"\x89PNG")
    (folder / "README.md").write_text(
        "# Captures\n\n| fichier | légende |\n|---|---|\n"
        "| `01_accueil.png` | L'écran d'accueil |\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(site.paths, "ROOT", tmp_path)
    text = site.dashboard_markdown(folder, "twin")
    assert "![L'écran d'accueil](images/dashboard/01_accueil.png)" in text
    assert "](images/dashboard/02_client.png)" in text  # no caption in the README: its name
    assert "jumeau de données" in text


def test_notebook_tables_keep_their_caption_and_get_the_site_classes():
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "#| label: tbl-a\n#| tbl-cap: Un tableau\ndisplay(t)",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {
                            "text/html": "<style>td {}</style><table><tr><td>1</td></tr></table>"
                        },
                    }
                ],
            }
        ]
    }
    out = site.notebook_outputs(nb)["tbl-a"]
    text = site.output_markdown("train", out, "rapports/figures")
    assert '<table class="table table-sm table-striped"><caption>Un tableau</caption>' in text
    assert "<style" not in text


def test_missing_outputs_become_a_note_not_a_broken_page(tmp_path):
    reports, reader = tmp_path / "reports", tmp_path / "rapports"
    reports.mkdir()
    png = base64.b64encode(b"png").decode()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "#| label: fig-a\n#| fig-cap: A\nplot()",
                "outputs": [{"output_type": "display_data", "data": {"image/png": png}}],
            }
        ]
    }
    (reports / "train.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    page = tmp_path / "page.qmd"
    page.write_text(
        "{{< include rapports/_inclus/train-fig-a.md >}}\n"
        "{{< include rapports/_inclus/train-fig-b.md >}}\n",
        encoding="utf-8",
    )
    names = site.write_includes(
        reports_dir=reports,
        reader_dir=reader,
        metrics_dir=tmp_path / "metrics",
        interim_dir=tmp_path / "interim",
        dashboard_dir=tmp_path / "none",
        pages=[page],
    )
    assert {"train-fig-a", "train-fig-b", "tableau-de-bord"} <= set(names)
    assert (reader / "figures" / "train-fig-a.png").read_bytes() == b"png"
    assert "![A](rapports/figures/train-fig-a.png)" in (
        reader / "_inclus" / "train-fig-a.md"
    ).read_text(encoding="utf-8")
    assert "pas été produite" in (reader / "_inclus" / "train-fig-b.md").read_text(encoding="utf-8")


def test_profile_comparison_measures_the_data_against_the_real_sample():
    profile = fidelity.load_profile()["application_train"]
    train = pd.DataFrame({"DAYS_BIRTH": [-365.25 * a for a in (20, 30, 40, 50, 60)]})
    table = fidelity.key_columns_table(train, profile, ["DAYS_BIRTH"])
    row = table.loc["Âge (ans)"]
    assert row["médiane (données)"] == pytest.approx(40)
    assert row["5e centile (données)"] < row["95e centile (données)"]
    assert row["5e centile (réel)"] < row["95e centile (réel)"]
    assert 30 < row["médiane (réel)"] < 55


def test_explain_and_drift_variables_come_from_the_full_summaries(tmp_path):
    reports, metrics = tmp_path / "reports", tmp_path / "metrics"
    (reports / "explain").mkdir(parents=True)
    metrics.mkdir()
    gap = {"difference": 0.031, "ratio": 0.8, "highest": "hommes", "lowest": "femmes"}
    explain = {
        "sample_rows": 200,
        "features": 40,
        "top_features": [{"label": "Score externe", "share": 0.2}],
        "gain_shap_rank_overlap": 0.7,
        "stability": {"top_k": 10, "overlap_mean": 0.9, "always_top": ["A"]},
        "production": {"clients": 300, "decision_shares": {"grant": 0.8, "review": 0.1}},
        "fairness": {
            "sensitive_features_in_model": [],
            "gaps": {"gender": {"refusal_rate": gap}},
            "overall": {"refusal_rate": 0.1},
        },
    }
    drift = {
        "columns": 20,
        "drifted_columns": 7,
        "drifted_share": 0.35,
        "alert_share": 0.3,
        "dataset_drift": True,
        "psi_significant": ["A"],
        "sampled": {"reference_rows": 1000, "current_rows": 300},
        "score": {
            "psi": 0.12,
            "reading": "à surveiller",
            "mean_reference": 30.0,
            "mean_current": 33.0,
        },
        "timeline": {"months": 3, "alert_month": 2},
    }
    (reports / "explain" / "summary.json").write_text(json.dumps(explain), encoding="utf-8")
    (reports / "drift.json").write_text(json.dumps(drift), encoding="utf-8")
    # The headline files alone would not do: the pages quote the detail.
    (metrics / "explain.json").write_text(json.dumps({"top1_share": 0.2}), encoding="utf-8")
    (metrics / "drift.json").write_text(json.dumps({"columns": 20}), encoding="utf-8")
    variables = site.site_variables(
        metrics_dir=metrics,
        params_file=tmp_path / "none.yaml",
        models_dir=tmp_path / "none",
        interim_dir=tmp_path / "none",
        reports_dir=reports,
    )
    assert variables["explain"]["top1"] == "Score externe"
    assert variables["explain"]["gender_refusal_rate_gap"] == percent(0.031, 1)
    assert variables["drift"]["drifted_columns"] == 7
    assert variables["drift"]["alert_month"] == "au mois 2 sur 3"
    assert not [k for k in variables["explain"] if "latency" in k]


def test_no_page_quotes_a_timing():
    # A duration differs at every run and on every machine: no output holds one to quote.
    # The scale page's figures are the exception: a benchmark's committed record
    # (docs/benchmarks/spark_scale.json), the same at every render.
    for page in QMD_PAGES:
        text = (paths.ROOT / page).read_text(encoding="utf-8")
        quoted = [
            k
            for k in VAR.findall(text)
            if re.search(r"latency|seconds|_ms\b", k) and not k.startswith("scale.")
        ]
        assert quoted == [], f"{page}: {quoted}"


# --------------------------------------------------------------------------- the rendered site


def test_repro_builds_every_page(pipeline_run):
    for source in RENDERED:
        assert (pipeline_run / "site" / Path(source).with_suffix(".html")).is_file(), source


def test_every_quoted_variable_is_defined(pipeline_run):
    variables = yaml.safe_load((pipeline_run / "_variables.yml").read_text(encoding="utf-8"))
    for page in QMD_PAGES:
        for key in VAR.findall((pipeline_run / page).read_text(encoding="utf-8")):
            value = site_lookup(variables, key)
            assert value not in (None, ""), f"{page}: {key}"
        rendered = (pipeline_run / "site" / page.replace(".qmd", ".html")).read_text("utf-8")
        assert "{{&lt;" not in rendered and "{{<" not in rendered, page


def site_lookup(variables: dict, key: str) -> object:
    value: object = variables
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def test_site_says_the_figures_come_from_the_twin(pipeline_run):
    assert _metrics(pipeline_run, "data")["origin"] == "twin"
    for page in ("index.html", "donnees.html", "resultats.html", "derive.html", "carte.html"):
        assert "jumeau de données" in _text(pipeline_run / "site" / page), page
    assert "jumeau de données" in _text(pipeline_run / "site" / "tableau-de-bord.html")


def test_home_page_numbers_equal_the_metrics(pipeline_run):
    data = _summary(pipeline_run, "data")
    train = _summary(pipeline_run, "train")
    drift = _summary(pipeline_run, "drift")
    explain = _summary(pipeline_run, "explain")
    home = _text(pipeline_run / "site" / "index.html")
    expected = [
        number(data["tables"]["application_train"]["rows"]),
        number(data["tables"]["application_test"]["rows"]),
        percent(data["twin"]["default_rate"], 2),
        number(train["test_auc"], 3),
        number(train["test_auc_ci"][0], 3),
        number(train["test_auc_ci"][1], 3),
        number(train["test_cost_per_client"], 3),
        percent(train["saving_vs_accept_all"], 0),
        number(train["threshold"], 3),
        f"{drift['drifted_columns']} sur {drift['columns']}",
        percent(drift["drifted_share"], 1),
        percent(explain["production"]["decision_shares"]["review"], 1),
    ]
    missing = [value for value in expected if value not in home]
    assert missing == []


def test_results_page_numbers_equal_the_metrics(pipeline_run):
    m = _summary(pipeline_run, "train")
    page = _text(pipeline_run / "site" / "resultats.html")
    expected = [
        number(m["cv_auc"], 3),
        number(m["test_auc"], 3),
        number(m["test_pr_auc"], 3),
        number(m["test_brier"], 4),
        number(m["threshold"], 3),
        number(m["test_cost_per_client"], 3),
        number(m["test_cost_ci"][0], 3),
        number(m["test_cost_accept_all"], 3),
        number(m["test_cost_at_half"], 3),
        percent(m["test_recall"], 1),
        percent(m["test_refusal_rate"], 1),
        number(m["oracle"]["auc"], 3),
        number(m["oracle"]["cost_per_client"], 3),
        number(m["rows"]["test"]),
    ]
    assert [value for value in expected if value not in page] == []
    assert 'id="tbl-synthese"' in (pipeline_run / "site" / "resultats.html").read_text("utf-8")


def test_method_pages_quote_the_parameters(pipeline_run):
    params = yaml.safe_load((pipeline_run / "params.yaml").read_text(encoding="utf-8"))["train"]
    cost = _text(pipeline_run / "site" / "cout.html")
    assert f"{number(params['cost_fn'])} × (défauts accordés)" in cost
    assert f"{number(params['cost_fp'])} × (bons clients refusés)" in cost
    home = _text(pipeline_run / "site" / "index.html")
    low, high = params["review_band"]
    assert f"Sous {number(low)} le crédit" in home and f"de {number(high)} au refus" in home
    training = _text(pipeline_run / "site" / "entrainement.html")
    assert f"{params['tune_trials']} essais, un nombre fixé et non une durée" in training


def test_fairness_and_drift_pages_quote_their_metrics(pipeline_run):
    explain = _summary(pipeline_run, "explain")
    gap = explain["fairness"]["gaps"]["gender"]["refusal_rate"]
    equity = _text(pipeline_run / "site" / "equite.html")
    assert percent(gap["difference"], 1) in equity and number(gap["ratio"], 2) in equity
    drift = _summary(pipeline_run, "drift")
    page = _text(pipeline_run / "site" / "derive.html")
    assert f"{drift['drifted_columns']} variables sur {drift['columns']}" in page
    if drift.get("score"):
        assert number(drift["score"]["psi"], 3) in page


@pytest.mark.parametrize(("stage", "most"), [("explain", 8), ("drift", 6)])
def test_explain_and_drift_metrics_are_headline_numbers(pipeline_run, stage, most):
    metrics = _metrics(pipeline_run, stage)
    assert len(metrics) <= most and all(type(v) in (int, float) for v in metrics.values())
    for path in (
        pipeline_run / "data" / "metrics" / f"{stage}.json",
        pipeline_run / "data" / SUMMARIES[stage],
    ):
        text = path.read_text(encoding="utf-8")
        assert not json_keys(json.loads(text)) & {"seconds", "latency", "model_version"}, path
        assert str(pipeline_run) not in text, path


def test_data_page_compares_the_twin_with_the_real_profile(pipeline_run):
    comparison = fidelity.compare(pipeline_run / "data" / "interim")
    page = _text(pipeline_run / "site" / "donnees.html")
    data_rate, real_rate = comparison["default_rate"]
    assert f"{percent(data_rate, 2)} (jumeau) contre {percent(real_rate, 2)}" in page
    median = comparison["columns"].loc["Score externe 2", "médiane (données)"]
    assert number(median, 3) in page
    assert number(comparison["columns"].loc["Score externe 2", "médiane (réel)"], 3) in page
    for table, row in comparison["tables"].iterrows():
        count, missing, over_five, median, largest, worst = row
        shown = f"{table} {number(count)} {number(100 * missing, 1)} {number(over_five)} "
        shown += f"{number(100 * median, 1)} {number(100 * largest, 1)} {worst}"
        assert shown in page


def test_drift_page_embeds_the_evidently_report(pipeline_run):
    page = (pipeline_run / "site" / "derive.html").read_text(encoding="utf-8")
    assert re.search(r'<iframe[^>]+src="rapports/evidently-drift\.html"', page)
    copied = pipeline_run / "site" / "rapports" / site.EVIDENTLY_FILE
    original = pipeline_run / "data" / "reports" / "drift.html"
    assert copied.read_bytes() == original.read_bytes()


def test_eda_report_is_executed_and_rendered(pipeline_run):
    report = json.loads((pipeline_run / "data" / "reports" / "eda.ipynb").read_text())
    outputs = [o for c in report["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    page = pipeline_run / "site" / "rapports" / "eda.html"
    assert "synthétiques" in page.read_text(encoding="utf-8")


def test_every_figure_has_a_caption_and_comes_from_the_pipeline(pipeline_run):
    problems = []
    for page in (pipeline_run / "site").rglob("*.html"):
        if page.name == site.EVIDENTLY_FILE:
            continue
        text = page.read_text(encoding="utf-8")
        main = text[text.find("<main") :] if "<main" in text else text
        for figure in re.findall(r"<img\b[^>]*>", main):
            src = re.search(r'src="([^"]+)"', figure)
            at = main.find(figure)
            block = main[main.rfind("<figure", 0, at) : main.find("</figure>", at)]
            if "<figure" not in block or not re.search(r"<figcaption[^>]*>\s*\S", block):
                problems.append(f"{page.name}: image without caption")
            own_page = page.parent.name != "rapports" and src is not None
            if own_page and not src.group(1).startswith(("data:", *PIPELINE_FIGURES)):
                problems.append(f"{page.name}: {src.group(1)} is not a pipeline output")
    assert problems == []


def test_dashboard_page_shows_the_screenshots(pipeline_run):
    folder = pipeline_run / "images" / "dashboard"
    page = (pipeline_run / "site" / "tableau-de-bord.html").read_text(encoding="utf-8")
    pictures = sorted(folder.glob("*.png")) if folder.is_dir() else []
    captions = site.dashboard_captions(folder / "README.md")
    for picture in pictures:
        assert f'src="images/dashboard/{picture.name}"' in page
        assert (pipeline_run / "site" / "images" / "dashboard" / picture.name).is_file()
        if picture.name in captions:
            assert html.escape(captions[picture.name], quote=False) in page
    if not pictures:
        assert "Pas encore de captures" in page


def test_site_loads_nothing_from_the_network(pipeline_run):
    remote = re.compile(r"""(?:src|href)\s*=\s*["']https?://|@import\s+url\(["']?https?://""")
    offenders = [
        str(page.relative_to(pipeline_run))
        for page in (pipeline_run / "site").rglob("*")
        if page.suffix in {".html", ".css", ".js"}
        and page.name != site.EVIDENTLY_FILE
        and remote.search(page.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []
    # The Evidently report bundles plotly.js, whose code names plotly.com in a link it builds:
    # the drift module's check looks at what the page would fetch, not at every address.
    evidently = pipeline_run / "site" / "rapports" / site.EVIDENTLY_FILE
    assert external_resources(evidently.read_text(encoding="utf-8")) == []


def test_site_sources_are_clean_for_smalldocs(pipeline_run):
    env = os.environ | {"CREDIT_SCORING_ROOT": str(pipeline_run)}
    check = subprocess.run(
        [BIN / "smalldocs", "check", "."], cwd=pipeline_run, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.skipif(
    shutil.which("quarto") is None,
    reason="Quarto is not installed (quarto.org; no package registry of these machines has "
    "it, so smalldocs builds the site here)",
)
def test_site_sources_render_with_quarto(pipeline_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(pipeline_run, project, ignore=shutil.ignore_patterns("site", ".dvc", "data"))
    result = subprocess.run(
        ["quarto", "render", str(project)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (project / "site" / "index.html").is_file()


# --------------------------------------------------------------------------- in a browser

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
    shutil.which("chromium"),
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install -y chromium)")
def test_every_page_loads_offline_with_no_failed_request_and_no_broken_link(pipeline_run):
    sync_api = pytest.importorskip("playwright.sync_api")
    root = (pipeline_run / "site").resolve()
    pages = sorted(p for p in root.rglob("*.html") if p.name != site.EVIDENTLY_FILE)
    failed: list[str] = []
    broken: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        # Offline: any request that leaves the disk fails, and is reported.
        context.route(re.compile(r"^(?!file:|data:|about:|blob:).*"), lambda route: route.abort())
        page = context.new_page()
        page.on("requestfailed", lambda r: failed.append(f"{page.url} -> {r.url}"))
        page.on(
            "response",
            lambda r: (
                failed.append(f"{page.url} -> {r.url} ({r.status})") if r.status >= 400 else None
            ),
        )
        for source in pages:
            page.goto(source.as_uri(), wait_until="load")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                url = urlparse(href)
                if url.scheme != "file":
                    continue
                target = Path(unquote(url.path))
                if not target.exists():
                    broken.append(f"{source.relative_to(root)} -> {href}")
        browser.close()
    assert failed == []
    assert broken == []
