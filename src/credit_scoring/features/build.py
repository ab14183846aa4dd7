"""Batch and serving entry points: one code path from applications and history to features."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from credit_scoring import paths
from credit_scoring.data.schema import CLIENT_ID, TARGET
from credit_scoring.features import application, cross, engine
from credit_scoring.features.catalog import GROUPS, SOURCES, Feature, group_of, history_features

log = logging.getLogger(__name__)

#: Above this many applications, the batch reads every history row rather than filter by client:
#: the same rows per client either way, and a hash filter on 58 M rows costs more than it saves.
RESTRICT_MAX = 50_000


def all_features() -> list[Feature]:
    """Every feature, in the column order of the feature tables."""
    return application.application_features() + history_features() + cross.cross_features()


def feature_groups() -> dict[str, list[str]]:
    """Feature names by group (the keys of ``catalog.GROUPS``, in order), in column order.

    The groups split the features: a benchmark leaves one out to weigh it. One per history table
    (``bureau`` with its monthly statuses, ``previous``, ``pos``, ``installments``, ``card``), the
    cross features going with the table they read; ``application``; then the four groups of the
    top Kaggle solutions: ``taux_implicite`` (implied rates of the current and previous credits),
    ``tendances`` (trends over the latest instalments and card months),
    ``anciennete_incidents`` (dates of the latest late payments; the date of the latest refusal
    and the refusals of the last 12 months predate them, in ``previous``), ``bureau_par_type``.

    Examples
    --------
    >>> groups = feature_groups()
    >>> list(groups)[-4:]
    ['taux_implicite', 'tendances', 'anciennete_incidents', 'bureau_par_type']
    >>> "APP_IMPLIED_RATE" in groups["taux_implicite"], "BURO_CAR_COUNT" in groups["bureau"]
    (True, False)
    >>> sum(map(len, groups.values())) == len(all_features())
    True
    """
    groups: dict[str, list[str]] = {group: [] for group in GROUPS}
    for feature in all_features():
        groups[group_of(feature)].append(feature.name)
    return groups


def feature_dictionary() -> pd.DataFrame:
    """One row per feature: name, source, aggregation, French label, unit, actionable, direction,
    group (see :func:`feature_groups`).

    ``unit`` is one of ``jours``, ``mois``, ``années``, ``€``, ``ratio``, ``part`` (a share
    between 0 and 1) or empty (counts, flags, scores). ``actionable`` marks what the client can
    change in the application (amount, annuity, goods price, down payment, and their ratios).
    ``direction`` is ``+`` when a higher value usually goes with more risk, ``-`` with less,
    empty when no reliable hint exists.

    Examples
    --------
    >>> d = feature_dictionary()
    >>> d.set_index("name").loc["ANNUITY_INCOME_RATIO", "label_fr"]
    'Part du revenu consacrée aux remboursements'
    >>> bool(d["label_fr"].str.len().gt(0).all()), d["name"].is_unique
    (True, True)
    """
    rows = [
        {
            "name": f.name,
            "source": f.source,
            "aggregation": f.aggregation,
            "label_fr": f.label_fr,
            "unit": f.unit,
            "actionable": f.actionable,
            "direction": f.direction,
            "group": group_of(f),
        }
        for f in all_features()
    ]
    return pd.DataFrame(rows)


def _validated(applications: pd.DataFrame) -> pd.DataFrame:
    if CLIENT_ID not in applications:
        raise ValueError(f"applications need a {CLIENT_ID} column")
    ids = applications[CLIENT_ID]
    if ids.isna().any():
        raise ValueError(f"applications have a missing {CLIENT_ID}")
    if not ids.is_unique:
        raise ValueError(f"applications repeat {CLIENT_ID}: {sorted(ids[ids.duplicated()])[:5]}")
    return applications


def _history_table(
    client_ids: Sequence[int],
    history_dir: Path,
    restrict: bool,
    settings: engine.EngineSettings,
) -> pa.Table:
    return engine.history_table(client_ids, history_dir, restrict=restrict, settings=settings)


def _arrow(values: np.ndarray | application.Coded) -> pa.Array:
    # from_pandas: NaN becomes null, and a Categorical a dictionary of all its levels.
    if isinstance(values, application.Coded):
        return pa.array(values.categorical(), from_pandas=True)
    return pa.array(values, from_pandas=True)


def _feature_table(
    applications: pd.DataFrame, history: pa.Table, levels: dict[str, list[str]]
) -> pa.Table:
    """Application, history and cross features side by side, rows aligned, in dictionary order.

    Arrow, not pandas: the batch writes it to Parquet without a pandas copy of 350,000 x 480
    values; serving converts its few rows to pandas.
    """
    app = application.columns(applications, levels)
    history_arrays = {name: history.column(name).to_numpy() for name in cross.INPUTS}
    combined = cross.compute(app, history_arrays)
    names = [*app, *history.column_names, *combined]
    arrays = [
        *(_arrow(v) for v in app.values()),
        *history.columns,
        *(_arrow(v) for v in combined.values()),
    ]
    return pa.Table.from_arrays(arrays, names=names)


def assemble(
    applications: pd.DataFrame, history: pd.DataFrame, levels: dict[str, list[str]]
) -> pd.DataFrame:
    """Features of application rows given their history features, row by row.

    For what-if variants of an application: ``history`` holds one row of
    :func:`~credit_scoring.features.engine.history_aggregates` per application row, aligned by
    position. The same code as :func:`build_features`, so the same values.
    """
    table = pa.Table.from_pandas(history.reset_index(drop=True), preserve_index=False)
    ids = applications[CLIENT_ID].astype("int64").tolist()
    return _to_frame(_feature_table(applications, table, levels), ids)


_assemble = assemble  # the name explain/counterfactual.py calls


def _to_frame(table: pa.Table, client_ids: Sequence[int]) -> pd.DataFrame:
    frame = table.to_pandas()
    frame.index = pd.Index(np.asarray(client_ids, dtype="int64"), name=CLIENT_ID)
    return frame


def build_features(
    applications: pd.DataFrame,
    history_dir: Path = paths.INTERIM_DIR,
    client_ids: Sequence[int] | None = None,
    *,
    settings: engine.EngineSettings = engine.DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Features of applications, indexed by SK_ID_CURR, TARGET never included.

    Parameters
    ----------
    applications
        Rows with the application columns (train, test or a posted application); TARGET and any
        other extra column are ignored, missing columns count as missing values.
    history_dir
        Folder of the ingested Parquet tables (``data/interim``): the six history tables, and
        application_train for the category levels.
    client_ids
        Build only these clients, in this order; their filter is pushed into every history scan.
        Default: every row of ``applications``, in its order.
    settings
        DuckDB threads and memory limit.

    Returns
    -------
    pandas.DataFrame
        One row per client; numeric features are float64, categorical ones ``category`` with
        the levels of application_train. A client's row never depends on the other rows.

    Raises
    ------
    KeyError
        When a client of ``client_ids`` has no row in ``applications``.
    """
    _validated(applications)
    if client_ids is not None:
        ids = [int(i) for i in client_ids]
        rows = applications.set_axis(applications[CLIENT_ID].astype("int64").to_numpy(), axis=0)
        absent = [i for i in ids if i not in rows.index]
        if absent:
            raise KeyError(f"applications have no row for clients {absent[:5]}")
        applications = rows.loc[ids].reset_index(drop=True)
    ids = applications[CLIENT_ID].astype("int64").tolist()
    # Filtering or not yields the same rows per client; it only changes how much is read.
    restrict = len(ids) <= RESTRICT_MAX
    history = _history_table(ids, Path(history_dir), restrict, settings)
    levels = application.category_levels(Path(history_dir))
    return _to_frame(_feature_table(applications, history, levels), ids)


def features_for_clients(
    client_ids: Sequence[int],
    interim_dir: Path = paths.INTERIM_DIR,
    applications: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Serving: the features of a few clients, equal to their rows of the batch tables.

    Parameters
    ----------
    client_ids
        The clients, in the order of the rows returned.
    interim_dir
        Folder of the ingested tables.
    applications
        Application rows to use instead of the stored ones (posted to the API, or a what-if with
        another amount); they must hold a row for each of ``client_ids``.

    Raises
    ------
    KeyError
        When a client has no application (stored or given).
    """
    ids = [int(i) for i in client_ids]
    if applications is None:
        applications = engine.lookup_applications(ids, Path(interim_dir))
    return build_features(applications, interim_dir, client_ids=ids)


def empty_tables(history_dir: Path = paths.INTERIM_DIR) -> list[str]:
    """The history tables ingested with no rows, in declared order.

    A Kaggle export may hold only the header of a table (no client has that history); ingestion
    writes it as a zero-row parquet. Its features are then those of a client without rows there,
    for every client: 0 for counts and sums, missing for the rest.

    Parameters
    ----------
    history_dir
        Folder of the ingested Parquet tables (``data/interim``).

    Raises
    ------
    FileNotFoundError
        When a history table is missing, naming it.
    """
    return [
        table
        for table in engine.SIDE_TABLES
        # The footer alone: no row of a 27 M-row table is read to learn it has some.
        if pq.read_metadata(engine.table_path(Path(history_dir), table)).num_rows == 0
    ]


def _atomic_replace(out_dir: Path, write) -> Any:
    """Run ``write(tmp_dir)`` then swap ``tmp_dir`` in for ``out_dir``; on error, leave no trace."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        result = write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
        old.rmdir()
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return result


#: What the stage built (rows, features per source, empty history tables), for the reports.
SUMMARY_FILE = "summary.json"


def headline(summary: dict[str, Any]) -> dict[str, int]:
    """The figures of ``features.json``: how many features, how many from the history.

    Examples
    --------
    >>> headline({"features": 10, "features_per_source": {"application": 4, "bureau": 6}})
    {'features': 10, 'history_features': 6}
    """
    per_source = summary["features_per_source"]
    history = sum(n for source, n in per_source.items() if source != "application")
    return {"features": summary["features"], "history_features": history}


#: The engines of the history aggregates (``features.engine`` in ``params.yaml``).
ENGINES: tuple[str, ...] = ("duckdb", "spark")


def build_feature_tables(
    interim_dir: Path = paths.INTERIM_DIR,
    out_dir: Path = paths.FEATURES_DIR,
    *,
    settings: engine.EngineSettings = engine.DEFAULT_SETTINGS,
    engine_name: str = "duckdb",
    spark_settings: Any = None,
) -> dict[str, Any]:
    """The ``features`` stage: train and production feature tables, and their dictionary.

    Writes ``train.parquet`` (SK_ID_CURR, TARGET, features), ``production.parquet``
    (SK_ID_CURR, features, for application_test), ``dictionary.csv``, ``categories.json``
    (the category levels, from application_train) and ``summary.json`` (the returned figures
    but the timings) into ``out_dir``, atomically: a failure leaves
    ``out_dir`` as it was.

    Parameters
    ----------
    interim_dir, out_dir
        The validated tables (``data/interim``) and the folder written.
    settings
        DuckDB threads and memory limit.
    engine_name
        ``duckdb`` or ``spark``: who computes the history aggregates, from the same SQL catalog
        (see :mod:`credit_scoring.features.spark`). The files written are the same.
    spark_settings
        A :class:`~credit_scoring.features.spark.SparkSettings` (default: ``local[2]``).

    Returns
    -------
    dict
        ``rows`` per table, ``features`` (count), ``features_per_source``, ``empty_tables`` (the
        history tables with no rows, see :func:`empty_tables`), ``seconds`` per step.

    Raises
    ------
    ValueError
        When ``engine_name`` is neither ``duckdb`` nor ``spark``.
    """
    if engine_name not in ENGINES:
        raise ValueError(f"features.engine must be one of {ENGINES}, got {engine_name!r}")
    interim_dir, out_dir = Path(interim_dir), Path(out_dir)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    empty = empty_tables(interim_dir)
    for table in empty:
        log.warning(
            "%s.parquet has no rows: every client gets the features of a client without that "
            "history (0 for counts and sums, missing values otherwise)",
            table,
        )

    def write(tmp: Path) -> dict[str, Any]:
        t = time.perf_counter()
        train = pd.read_parquet(engine.table_path(interim_dir, "application_train"))
        test = pd.read_parquet(engine.table_path(interim_dir, "application_test"))
        seconds["read"] = time.perf_counter() - t
        t = time.perf_counter()
        applications = pd.concat([train.drop(columns=TARGET), test], ignore_index=True)
        del test
        ids = applications[CLIENT_ID]
        if not ids.is_unique:
            raise ValueError("application_train and application_test share SK_ID_CURR values")
        # One pass over the history for both tables, every row read (no client filter).
        if engine_name == "spark":
            # Imported here: pyspark is an optional dependency the default engine never loads.
            from credit_scoring.features import spark

            history = spark.history_table(
                ids.tolist(), interim_dir, spark_settings or spark.SparkSettings()
            )
        else:
            history = _history_table(ids.tolist(), interim_dir, False, settings)
        seconds["history"] = time.perf_counter() - t
        t = time.perf_counter()
        levels = application.category_levels(interim_dir)
        features = _feature_table(applications, history, levels)
        del history
        features = features.add_column(0, CLIENT_ID, pa.array(ids.to_numpy(), pa.int64()))
        n_train = len(train)
        target = pa.array(train[TARGET].to_numpy(), pa.int64())
        del train, applications
        # Dictionary encoding only where it pays (categories): tried on 480 float columns it
        # costs 40 % of the write for nothing. Both tables at once: the writer frees the GIL.
        categorical = [f.name for f in features.schema if pa.types.is_dictionary(f.type)]
        with ThreadPoolExecutor(2) as pool:
            writes = [
                pool.submit(pq.write_table, table, path, use_dictionary=categorical)
                for table, path in (
                    (
                        features.slice(0, n_train).add_column(1, TARGET, target),
                        tmp / "train.parquet",
                    ),
                    (features.slice(n_train), tmp / "production.parquet"),
                )
            ]
            for write_done in writes:
                write_done.result()
        rows = {"train": n_train, "production": features.num_rows - n_train}
        del features
        seconds["assemble_and_write"] = time.perf_counter() - t
        dictionary = feature_dictionary()
        dictionary.to_csv(tmp / "dictionary.csv", index=False)
        (tmp / "categories.json").write_text(
            json.dumps(levels, indent=1, ensure_ascii=False), encoding="utf-8"
        )
        counts = dictionary["source"].value_counts()
        summary = {
            "rows": rows,
            "features": len(dictionary),
            "features_per_source": {s: int(counts.get(s, 0)) for s in SOURCES},
            "empty_tables": empty,
        }
        (tmp / SUMMARY_FILE).write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return summary

    metrics = _atomic_replace(out_dir, write)
    seconds["total"] = time.perf_counter() - started
    metrics["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return metrics


def read_feature_table(path: Path) -> pd.DataFrame:
    """A feature table as written, SK_ID_CURR as index (categories restored as written)."""
    return pd.read_parquet(path).set_index(CLIENT_ID)
