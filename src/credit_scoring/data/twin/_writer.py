"""Writing the twin: CSV chunks through polars, and an all-or-nothing output directory."""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
import polars as pl

from credit_scoring.data.schema import Table

from ._core import Cat, Column


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _guard_object_column(cat: Cat) -> Cat:
    """Keep a string column reading back as ``object`` in a (tiny) chunk.

    pandas infers float64 for a column that is entirely empty and int64 for one whose
    values all look like numbers (bureau_balance STATUS '0'..'5' without any 'C' or
    'X'). Real-sized chunks never hit this; a twin of a few dozen clients could, so the
    first row then takes a non-numeric level. It changes nothing at useful sizes.
    """
    if len(cat) == 0:
        return cat
    used = np.bincount(cat.codes.astype(np.int64) + 1, minlength=len(cat.levels) + 1)[1:] > 0
    if any(used[i] and not _looks_numeric(level) for i, level in enumerate(cat.levels)):
        return cat
    fallback = next((i for i, lv in enumerate(cat.levels) if not _looks_numeric(lv)), None)
    if fallback is None:
        raise ValueError(f"levels {cat.levels} are all numeric: pandas would not read object")
    codes = cat.codes.copy()
    codes[0] = fallback
    return Cat(codes, cat.levels)


def to_series(name: str, values: Column, dtype: str) -> pl.Series:
    """One column as a polars Series of the schema dtype, checking what pandas will read.

    Raises
    ------
    ValueError
        If an int64 column holds missing or fractional values, or a string column is not
        categorical codes: both would read back with another dtype.
    """
    if dtype == "object":
        if not isinstance(values, Cat):
            raise ValueError(f"{name}: string columns are passed as Cat codes")
        cat = _guard_object_column(values)
        lookup = pl.Series(name, [*cat.levels, None], dtype=pl.String)
        index = np.where(cat.codes < 0, len(cat.levels), cat.codes).astype(np.uint32)
        return lookup.gather(index)
    if isinstance(values, Cat):
        raise ValueError(f"{name}: a categorical for a {dtype} column")
    arr = np.asarray(values)
    if dtype == "int64":
        if arr.dtype.kind == "f":
            if np.isnan(arr).any():
                raise ValueError(f"{name}: an int64 column cannot hold missing values")
            if (np.round(arr) != arr).any():
                raise ValueError(f"{name}: an int64 column holds fractions")
        return pl.Series(name, arr.astype(np.int64), dtype=pl.Int64)
    # float64: NaN becomes an empty field (as in the Kaggle files) instead of the text NaN.
    return pl.Series(name, arr.astype(np.float64), dtype=pl.Float64, nan_to_null=True)


def frame(table: Table, columns: Mapping[str, Column]) -> pl.DataFrame:
    """The columns of one chunk as a DataFrame in the schema's order and dtypes."""
    expected = table.column_names
    if set(columns) != set(expected):
        missing = sorted(set(expected) - set(columns))
        extra = sorted(set(columns) - set(expected))
        raise ValueError(f"{table.name}: missing columns {missing}, unexpected {extra}")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{table.name}: columns of different lengths {sorted(lengths)}")
    return pl.DataFrame([to_series(c.name, columns[c.name], c.dtype) for c in table.columns])


class CsvTableWriter:
    """Append chunks of one table to its CSV (header once), counting the rows written."""

    def __init__(self, directory: Path, table: Table) -> None:
        self.table = table
        self.path = directory / table.file_name
        self.rows = 0
        self._header_written = False
        self._file: IO[bytes] = self.path.open("wb")

    def write(self, columns: Mapping[str, Column]) -> int:
        """Append one chunk; return its row count."""
        df = frame(self.table, columns)
        if df.height == 0 and self._header_written:
            return 0
        df.write_csv(self._file, include_header=not self._header_written)
        self._header_written = True
        self.rows += df.height
        return df.height

    def close(self) -> None:
        """Flush and close (writing the header if no chunk came)."""
        if not self._file.closed:
            if not self._header_written:
                self._file.write((",".join(self.table.column_names) + "\n").encode())
                self._header_written = True
            self._file.close()

    def __enter__(self) -> CsvTableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BackgroundWriter:
    """Write chunks on one background thread while the next chunk is generated.

    polars releases the GIL while it formats CSV, so writing chunk k overlaps with numpy
    drawing chunk k + 1. One thread and a FIFO queue keep every file's chunks in order
    (the bytes do not depend on timing); the queue is short to bound memory. An error in
    the thread is raised again by the next :meth:`submit` or by :meth:`close`.
    """

    def __init__(self, depth: int = 2) -> None:
        self._queue: queue.Queue[tuple[CsvTableWriter, Mapping[str, Column]] | None] = queue.Queue(
            maxsize=depth
        )
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="twin-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                writer, columns = item
                try:
                    writer.write(columns)
                except BaseException as exc:  # re-raised in the generating thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, writer: CsvTableWriter, columns: Mapping[str, Column]) -> None:
        """Queue one chunk for ``writer`` (blocks while the queue is full)."""
        self._raise()
        self._queue.put((writer, columns))

    def close(self, *, check: bool = True) -> None:
        """Wait until everything queued is written; re-raise a writing error."""
        self._queue.put(None)
        self._thread.join()
        if check:
            self._raise()


@contextmanager
def atomic_directory(out_dir: Path) -> Iterator[Path]:
    """Yield a fresh sibling directory that replaces ``out_dir`` only if the block succeeds.

    On any exception the temporary directory is removed and ``out_dir`` is left as it
    was, so readers never see a half-written twin.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "twin") as tmp:
    ...     _ = (tmp / "a.csv").write_text("x\\n")
    >>> sorted(p.name for p in root.iterdir()), (root / "twin" / "a.csv").read_text()
    (['twin'], 'x\\n')
    >>> shutil.rmtree(root)
    """
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a directory")
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = parent / f".{out_dir.name}.tmp-{token}"
    tmp.mkdir()
    try:
        yield tmp
        if out_dir.exists():
            old = parent / f".{out_dir.name}.old-{token}"
            out_dir.rename(old)
            try:
                tmp.rename(out_dir)
            except BaseException:
                old.rename(out_dir)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
