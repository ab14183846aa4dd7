"""DuckDB runs the per-client aggregates of the history tables, batch and serving alike.

The same SQL serves the batch (every client) and a served client: only the client filter pushed
into each table scan differs, and exact arithmetic (see ``sql/_macros.sql``) makes the result of
a client independent of the other rows read with it.

Serving keeps, per thread and per data folder, a DuckDB connection whose views filter the tables
on a small table of requested ids and whose grain queries are prepared once: a request replaces
the ids and executes. DuckDB's planning grows with the hundreds of aggregate expressions, so
preparing them once halves the cost of a served client.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL, TABLES
from credit_scoring.features.catalog import (
    GRAINS,
    ZERO_WHEN_EMPTY,
    Feature,
    Grain,
    history_features,
)

SQL_DIR = Path(__file__).with_name("sql")
SIDE_TABLES: tuple[str, ...] = tuple(t for t in TABLES if not t.startswith("application"))
#: Up to this many clients, the prepared serving queries are used.
SERVING_MAX = 1_000


@dataclass(frozen=True)
class EngineSettings:
    """DuckDB resources: the batch must fit in 6 GB on a 2-core machine."""

    threads: int = 2
    memory_limit_mb: int = 3000

    def worker(self) -> EngineSettings:
        """Settings of one of ``threads`` single-threaded workers sharing these resources."""
        return EngineSettings(1, max(256, self.memory_limit_mb // max(1, self.threads)))


DEFAULT_SETTINGS = EngineSettings()


@cache
def read_sql(name: str) -> str:
    """The text of ``sql/<name>.sql`` with the schema's sentinel filled in."""
    return (
        (SQL_DIR / f"{name}.sql")
        .read_text(encoding="utf-8")
        .replace("{days_sentinel}", str(DAYS_SENTINEL))
    )


_local = threading.local()
#: Every serving connection opened, whatever its thread: closed at exit. A connection left to
#: an idle daemon thread (a web server's worker) aborts the process as the interpreter ends.
_SERVING: list[duckdb.DuckDBPyConnection] = []
_SERVING_LOCK = threading.Lock()


def _serving_connection(settings: EngineSettings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    _configure(con, settings)
    with _SERVING_LOCK:
        _SERVING.append(con)
    return con


@atexit.register
def close_serving_connections() -> None:
    """Close every serving connection (at exit, or when a server stops)."""
    with _SERVING_LOCK:
        while _SERVING:
            _SERVING.pop().close()


def connection(settings: EngineSettings = DEFAULT_SETTINGS) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection of this thread, with the project's macros (one per thread and settings).

    DuckDB connections are not safe to share between threads; the API serves from a thread pool.
    """
    cached = getattr(_local, "connections", None)
    if cached is None:
        cached = _local.connections = {}
    if settings not in cached:
        con = duckdb.connect(":memory:")
        _configure(con, settings)
        cached[settings] = con
    return cached[settings]


def _configure(con: duckdb.DuckDBPyConnection, settings: EngineSettings) -> None:
    spill = Path(tempfile.gettempdir()) / f"credit_scoring_duckdb_{os.getpid()}"
    for statement in (
        f"SET threads = {int(settings.threads)}",
        f"SET memory_limit = '{int(settings.memory_limit_mb)}MB'",
        f"SET temp_directory = '{_quote(spill)}'",
        "SET enable_progress_bar = false",
        # Rows are put in client order afterwards; DuckDB may return them in any order.
        "SET preserve_insertion_order = false",
        # Serving reads the same files again and again: keep their footers in memory.
        "SET parquet_metadata_cache = true",
    ):
        con.execute(statement)
    for statement in _statements(read_sql("_macros")):
        con.execute(statement)


def _statements(script: str) -> list[str]:
    """The statements of a SQL script whose comments are whole lines."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in code.split(";") if s.strip()]


def _quote(path: Path | str) -> str:
    return str(path).replace("'", "''")


def table_path(history_dir: Path, table: str) -> Path:
    """The Parquet file of a table, or a clear error naming what is missing."""
    path = Path(history_dir) / f"{table}.parquet"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run the data stage first (credit-scoring data prepare)"
        )
    return path


def _create_views(con: duckdb.DuckDBPyConnection, history_dir: Path, id_table: str | None) -> None:
    """One view per history table, restricted to the clients of ``id_table`` unless None."""
    for table in SIDE_TABLES:
        if id_table is None:
            where = ""
        elif table == "bureau_balance":
            # No client id in bureau_balance: its credits are those of the filtered bureau.
            where = "WHERE SK_ID_BUREAU IN (SELECT SK_ID_BUREAU FROM bureau)"
        else:
            where = f"WHERE {CLIENT_ID} IN (SELECT {CLIENT_ID} FROM {id_table})"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * "
            f"FROM read_parquet('{_quote(table_path(history_dir, table))}') {where}"
        )


def grain_query(grain: Grain, features: Sequence[Feature] | None = None) -> str:
    """The SQL of one grain's aggregates: one row per client that has rows in it.

    Examples
    --------
    >>> grain_query(GRAINS[0]).splitlines()[:2]
    ['SELECT SK_ID_CURR,', '    count(*) AS "BURO_COUNT",']
    """
    mine = [
        f for f in (history_features() if features is None else features) if f.grain == grain.name
    ]
    # Left in their exact types (DECIMAL sums, BIGINT counts); Arrow casts them to float64,
    # a per-value conversion that gives the same bits to the batch and to a served client.
    aggregates = ",\n    ".join(f'{f.sql} AS "{f.name}"' for f in mine)
    return (
        f"SELECT {CLIENT_ID},\n    {aggregates}\n"
        f"FROM (\n{read_sql(grain.name)}\n) AS rows_\nGROUP BY {CLIENT_ID}"
    )


def history_aggregates(
    client_ids: Sequence[int],
    history_dir: Path,
    *,
    restrict: bool = True,
    settings: EngineSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """:func:`history_table` as a data frame indexed by SK_ID_CURR."""
    table = history_table(client_ids, history_dir, restrict=restrict, settings=settings)
    frame = table.to_pandas()
    frame.index = pd.Index(pd.array(client_ids, dtype="int64"), name=CLIENT_ID)
    return frame


def _grain_tables(
    grains: Sequence[Grain],
    ids: pa.Array,
    history_dir: Path,
    restrict: bool,
    settings: EngineSettings,
) -> list[pa.Table]:
    """The aggregates of ``grains`` for the clients ``ids``, on this thread's connection."""
    con = connection(settings)
    con.register("_clients", pa.table({CLIENT_ID: ids}))
    try:
        _create_views(con, history_dir, "_clients" if restrict else None)
        return [con.sql(grain_query(g)).to_arrow_table() for g in grains]
    finally:
        con.unregister("_clients")


class _ServingSession:
    """A connection of one thread over one data folder, its queries prepared once."""

    def __init__(self, history_dir: Path, settings: EngineSettings, version: tuple) -> None:
        self.version = version
        self.con = _serving_connection(settings)
        self.con.execute(f"CREATE TEMP TABLE _serve_ids ({CLIENT_ID} BIGINT)")
        _create_views(self.con, history_dir, "_serve_ids")
        for k, grain in enumerate(GRAINS):
            self.con.execute(f"PREPARE grain_{k} AS {grain_query(grain)}")
        columns = ", ".join(f'"{c}"' for c in TABLES["application_test"].column_names)
        self.con.execute(
            "PREPARE applications AS "
            + " UNION ALL ".join(
                f"SELECT {columns} FROM read_parquet('{_quote(table_path(history_dir, t))}') "
                f"WHERE {CLIENT_ID} IN (SELECT {CLIENT_ID} FROM _serve_ids)"
                for t in ("application_train", "application_test")
            )
        )

    def _set(self, ids: Sequence[int]) -> None:
        self.con.execute("DELETE FROM _serve_ids")
        if ids:
            values = ", ".join(f"({int(i)})" for i in ids)
            self.con.execute(f"INSERT INTO _serve_ids VALUES {values}")

    def grains(self, ids: Sequence[int]) -> list[pa.Table]:
        self._set(ids)
        return [self.con.sql(f"EXECUTE grain_{k}").to_arrow_table() for k in range(len(GRAINS))]

    def applications(self, ids: Sequence[int]) -> pd.DataFrame:
        self._set(ids)
        return self.con.sql("EXECUTE applications").to_df()


def _data_version(history_dir: Path) -> tuple:
    """Changes whenever a table is rewritten (new ingestion): sessions are then rebuilt."""
    tables = (*SIDE_TABLES, "application_train", "application_test")
    stats = [os.stat(table_path(history_dir, t)) for t in tables]
    return tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in stats)


def serving_session(
    history_dir: Path, settings: EngineSettings = DEFAULT_SETTINGS
) -> _ServingSession:
    """This thread's serving session over ``history_dir``, rebuilt when the data changed."""
    history_dir = Path(history_dir).resolve()
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    key = (history_dir, settings)
    version = _data_version(history_dir)
    session = sessions.get(key)
    if session is None or session.version != version:
        if session is not None:
            session.con.close()
        session = sessions[key] = _ServingSession(history_dir, settings, version)
    return session


def history_table(
    client_ids: Sequence[int],
    history_dir: Path,
    *,
    restrict: bool = True,
    settings: EngineSettings = DEFAULT_SETTINGS,
) -> pa.Table:
    """Every history aggregate of ``client_ids``: float64 columns, one row per client, in order.

    A client without rows in a table gets 0 for its counts and sums, missing for the rest.
    ``restrict=False`` reads every history row instead of those of ``client_ids`` only: the same
    result, cheaper when ``client_ids`` is nearly everyone (the batch).
    """
    ids = pa.array(client_ids, type=pa.int64())
    history_dir = Path(history_dir)
    # One query per grain: DuckDB's planning cost grows with the expressions of a query, and
    # seven narrow queries put side by side here plan faster than one wide join of them.
    if restrict and len(client_ids) <= SERVING_MAX:
        tables = serving_session(history_dir, settings).grains(client_ids)
    elif settings.threads <= 1:
        tables = _grain_tables(GRAINS, ids, history_dir, restrict, settings)
    else:
        # Wide hash aggregations scale poorly across threads (each thread keeps states of every
        # client): grains run side by side on single-threaded connections instead, ~30 % faster.
        longest_first = sorted(GRAINS, key=lambda g: _COST[g.name], reverse=True)
        with ThreadPoolExecutor(settings.threads) as pool:
            futures = {
                g.name: pool.submit(
                    _grain_tables, [g], ids, history_dir, restrict, settings.worker()
                )
                for g in longest_first
            }
            tables = [futures[g.name].result()[0] for g in GRAINS]
    return _client_rows(ids, tables)


def _client_rows(ids: pa.Array, tables: Sequence[pa.Table]) -> pa.Table:
    """The grains' aggregates side by side, one row per client of ``ids``, in order."""
    names: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for grain, table in zip(GRAINS, tables, strict=True):
        # Row of each requested client in this grain's result (null: no rows for him).
        rows = pc.index_in(ids, value_set=table.column(CLIENT_ID).combine_chunks())
        for feature in (f for f in history_features() if f.grain == grain.name):
            column = table.column(feature.name).cast(pa.float64()).take(rows)
            if feature.func in ZERO_WHEN_EMPTY:
                column = pc.fill_null(column, 0.0)
            names.append(feature.name)
            columns.append(column)
    return pa.Table.from_arrays(columns, names=names)


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow types of a history table's ingested Parquet file, from its declared columns.

    Raises
    ------
    KeyError
        When ``table`` is not a history table.

    Examples
    --------
    >>> arrow_schema("bureau_balance").types
    [DataType(int64), DataType(int64), DataType(string)]
    """
    if table not in SIDE_TABLES:
        raise KeyError(f"{table!r} is not a history table ({', '.join(SIDE_TABLES)})")
    types = {"int64": pa.int64(), "float64": pa.float64(), "object": pa.string()}
    return pa.schema([(c.name, types[c.dtype]) for c in TABLES[table].columns])


class _PostedSession:
    """A connection of one thread whose history tables are small in-memory tables, refilled
    with each request's posted records, and whose grain queries are prepared once."""

    def __init__(self) -> None:
        self.con = _serving_connection(EngineSettings(threads=1, memory_limit_mb=256))
        for table in SIDE_TABLES:
            columns = ", ".join(
                f'"{field.name}" {_DUCKDB_TYPES[str(field.type)]}' for field in arrow_schema(table)
            )
            self.con.execute(f"CREATE TEMP TABLE {table} ({columns})")
        for k, grain in enumerate(GRAINS):
            self.con.execute(f"PREPARE grain_{k} AS {grain_query(grain)}")

    def grains(self, records: dict[str, pa.Table]) -> list[pa.Table]:
        for table in SIDE_TABLES:
            self.con.execute(f"DELETE FROM {table}")
            rows = records.get(table)
            if rows is not None and rows.num_rows:
                self.con.register("_posted", rows)
                try:
                    self.con.execute(f"INSERT INTO {table} SELECT * FROM _posted")
                finally:
                    self.con.unregister("_posted")
        return [self.con.sql(f"EXECUTE grain_{k}").to_arrow_table() for k in range(len(GRAINS))]


_DUCKDB_TYPES = {"int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR"}


def posted_history_table(client_id: int, records: dict[str, pa.Table]) -> pa.Table:
    """The history aggregates of one client from records held in memory (posted to the API).

    ``records`` maps history tables to their rows, in the columns and types of
    :func:`arrow_schema`; an absent table has no rows. The SQL is the batch's, run on this
    thread's in-memory tables: a posted history gets exactly the aggregates the batch would
    compute from the same rows.
    """
    session = getattr(_local, "posted", None)
    if session is None:
        session = _local.posted = _PostedSession()
    for table, rows in records.items():
        expected = arrow_schema(table)
        if not rows.schema.equals(expected):
            raise TypeError(
                f"{table}: the records' columns must be {expected.names} in types "
                f"{[str(t) for t in expected.types]}"
            )
    ids = pa.array([int(client_id)], type=pa.int64())
    return _client_rows(ids, session.grains(records))


# Relative cost of each grain at full scale: the longest start first.
_COST = {
    "bureau": 5,
    "installments_payments": 3,
    "previous_application": 3,
    "POS_CASH_balance": 1.2,
    "credit_card_balance": 1.2,
    "previous_rates": 0.8,
    "POS_CASH_loans": 0.7,
    "credit_card_cards": 0.4,
}


def category_levels_from(path: Path, columns: Sequence[str]) -> dict[str, list[str]]:
    """Sorted distinct levels of ``columns`` in a Parquet file, XNA ("not available") excluded."""
    con = connection()
    selects = ", ".join(
        f'list_sort(list(DISTINCT "{c}") FILTER (WHERE "{c}" <> \'XNA\')) AS "{c}"' for c in columns
    )
    row = con.sql(f"SELECT {selects} FROM read_parquet('{_quote(path)}')").to_arrow_table()
    return {c: [str(v) for v in (row.column(c)[0].as_py() or [])] for c in columns}


def lookup_applications(client_ids: Sequence[int], interim_dir: Path) -> pd.DataFrame:
    """The application rows of ``client_ids`` (train or test), TARGET left out."""
    ids = [int(i) for i in client_ids]
    if len(ids) <= SERVING_MAX:
        return serving_session(Path(interim_dir)).applications(ids)
    columns = ", ".join(f'"{c}"' for c in TABLES["application_test"].column_names)
    con = connection()
    con.register("_lookup", pa.table({CLIENT_ID: pa.array(ids, type=pa.int64())}))
    try:
        return con.sql(
            " UNION ALL ".join(
                f"SELECT {columns} FROM read_parquet('{_quote(table_path(interim_dir, t))}') "
                f"WHERE {CLIENT_ID} IN (SELECT {CLIENT_ID} FROM _lookup)"
                for t in ("application_train", "application_test")
            )
        ).to_df()
    finally:
        con.unregister("_lookup")
