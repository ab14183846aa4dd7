"""The ``credit-scoring`` command: one sub-command per pipeline stage, plus tools around them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from credit_scoring import paths, runlog

#: Sub-commands in the order of the pipeline (``dvc.yaml``), then the tools around it.
COMMAND_ORDER = (
    "data",
    "features",
    "train",
    "explain",
    "slides",
    "site",
    "api",
    "score-batch",
    "report",
)


class _PipelineOrder(TyperGroup):
    """Lists the sub-commands in pipeline order rather than registration order."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: rank.get(n, len(rank)))


app = typer.Typer(
    cls=_PipelineOrder,
    help="Credit scoring for Prêt à dépenser: data, features, models, explanations, drift, site.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
data_app = typer.Typer(help="Kaggle tables: generate the data twin, validate, ingest.")
features_app = typer.Typer(help="Per-client features from the seven tables.")
site_app = typer.Typer(help="The methodology website.")
report_app = typer.Typer(help="The executed notebooks that the stages publish.")
slides_app = typer.Typer(help="The defense deck (soutenance.pptx).")
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(site_app, name="site")
app.add_typer(report_app, name="report")
app.add_typer(slides_app, name="slides")

console = Console(stderr=True)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False):
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


def _fail(error: Exception) -> typer.Exit:
    console.print(f"[bold red]error:[/] {error}")
    return typer.Exit(code=1)


@data_app.command("generate")
def data_generate(
    out: Annotated[Path, typer.Option(help="Folder to write the eight CSV files into.")],
    clients: Annotated[
        int, typer.Option(min=100, help="Rows of application_train (Kaggle: 307,511).")
    ] = 30_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
    drift: Annotated[
        float, typer.Option(min=0.0, help="Production drift of application_test (0 = none).")
    ] = 1.0,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
) -> None:
    """Generate the Home Credit data twin: the eight Kaggle files, synthetic rows."""
    from credit_scoring.data.twin import TwinConfig, generate_twin

    manifest = generate_twin(TwinConfig(clients, seed, drift), out, progress=progress)
    console.print(
        f"twin written to {out}: default rate {manifest['default_rate']:.2%}, "
        f"oracle AUC {manifest['oracle_auc_train']:.3f}, {manifest['generation_seconds']:.0f} s"
    )


@data_app.command("validate")
def data_validate(
    source: Annotated[Path, typer.Argument(help="A folder with the Kaggle CSVs, or the zip.")],
) -> None:
    """Check the Kaggle tables against the schema; report problems by file and column."""
    from credit_scoring.data.ingest import DataValidationError, find_kaggle_source, validate_source

    try:
        found = find_kaggle_source(source)
        if found is None:
            raise DataValidationError(str(source), None, "no Kaggle CSV files nor Kaggle zip here")
        report = validate_source(found)
    except DataValidationError as error:
        raise _fail(error) from None
    console.print(report.to_text())


@data_app.command("prepare")
def data_prepare(
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
) -> None:
    """The [bold]data[/] stage: real files from data/raw/ or the twin, validated, to parquet."""
    from credit_scoring.config import load_params
    from credit_scoring.data.ingest import DataValidationError
    from credit_scoring.data.prepare import prepare

    try:
        metrics = prepare(load_params("data"), progress=progress)
    except (DataValidationError, FileNotFoundError, ValueError) as error:
        raise _fail(error) from None
    rows = sum(t["rows"] for t in metrics["tables"].values())
    console.print(f"{metrics['origin']} data: {rows:,} rows ingested into {paths.INTERIM_DIR}")


def _write_metrics(stage: str, metrics: dict) -> None:
    import json

    paths.METRICS_DIR.mkdir(parents=True, exist_ok=True)
    (paths.METRICS_DIR / f"{stage}.json").write_text(json.dumps(metrics, indent=2), "utf-8")


@features_app.command("build")
def features_build(
    engine: Annotated[
        str | None,
        typer.Option(
            help="duckdb or spark: who computes the history aggregates (same SQL, same files). "
            "Default: features.engine of params.yaml."
        ),
    ] = None,
) -> None:
    """The [bold]features[/] stage: train and production feature tables, and their dictionary."""
    from credit_scoring.config import load_params
    from credit_scoring.features import EngineSettings, build_feature_tables
    from credit_scoring.features.build import headline

    params = load_params("features")
    settings = EngineSettings(threads=params["threads"], memory_limit_mb=params["memory_limit_mb"])
    engine = engine or params.get("engine", "duckdb")
    spark_settings = None
    if engine == "spark":
        from credit_scoring.features.spark import SparkSettings

        spark_settings = SparkSettings.from_params(params.get("spark"))
    try:
        metrics = build_feature_tables(
            settings=settings, engine_name=engine, spark_settings=spark_settings
        )
    except (FileNotFoundError, RuntimeError, ValueError) as error:
        raise _fail(error) from None
    seconds = metrics.pop("seconds")
    runlog.record("features", {"seconds": seconds, "engine": engine})
    _write_metrics("features", headline(metrics))
    console.print(
        f"{metrics['features']} features for {metrics['rows']['train']:,} training and "
        f"{metrics['rows']['production']:,} production clients in {paths.FEATURES_DIR} "
        f"({seconds['total']:.0f} s)"
    )


@app.command("train")
def train() -> None:
    """The [bold]train[/] stage: compare, tune, set the threshold, calibrate, register."""
    from credit_scoring.config import load_params
    from credit_scoring.modelling import train_pipeline

    try:
        metrics = train_pipeline(load_params("train"))
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise _fail(error) from None
    champion, run = metrics["champion"], runlog.read("train")
    console.print(
        f"champion {champion['model']} + {champion['strategy']} registered as "
        f"{metrics['model_name']} v{run['model_version']}: test AUC "
        f"{metrics['test_auc']:.3f}, threshold {metrics['threshold']:.3f}, "
        f"{run['seconds']['total']:.0f} s"
    )


@app.command("explain")
def explain() -> None:
    """The [bold]explain[/] stage: SHAP, reasons in French, counterfactuals, fairness audit."""
    from credit_scoring.config import load_params
    from credit_scoring.explain import run_explain

    try:
        summary = run_explain(load_params("explain"))
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise _fail(error) from None
    console.print(
        f"explanations of {summary['production']['clients']:,} production clients "
        f"in {paths.REPORTS_DIR / 'explain'}"
    )


@app.command("api")
def api(
    host: Annotated[
        str, typer.Option(help="Address to listen on (this machine only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Serve the scoring API (the registered champion); settings from the environment.

    CREDIT_SCORING_API_KEY(S) holds the accepted keys; CREDIT_SCORING_API_AUTH=off turns
    authentication off for local use. The OpenAPI page is at /docs.
    """
    from credit_scoring.api import serve

    serve(host, port, workers=workers)


@app.command("score-batch")
def score_batch(
    engine: Annotated[
        str, typer.Option(help="pandas (this process) or spark (the model as a Spark UDF).")
    ] = "pandas",
    features: Annotated[Path, typer.Option(help="The feature table to score.")] = paths.FEATURES_DIR
    / "production.parquet",
    out: Annotated[Path | None, typer.Option(help="Parquet file written.")] = None,
    model_name: Annotated[str, typer.Option(help="Registered model.")] = "credit-scoring",
    alias: Annotated[str, typer.Option(help="Its alias.")] = "champion",
) -> None:
    """Score a feature table with the registered champion: probability, risk score, decision.

    Both engines write the same columns and values, one row per client, sorted by SK_ID_CURR.
    The spark engine reads features.spark of params.yaml (master, partitions, memory).
    """
    from credit_scoring.batch import DEFAULT_OUT, score_batch
    from credit_scoring.config import load_params

    spark_settings = None
    if engine == "spark":
        from credit_scoring.features.spark import SparkSettings

        spark_settings = SparkSettings.from_params(load_params("features").get("spark"))
    try:
        scored = score_batch(
            features, engine=engine, name=model_name, alias=alias, spark_settings=spark_settings
        )
    except (FileNotFoundError, KeyError, LookupError, RuntimeError, ValueError) as error:
        raise _fail(error) from None
    target = out or DEFAULT_OUT
    target.parent.mkdir(parents=True, exist_ok=True)
    scored.to_parquet(target, index=False)
    counts = scored["decision"].value_counts()
    console.print(
        f"{len(scored):,} clients scored on {engine} with {scored['model_version'].iat[0]}: "
        + ", ".join(f"{counts.get(d, 0):,} {d}" for d in ("grant", "review", "refuse"))
        + f" -> {paths.relative(target)}"
    )


@report_app.command("normalise")
def report_normalise(
    notebooks: Annotated[list[Path], typer.Argument(help="Executed notebooks, rewritten.")],
) -> None:
    """Strip clock times, random ids and stderr from executed notebooks (stderr to data/logs/)."""
    from credit_scoring.notebook import normalise

    for path in notebooks:
        if not path.is_file():
            raise _fail(FileNotFoundError(f"{path}: no executed notebook here"))
        moved = normalise(path)
        if moved:
            console.print(f"{path}: {moved} stderr output(s) moved to {paths.LOGS_DIR}")


@site_app.command("build")
def site_build() -> None:
    """The [bold]site[/] stage: render _quarto.yml into site/ (Quarto, else smalldocs)."""
    from credit_scoring.config import load_params
    from credit_scoring.site import build_site

    engine = build_site(load_params("site")["engine"])
    console.print(f"site built into {paths.SITE_DIR} with {engine}")


@slides_app.command("build")
def slides_build() -> None:
    """The [bold]slides[/] stage: the defense deck, data/reports/soutenance.pptx."""
    from credit_scoring.config import load_params
    from credit_scoring.slides import DeckInputError, build_deck

    try:
        deck = build_deck(load_params("slides"))
    except (DeckInputError, KeyError) as error:
        raise _fail(error) from None
    console.print(f"deck written to {paths.relative(deck)}")


@slides_app.command("preview")
def slides_preview(
    out: Annotated[Path, typer.Option(help="Folder of the PNG pages.")] = Path("images/slides"),
    resolution: Annotated[int, typer.Option(min=30, help="Pixels per inch.")] = 80,
) -> None:
    """One PNG per slide of the deck (LibreOffice and poppler), and any text that overflows."""
    from credit_scoring.slides import DECK_FILE, check_overflow, render_pngs, soffice

    if soffice() is None:
        raise _fail(
            FileNotFoundError("LibreOffice is absent: apt-get install -y libreoffice-impress")
        )
    if not DECK_FILE.is_file():
        raise _fail(FileNotFoundError(f"{paths.relative(DECK_FILE)}: run make slides first"))
    target = out if out.is_absolute() else paths.ROOT / out
    pages = render_pngs(DECK_FILE, target, resolution)
    console.print(f"{len(pages)} slides written to {paths.relative(target)}")
    for word in check_overflow(DECK_FILE):
        console.print(f"[bold red]overflow:[/] slide {word.page}: {word.text!r}")
