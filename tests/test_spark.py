"""The Spark engine: the features of DuckDB, value for value, and the batch scores of ``Scorer``.

Spark runs in local mode (``local[2]``) on the CI pipeline's twin (the session fixture
``pipeline_run``): the features stage with ``engine_name="spark"`` must write the tables that the
pipeline's DuckDB stage wrote, and the champion as a Spark UDF must score as ``Scorer`` does.

These checks skip where pyspark, sqlglot or Java is missing; ``make test`` installs the Python
part (``uv sync --group spark``) and ``.ci/run`` installs Java (openjdk-17-jre-headless).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from credit_scoring import batch
from credit_scoring.data.schema import CLIENT_ID, TARGET
from credit_scoring.features import read_feature_table
from credit_scoring.features import spark as spark_engine
from credit_scoring.features.build import build_feature_tables
from credit_scoring.features.catalog import GRAINS, history_features
from credit_scoring.modelling import registry
from credit_scoring.scoring import Scorer

MISSING = spark_engine.missing_requirements()
HOW = (
    "make test installs pyspark and sqlglot (python3 -m uv sync --group spark); "
    "Java: apt-get install openjdk-17-jre-headless"
)
needs_spark = pytest.mark.skipif(
    bool(MISSING), reason=f"Spark checks skipped, {', '.join(MISSING)} missing: {HOW}"
)
needs_sqlglot = pytest.mark.skipif(
    importlib.util.find_spec("sqlglot") is None, reason=f"sqlglot missing: {HOW}"
)
#: Floats agree to this relative difference; counts and other whole numbers exactly.
RELATIVE = 1e-9


# --- DuckDB SQL -> Spark SQL ---------------------------------------------------------------------


@needs_sqlglot
def test_a_macro_call_becomes_its_body() -> None:
    assert spark_engine.spark_sql("SELECT flag(x > 0) AS F FROM t") == (
        "SELECT (CAST((x > 0) AS INT)) AS F FROM t"
    )


@needs_sqlglot
def test_no_macro_is_left_in_any_grain_query() -> None:
    import sqlglot
    from sqlglot import exp

    for grain in GRAINS:
        tree = sqlglot.parse_one(spark_engine.grain_query(grain), read="spark")
        calls = {str(f.this).lower() for f in tree.find_all(exp.Anonymous)}
        assert not calls & set(spark_engine.macros()), grain.name


@needs_sqlglot
def test_every_feature_of_the_catalog_is_in_a_spark_query() -> None:
    queries = " ".join(spark_engine.grain_query(g) for g in GRAINS)
    assert all(f"`{f.name}`" in queries for f in history_features())


@needs_sqlglot
def test_a_division_is_a_division_of_doubles_as_in_duckdb() -> None:
    assert spark_engine.spark_sql("SELECT a / b AS R FROM t") == (
        "SELECT (CAST(a AS DOUBLE) / CAST(b AS DOUBLE)) AS R FROM t"
    )


@needs_sqlglot
def test_a_whole_number_is_rounded_as_duckdb_casts_it() -> None:
    assert "BROUND(" in spark_engine.spark_sql("SELECT whole(x) AS W FROM t")


@needs_sqlglot
def test_a_macro_called_with_the_wrong_arguments_is_named() -> None:
    with pytest.raises(ValueError, match="ratio takes 2 arguments, got 1"):
        spark_engine.spark_sql("SELECT ratio(x) FROM t")


def test_spark_settings_read_the_features_params() -> None:
    settings = spark_engine.SparkSettings.from_params({"shuffle_partitions": 3})
    assert (settings.master, settings.shuffle_partitions) == ("local[2]", 3)


def test_an_unknown_engine_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"features\.engine must be one of"):
        build_feature_tables(tmp_path, tmp_path / "out", engine_name="polars")


def test_an_unknown_batch_engine_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch engine must be one of"):
        batch.score_batch(tmp_path / "production.parquet", engine="dask")


# --- Spark local[2] on the CI twin ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local[2] session, small: two shuffle partitions, 1 GB of driver memory, no UI."""
    settings = spark_engine.SparkSettings("local[2]", shuffle_partitions=2, driver_memory_mb=1024)
    session = spark_engine.session(settings)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_features(
    pipeline_run: Path, spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The features stage on Spark, from the pipeline's validated tables."""
    out = tmp_path_factory.mktemp("spark") / "features"
    settings = spark_engine.SparkSettings("local[2]", shuffle_partitions=2, driver_memory_mb=1024)
    summary = build_feature_tables(
        pipeline_run / "data" / "interim", out, engine_name="spark", spark_settings=settings
    )
    return {"dir": out, "summary": summary}


def _tables(folder: Path) -> pd.DataFrame:
    train = read_feature_table(folder / "train.parquet").drop(columns=TARGET)
    return pd.concat([train, read_feature_table(folder / "production.parquet")])


@pytest.fixture(scope="module")
def both(pipeline_run: Path, spark_features: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every feature of every client: (DuckDB's, from the pipeline; Spark's)."""
    return _tables(pipeline_run / "data" / "features"), _tables(spark_features["dir"])


def _history(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[f.name for f in history_features()]]


@needs_spark
def test_spark_computes_every_history_feature_of_every_client(both) -> None:
    duck, spark = both
    assert list(spark.columns) == list(duck.columns)
    assert spark.index.equals(duck.index)
    assert len(_history(spark).columns) == len(history_features())


@needs_spark
def test_missing_values_stay_missing(both) -> None:
    duck, spark = both
    missing = _history(duck).isna()
    assert missing.any().any()  # the check bites: some clients have no history somewhere
    pd.testing.assert_frame_equal(_history(spark).isna(), missing)


@needs_spark
def test_counts_and_whole_numbers_are_exact(both) -> None:
    duck, spark = both
    values = _history(duck)
    whole = [c for c in values if np.array_equal(values[c].dropna(), values[c].dropna().round())]
    counts = {f.name for f in history_features() if f.func in ("count", "nunique")}
    assert counts <= set(whole)
    pd.testing.assert_frame_equal(_history(spark)[whole], values[whole], check_exact=True)


@needs_spark
def test_floats_agree_to_a_relative_1e9(both) -> None:
    duck, spark = both
    a, b = _history(duck).to_numpy(float), _history(spark).to_numpy(float)
    known = ~np.isnan(a)
    gap = np.abs(a[known] - b[known]) / np.maximum(np.abs(a[known]), np.finfo(float).tiny)
    assert gap.max() <= RELATIVE, f"largest relative gap {gap.max():.3g}"


@needs_spark
def test_application_and_cross_features_agree_too(both) -> None:
    duck, spark = both
    rest = [c for c in duck.columns if c not in set(_history(duck).columns)]
    pd.testing.assert_frame_equal(spark[rest], duck[rest], check_exact=False, rtol=RELATIVE)


@needs_spark
def test_the_spark_stage_writes_the_same_side_files(pipeline_run: Path, spark_features) -> None:
    for name in ("dictionary.csv", "categories.json", "summary.json"):
        expected = (pipeline_run / "data" / "features" / name).read_bytes()
        assert (spark_features["dir"] / name).read_bytes() == expected, name
    assert (
        json.loads((spark_features["dir"] / "summary.json").read_text())["rows"]
        == (spark_features["summary"]["rows"])
    )


# --- batch scoring -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scorer(pipeline_run: Path) -> Scorer:
    """The pipeline's registered champion with its contract."""
    uri = registry.tracking_uri(pipeline_run / "data" / "mlflow")
    return Scorer.from_registry(tracking_uri=uri)


@pytest.fixture(scope="module")
def expected_scores(pipeline_run: Path, scorer: Scorer) -> pd.DataFrame:
    """``Scorer.score_features`` on the production table, as the batch's columns."""
    production = read_feature_table(pipeline_run / "data" / "features" / "production.parquet")
    results = scorer.score_features(production)
    rows = [
        {
            CLIENT_ID: r.client_id,
            "probability_default": r.probability_default,
            "risk_score": r.risk_score,
            "decision": r.decision,
            "model_version": r.model_version,
        }
        for r in results
    ]
    frame = pd.DataFrame(rows, columns=list(batch.COLUMNS))
    return frame.sort_values(CLIENT_ID).reset_index(drop=True)


@needs_spark
def test_spark_batch_scores_equal_the_scorers(
    pipeline_run: Path, scorer: Scorer, spark: Any, expected_scores: pd.DataFrame
) -> None:
    production = pipeline_run / "data" / "features" / "production.parquet"
    scored = batch.score_spark(production, scorer, spark)
    assert list(scored.columns) == list(batch.COLUMNS)
    pd.testing.assert_frame_equal(
        scored, expected_scores, check_dtype=False, check_exact=False, rtol=1e-12
    )


def test_pandas_batch_scores_equal_the_scorers(
    pipeline_run: Path, scorer: Scorer, expected_scores: pd.DataFrame
) -> None:
    production = pipeline_run / "data" / "features" / "production.parquet"
    scored = batch.score_pandas(production, scorer)
    pd.testing.assert_frame_equal(scored, expected_scores, check_dtype=False)
