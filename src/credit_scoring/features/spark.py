"""The Spark engine of the history aggregates: DuckDB's SQL, transpiled, on ``local[n]`` or more.

There is one feature catalog: ``catalog.py`` declares every aggregate as DuckDB SQL over the rows
of ``sql/<grain>.sql``, and :func:`credit_scoring.features.engine.grain_query` writes the query of
a grain. This module turns that query into Spark SQL, so both engines run the same declarations:

1. the DuckDB macros of ``sql/_macros.sql`` (``whole``, ``amount``, ``ratio``...), which Spark does
   not have, are expanded in place: each call becomes the macro's body, its parameters replaced by
   the call's arguments (:func:`expand_macros`);
2. where the two engines disagree on what an expression means, the tree is rewritten to DuckDB's
   meaning (:func:`duckdb_semantics`), then sqlglot writes it in the Spark dialect.

The rewrites of step 2, each checked against DuckDB 2.0 on the twin (``tests/test_spark.py``):

- ``a / b`` is always a division of doubles in DuckDB (even of integers and decimals); Spark
  keeps decimals exact there, with a scale of its own. Both sides are cast to DOUBLE.
- ``CAST(double AS BIGINT)`` rounds to the nearest (ties to even) in DuckDB and truncates in Spark:
  ``bround`` first.
- ``CAST(double AS DECIMAL(p, s))`` is ``round(x * 10^s)`` (ties away from zero) of the double
  product in DuckDB; Spark converts the double's decimal expansion. The DuckDB steps are spelt out.
- ``avg`` of a DECIMAL is a DOUBLE in DuckDB and a DECIMAL of the input's scale + 4 in Spark,
  rounded there: it becomes ``CAST(sum(x) AS DOUBLE) / count(x)``, the exact sum converted once.
- ``arg_max_null(value, key)`` is ``max_by``; a struct key orders a missing field last in DuckDB
  and first in Spark, so each field is preceded by its ``IS NULL`` flag.

Spark's ANSI mode (its default) stays on: an overflow fails in both engines, and a division by
zero, which DuckDB would turn into an infinity, fails in Spark rather than give another value.

PySpark and sqlglot are optional (``uv sync --group spark``) and imported only here, when the
Spark engine is chosen; Spark also needs a Java runtime (Debian: ``openjdk-17-jre-headless``).

For example, ``spark_sql("SELECT whole(DAYS_CREDIT) AS D FROM bureau")`` gives
``SELECT CAST(BROUND((DAYS_CREDIT), 0) AS BIGINT) AS D FROM bureau``: the examples live in
``tests/test_spark.py``, which skips where sqlglot is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from credit_scoring.features import engine
from credit_scoring.features.catalog import GRAINS, Grain

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from sqlglot import exp

#: How to get what the Spark engine needs, for the error that says it is missing.
INSTALL_HINT = (
    "the Spark engine needs pyspark and sqlglot (python3 -m uv sync --group spark, or make test) "
    "and Java (apt-get install openjdk-17-jre-headless)"
)
_MACRO = re.compile(
    r"CREATE\s+OR\s+REPLACE\s+TEMP\s+MACRO\s+(\w+)\s*\(([^)]*)\)\s+AS\s+(.+)", re.I | re.S
)


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs and with what: ``local[2]`` on the project's 2-core machines.

    ``master`` is any Spark master URL (``local[n]``, ``spark://host:7077``, ``yarn``...);
    ``shuffle_partitions`` sets ``spark.sql.shuffle.partitions`` (Spark's 200 are meant for a
    cluster: on two cores a few suffice); ``driver_memory_mb`` is the driver JVM's heap, which in
    local mode holds the executors too.
    """

    master: str = "local[2]"
    shuffle_partitions: int = 8
    driver_memory_mb: int = 3000

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> SparkSettings:
        """Settings from the ``features.spark`` section of ``params.yaml`` (missing keys: default).

        Examples
        --------
        >>> SparkSettings.from_params({"master": "local[4]"}).master
        'local[4]'
        """
        params = params or {}
        default = cls()
        return cls(
            master=str(params.get("master", default.master)),
            shuffle_partitions=int(params.get("shuffle_partitions", default.shuffle_partitions)),
            driver_memory_mb=int(params.get("driver_memory_mb", default.driver_memory_mb)),
        )


def java_available() -> bool:
    """True when a Java runtime is on the PATH or under ``JAVA_HOME``."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and (Path(home) / "bin" / "java").exists())


def missing_requirements() -> list[str]:
    """What the Spark engine lacks here (empty when it can run): modules, then Java."""
    import importlib.util

    missing = [m for m in ("pyspark", "sqlglot") if importlib.util.find_spec(m) is None]
    if not java_available():
        missing.append("java")
    return missing


def _require() -> None:
    missing = missing_requirements()
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: {INSTALL_HINT}")


def session(settings: SparkSettings = SparkSettings()) -> SparkSession:
    """The Spark session of this process (created on first use with ``settings``).

    Raises
    ------
    RuntimeError
        When pyspark, sqlglot or Java is missing, saying how to install them.
    """
    _require()
    from pyspark.sql import SparkSession

    # Python workers (batch scoring's UDFs) must run this interpreter, with its packages.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(settings.master)
        .appName("credit-scoring")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.driver.memory", f"{settings.driver_memory_mb}m")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        # Arrow carries the aggregates back to the driver and the features to the model.
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# --- DuckDB SQL -> Spark SQL ---------------------------------------------------------------------


@cache
def macros() -> dict[str, tuple[tuple[str, ...], exp.Expression]]:
    """The macros of ``sql/_macros.sql``: name -> (parameters, body parsed as DuckDB SQL)."""
    import sqlglot

    found: dict[str, tuple[tuple[str, ...], exp.Expression]] = {}
    for statement in engine._statements(engine.read_sql("_macros")):
        match = _MACRO.fullmatch(statement)
        if match is None:
            raise ValueError(f"sql/_macros.sql: not a macro definition: {statement[:80]!r}")
        name, params, body = match.groups()
        names = tuple(p.strip().lower() for p in params.split(",") if p.strip())
        found[name.lower()] = (names, sqlglot.parse_one(body, read="duckdb"))
    return found


def expand_macros(tree: exp.Expression) -> exp.Expression:
    """``tree`` with every call of a macro of ``sql/_macros.sql`` replaced by its body.

    Arguments are expanded first, bodies after substitution (macros call macros), and every
    argument and every body goes in parentheses so that the operators keep their order:
    ``flag(x > 0)`` becomes ``(CAST((x > 0) AS INT))``.
    """
    from sqlglot import exp

    definitions = macros()

    def expand(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in definitions:
            params, body = definitions[str(node.this).lower()]
            args = [expand_macros(a) for a in node.expressions]
            if len(args) != len(params):
                raise ValueError(
                    f"sql/_macros.sql: {node.this} takes {len(params)} arguments, got {len(args)}"
                )
            by_name = dict(zip(params, args, strict=True))

            def substitute(part: exp.Expression) -> exp.Expression:
                if isinstance(part, exp.Column) and not part.table and part.name.lower() in by_name:
                    return exp.Paren(this=by_name[part.name.lower()].copy())
                return part

            # In parentheses too: sqlglot writes a * (x * x) as a * x * x, which Spark reads as
            # (a * x) * x, another rounding of doubles.
            return exp.Paren(this=expand_macros(body.copy().transform(substitute)))
        return node

    return tree.copy().transform(expand)


def _double(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))


def _duckdb_decimal(node: exp.Cast) -> exp.Expression:
    """DuckDB's CAST(double AS DECIMAL(p, s)): round(x * 10^s), ties away from zero (Spark's
    ``round`` on a double), then the integer read back with ``s`` decimals, exactly."""
    from sqlglot import exp

    params = node.to.expressions
    precision, scale = (int(p.this.this) for p in params) if params else (18, 3)
    factor = 10**scale
    scaled = exp.Mul(this=_double(node.this), expression=_double(exp.Literal.number(factor)))
    rounded = exp.Anonymous(this="ROUND", expressions=[scaled, exp.Literal.number(0)])
    # DECIMAL(p, 0) / DECIMAL(s + 1, 0) keeps at least s decimals in Spark (a wider dividend
    # would leave only 6); DuckDB refuses values of p digits or more anyway.
    whole = exp.Cast(this=rounded, to=exp.DataType.build(f"DECIMAL({precision}, 0)"))
    shifted = exp.Paren(
        this=exp.Div(
            this=whole,
            expression=exp.Cast(
                this=exp.Literal.number(factor), to=exp.DataType.build(f"DECIMAL({scale + 1}, 0)")
            ),
        )
    )
    return exp.Cast(this=shifted, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))


def _null_last_key(key: exp.Expression) -> exp.Expression:
    """A max_by key that orders like DuckDB's: a struct's missing field above any value."""
    from sqlglot import exp

    inner = key.this if isinstance(key, exp.Paren) else key
    if not isinstance(inner, exp.Tuple):
        return key
    fields: list[exp.Expression] = []
    for field in inner.expressions:
        fields += [exp.Is(this=field.copy(), expression=exp.Null()), field.copy()]
    return exp.Struct(expressions=fields)


def duckdb_semantics(tree: exp.Expression) -> exp.Expression:
    """``tree`` (macros expanded) rewritten so that Spark computes what DuckDB does.

    See the module's docstring for each rewrite and why.
    """
    from sqlglot import exp

    def rewrite(node: exp.Expression) -> exp.Expression:
        # Divisions in parentheses: sqlglot writes a / b * (c / d) as a / b * c / d.
        if isinstance(node, exp.Div):
            return exp.Paren(
                this=exp.Div(this=_double(node.this), expression=_double(node.expression))
            )
        if type(node) is exp.Cast and node.to.is_type(exp.DataType.Type.BIGINT):
            rounded = exp.Anonymous(this="BROUND", expressions=[node.this, exp.Literal.number(0)])
            return exp.Cast(this=rounded, to=node.to)
        if type(node) is exp.Cast and node.to.is_type(exp.DataType.Type.DECIMAL):
            return _duckdb_decimal(node)
        if isinstance(node, exp.Avg):
            total = exp.Sum(this=node.this.copy())
            count = exp.Count(this=node.this.copy())
            return exp.Paren(this=exp.Div(this=_double(total), expression=_double(count)))
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "arg_max_null":
            value, key = node.expressions
            return exp.Anonymous(this="MAX_BY", expressions=[value, _null_last_key(key)])
        return node

    # Post-order: each node is rewritten once, after its children, so a rewrite's own nodes
    # (the divisions and casts it builds) are never rewritten again.
    for node in list(tree.walk(bfs=False))[::-1]:
        replacement = rewrite(node)
        if replacement is not node:
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
    return tree


def spark_sql(duckdb_sql: str) -> str:
    """A DuckDB query of the catalog (macros and all) as Spark SQL, computing the same values."""
    import sqlglot

    tree = duckdb_semantics(expand_macros(sqlglot.parse_one(duckdb_sql, read="duckdb")))
    return tree.sql(dialect="spark")


def grain_query(grain: Grain) -> str:
    """The Spark SQL of one grain's aggregates (:func:`engine.grain_query`, transpiled)."""
    return _grain_query(grain.name)


@cache
def _grain_query(name: str) -> str:
    return spark_sql(engine.grain_query(next(g for g in GRAINS if g.name == name)))


# --- the batch -----------------------------------------------------------------------------------


def register_tables(spark: SparkSession, history_dir: Path) -> None:
    """One temporary view per history table over its validated Parquet file."""
    for table in engine.SIDE_TABLES:
        path = engine.table_path(Path(history_dir), table)
        spark.read.parquet(str(path)).createOrReplaceTempView(table)


def grain_tables(spark: SparkSession, history_dir: Path) -> list[pa.Table]:
    """Every grain's aggregates (one row per client with rows there), computed by Spark."""
    register_tables(spark, history_dir)
    return [spark.sql(grain_query(g)).toArrow() for g in GRAINS]


def history_table(
    client_ids: Sequence[int],
    history_dir: Path,
    settings: SparkSettings = SparkSettings(),
) -> pa.Table:
    """Every history aggregate of ``client_ids``, computed by Spark: the table that
    :func:`credit_scoring.features.engine.history_table` gives, value for value.

    Every history row is read (the batch); a client without rows in a table gets 0 for its
    counts and sums, missing for the rest.
    """
    tables = grain_tables(session(settings), history_dir)
    # The DuckDB engine's last step: Arrow casts both engines' exact types (DECIMAL, BIGINT) to
    # the same float64 values, and fills 0 for the counts and sums of clients without rows.
    return engine._client_rows(pa.array(client_ids, type=pa.int64()), tables)
