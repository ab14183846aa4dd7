"""The serving path: features of posted applications in memory, by the batch's own functions.

A served application costs microseconds, not a database run:

- its application features come from :func:`credit_scoring.features.application.columns`,
  given the request's fields as one-row arrays (no pandas frame);
- its history features are the client's stored row of the feature table (a known client), the
  empty-history row (a new client, or a client without any history record), or the batch's SQL
  for a client whose history is stored but not in the served table (rare: a training client);
- history records posted with the application replace the stored history: the batch's SQL runs
  on them in memory (:func:`~credit_scoring.features.engine.posted_history_table`);
- the cross features come from :func:`credit_scoring.features.cross.compute`.

The result, :class:`FeatureRows`, holds float64 values in the column order of the feature
tables, categories as their level's code. ``FeatureRows.to_frame()`` gives the rows the batch
would have written; ``tests/test_features.py`` checks that it does, client by client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from credit_scoring.data.schema import CLIENT_ID, TABLES
from credit_scoring.features import application, cross, engine
from credit_scoring.features.catalog import ZERO_WHEN_EMPTY, history_features

FloatMatrix = npt.NDArray[np.float64]
#: History records of one client: table name -> its rows (field name -> value).
History = Mapping[str, Sequence[Mapping[str, Any]]]

_APPLICATION_COLUMNS = [c for c in TABLES["application_test"].columns if c.name != CLIENT_ID]


def empty_history() -> npt.NDArray[np.float64]:
    """The history features of a client without any record: 0 for counts and sums, NaN else.

    Examples
    --------
    >>> row = empty_history()
    >>> names = [f.name for f in history_features()]
    >>> count, mean = names.index("BURO_COUNT"), names.index("BURO_DAYS_CREDIT_MEAN")
    >>> float(row[count]), bool(np.isnan(row[mean]))
    (0.0, True)
    """
    return np.array([0.0 if f.func in ZERO_WHEN_EMPTY else np.nan for f in history_features()])


@dataclass(frozen=True)
class FeatureRows:
    """Feature rows of served applications.

    Attributes
    ----------
    client_ids
        One per row (0: a new client).
    values
        ``(rows, features)`` float64 in the feature tables' column order; a categorical
        feature holds the code of its level in ``levels`` (NaN: missing).
    names
        The features, in column order.
    levels
        The levels of each categorical feature.
    """

    client_ids: npt.NDArray[np.int64]
    values: FloatMatrix
    names: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]] = field(repr=False)

    def __len__(self) -> int:
        return len(self.client_ids)

    @property
    def position(self) -> dict[str, int]:
        """Column of each feature in :attr:`values`."""
        return _positions(self.names)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, levels: Mapping[str, Sequence[str]]) -> FeatureRows:
        """Rows of a feature table (indexed by SK_ID_CURR), categories coded on ``levels``."""
        values = np.empty(frame.shape)
        for k, name in enumerate(frame.columns):
            column = frame[name]
            if name in levels:
                codes = pd.Categorical(column, categories=list(levels[name])).codes
                values[:, k] = np.where(codes < 0, np.nan, codes)
            else:
                values[:, k] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        ids = np.asarray(frame.index, dtype=np.int64)
        kept = {name: tuple(levels[name]) for name in frame.columns if name in levels}
        return cls(ids, values, tuple(str(c) for c in frame.columns), kept)

    def to_frame(self) -> pd.DataFrame:
        """The rows as the batch writes them: float64 and ``category`` columns, indexed by
        SK_ID_CURR."""
        columns: dict[str, Any] = {}
        for k, name in enumerate(self.names):
            column = self.values[:, k]
            if name in self.levels:
                codes = np.where(np.isnan(column), -1, column).astype(np.int16)
                column = pd.Categorical.from_codes(codes, categories=list(self.levels[name]))
            columns[name] = column
        index = pd.Index(self.client_ids, name=CLIENT_ID)
        return pd.DataFrame(columns, index=index)

    def record(self, row: int, names: Sequence[str]) -> dict[str, Any]:
        """Row ``row`` by feature name, for ``names`` only: categories as their level (None when
        missing), as :func:`~credit_scoring.decision_log.inputs_sha256` hashes them."""
        values = self.values[row].tolist()
        position, levels = self.position, self.levels
        out = {name: values[position[name]] for name in names}
        for name, found in levels.items():
            if name in out:
                value = out[name]
                out[name] = None if math.isnan(value) else found[int(value)]
        return out


@lru_cache(maxsize=8)
def _positions(names: tuple[str, ...]) -> dict[str, int]:
    # Every served row of a layout shares its positions: built once, not once per request.
    return {name: k for k, name in enumerate(names)}


def application_arrays(
    applications: Sequence[Mapping[str, Any]], client_ids: Sequence[int]
) -> dict[str, np.ndarray]:
    """Posted applications as columns of arrays: float64 numbers (None: NaN), object levels.

    Examples
    --------
    >>> cols = application_arrays([{"AMT_CREDIT": 1e5, "CODE_GENDER": "F"}], [7])
    >>> cols["SK_ID_CURR"].tolist(), cols["AMT_CREDIT"].tolist(), cols["CODE_GENDER"].tolist()
    ([7], [100000.0], ['F'])
    >>> bool(np.isnan(cols["EXT_SOURCE_1"][0]))
    True
    """
    out: dict[str, np.ndarray] = {CLIENT_ID: np.asarray(client_ids, dtype=np.int64)}
    for column in _APPLICATION_COLUMNS:
        values = [a.get(column.name) for a in applications]
        if column.dtype == "object":
            out[column.name] = np.array(values, dtype=object)
        else:
            out[column.name] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float64
            )
    return out


def history_records(records: History, client_id: int) -> dict[str, pa.Table]:
    """Posted history records of a client as Arrow tables in the ingested files' columns and
    types: ``SK_ID_CURR`` is ``client_id`` whatever the records say, a field left out is
    missing.

    Raises
    ------
    KeyError
        When a table is not a history table.
    """
    out: dict[str, pa.Table] = {}
    for table, rows in records.items():
        schema = engine.arrow_schema(table)
        columns = {name: [row.get(name) for row in rows] for name in schema.names}
        if CLIENT_ID in columns:
            columns[CLIENT_ID] = [client_id] * len(rows)
        out[table] = pa.Table.from_pydict(columns, schema=schema)
    return out


class FeatureServer:
    """Features of served applications, in memory (see the module docstring).

    Parameters
    ----------
    interim_dir
        Folder of the ingested tables: category levels, and the history of a client missing
        from ``stored``.
    stored
        Rows of a feature table (indexed by SK_ID_CURR, or with that column) whose history
        columns are served as they are: the production batch.
    """

    def __init__(self, interim_dir: Path, stored: pd.DataFrame | None = None) -> None:
        from credit_scoring.features.build import all_features

        self.interim_dir = Path(interim_dir)
        self.levels = {c: tuple(v) for c, v in application.category_levels(interim_dir).items()}
        self.names = tuple(f.name for f in all_features())
        self.history_names = [f.name for f in history_features()]
        self._history_position = {n: k for k, n in enumerate(self.history_names)}
        self._empty = empty_history()
        self._row: dict[int, int] = {}
        self._stored = np.empty((0, len(self.history_names)))
        if stored is not None:
            if CLIENT_ID in stored.columns:
                stored = stored.set_index(CLIENT_ID)
            self._stored = stored[self.history_names].to_numpy(dtype=np.float64)
            self._row = {int(i): k for k, i in enumerate(stored.index)}
        self._ids_with_history: np.ndarray | None = None

    @property
    def ids_with_history(self) -> np.ndarray:
        """Sorted ids of every client with a record in a history table (read once)."""
        if self._ids_with_history is None:
            tables = [t for t in engine.SIDE_TABLES if t != "bureau_balance"]
            union = " UNION ".join(
                f"SELECT DISTINCT {CLIENT_ID} FROM "
                f"read_parquet('{engine._quote(engine.table_path(self.interim_dir, t))}')"
                for t in tables
            )
            ids = engine.connection().sql(union).fetchnumpy()[CLIENT_ID]
            self._ids_with_history = np.unique(np.asarray(ids, dtype=np.int64))
        return self._ids_with_history

    def _has_history(self, client_id: int) -> bool:
        ids = self.ids_with_history
        k = int(np.searchsorted(ids, client_id))
        return k < ids.size and int(ids[k]) == client_id

    def history(self, client_id: int | None, posted: History | None = None) -> FloatMatrix:
        """One client's history features, as a vector in catalog order."""
        if posted is not None:
            cid = client_id or 0
            table = engine.posted_history_table(cid, history_records(posted, cid))
            return np.array([table.column(n)[0].as_py() for n in self.history_names], dtype=float)
        if client_id is None:
            return self._empty
        row = self._row.get(int(client_id))
        if row is not None:
            return self._stored[row]
        if not self._has_history(int(client_id)):
            return self._empty
        table = engine.history_table([int(client_id)], self.interim_dir)
        return table.to_pandas().to_numpy(dtype=np.float64)[0]

    def rows(
        self,
        applications: Sequence[Mapping[str, Any]],
        client_ids: Sequence[int | None],
        histories: Sequence[History | None] | None = None,
    ) -> FeatureRows:
        """The features of posted applications.

        Parameters
        ----------
        applications
            Application fields by name (absent or None: missing); ``SK_ID_CURR`` is ignored.
        client_ids
            The client of each application (None: a new client, id 0, without history).
        histories
            History records posted with each application (None: the stored history).
        """
        if len(client_ids) != len(applications):
            raise ValueError(f"{len(applications)} applications but {len(client_ids)} client ids")
        posted = histories if histories is not None else [None] * len(applications)
        ids = [0 if c is None else int(c) for c in client_ids]
        history = np.vstack([self.history(c, h) for c, h in zip(client_ids, posted, strict=True)])
        by_name = {n: history[:, self._history_position[n]] for n in cross.INPUTS}
        # Extreme but valid inputs (an annuity of 1e-300) overflow a ratio: the feature code
        # makes it missing, as in training; the warning is noise.
        with np.errstate(over="ignore"):
            app = application.columns(application_arrays(applications, ids), dict(self.levels))
            combined = cross.compute(app, by_name)
        values = np.empty((len(ids), len(self.names)))
        k = 0
        for array in app.values():
            if isinstance(array, application.Coded):
                codes = array.codes.astype(np.float64)
                codes[codes < 0] = np.nan
                array = codes
            values[:, k] = array
            k += 1
        values[:, k : k + history.shape[1]] = history
        k += history.shape[1]
        for array in combined.values():
            values[:, k] = array
            k += 1
        return FeatureRows(np.asarray(ids, dtype=np.int64), values, self.names, self.levels)
