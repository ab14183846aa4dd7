"""Ingestion: find the eight Kaggle tables, read them strictly, validate them, write parquet.

The tables come from a directory holding the eight CSV files (the real ones dropped into
``data/raw/``, or the data twin in ``data/raw/twin/``) or from the Kaggle zip. Reading is strict:
pyarrow's multi-threaded CSV reader parses each column straight into the type declared in
:mod:`credit_scoring.data.schema`, so a wrong type fails at parse time, and every failure becomes a
:class:`~credit_scoring.data.validation.DataValidationError` naming the file, the column, what was
expected and where. Domain checks then run through the pandera schemas of
:mod:`credit_scoring.data.validation`. Orphan foreign keys are counted, never fatal: the real files
have many.

A side table (bureau, bureau_balance, previous_application, POS_CASH_balance,
installments_payments, credit_card_balance) whose file has the right header and no data rows is
a valid empty table: no client has that history. It is written as a zero-row parquet with the
declared types and the report flags it (``empty``, ``warnings``). The application tables must hold
rows: the model learns from application_train and scores application_test.

In messages, *row N* is the N-th data row (the header is not counted) and *line N* the N-th line
of the file (the header is line 1).

Examples
--------
>>> find_kaggle_source(Path("/nonexistent")) is None
True
>>> KaggleSource("csv_dir", Path("data/raw"), {}, "").label("bureau")
'bureau.csv'
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import re
import shutil
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from credit_scoring import paths
from credit_scoring.data.schema import TABLES, Table
from credit_scoring.data.validation import EXAMPLES, DataValidationError, validate_frame

__all__ = [
    "INGEST_REPORT",
    "PREFERRED_ZIP",
    "ROWS_REQUIRED",
    "ForeignKeyReport",
    "KaggleSource",
    "TableReport",
    "ValidationReport",
    "find_kaggle_source",
    "ingest",
    "read_table",
    "validate_source",
]

log = logging.getLogger(__name__)

SourceKind = Literal["csv_dir", "zip"]

#: The name Kaggle gives the competition download.
PREFERRED_ZIP = "home-credit-default-risk.zip"
#: The report written beside the parquet files.
INGEST_REPORT = "ingest.json"
#: Tables that may not be empty: without applicants there is nothing to learn from or to score.
#: Every other table may have a header and no rows (no client has that history).
ROWS_REQUIRED: tuple[str, ...] = ("application_train", "application_test")

_ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "object": pa.string(),
}
# pandas' default missing-value markers, so that a column is missing exactly where
# pandas.read_csv, the reference for schema.py's dtypes, would find it missing.
_NA_VALUES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]
_HEADER_LIMIT = 1 << 16
# Blocks larger than pyarrow's 1 MiB default: fewer chunks to stitch when converting to pandas.
_BLOCK_SIZE = 8 << 20
# pyarrow's message for a file that is a header with no line break after it.
_NO_LINE_BREAK = "Empty CSV file or block"
_INT_TEXT = re.compile(rb"^\s*[+-]?\d+\s*$")
_FLOAT_TEXT = re.compile(rb"^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|(?i:inf|infinity|nan))\s*$")
# How many values pandera checks at a time (x 8 bytes: the transient pandas copy).
_BATCH_CELLS = 20_000_000
# Parent tables whose keys are the union of several tables: a client id of bureau or
# previous_application may belong to a train or a test applicant.
_PARENT_UNION: dict[str, tuple[str, ...]] = {
    "application_train": ("application_train", "application_test"),
}


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class KaggleSource:
    """Where the eight tables are: a directory of CSV files or a zip holding them.

    Parameters
    ----------
    kind : {'csv_dir', 'zip'}
        A directory holding ``<table>.csv`` files, or a zip archive holding them.
    path : Path
        The directory or the zip file.
    members : dict
        Table name -> file name in the directory, or member name in the zip.
    description : str
        One sentence for humans: what was found and, when relevant, what was ignored.
    """

    kind: SourceKind
    path: Path
    members: dict[str, str] = field(compare=False)
    description: str = field(default="", compare=False)

    def label(self, table: str) -> str:
        """The name of ``table``'s file as a user would look for it.

        Examples
        --------
        >>> KaggleSource("zip", Path("raw/k.zip"), {"bureau": "bureau.csv"}).label("bureau")
        'k.zip:bureau.csv'
        """
        member = self.members.get(table, TABLES[table].file_name)
        return f"{self.path.name}:{member}" if self.kind == "zip" else member

    def file_path(self, table: str) -> Path:
        """The CSV file of ``table`` (``csv_dir`` sources only)."""
        if self.kind != "csv_dir":
            raise ValueError(f"a {self.kind} source has no per-table file path")
        return self.path / self.members.get(table, TABLES[table].file_name)

    @contextmanager
    def open(self, table: str) -> Iterator[IO[bytes]]:
        """The bytes of ``table``'s CSV file, as a binary file object.

        Read and decompression failures surface as :class:`DataValidationError`.
        """
        label = self.label(table)
        try:
            if self.kind == "csv_dir":
                with open(self.file_path(table), "rb") as fh:
                    yield fh
            else:
                with zipfile.ZipFile(self.path) as archive, archive.open(self.members[table]) as fh:
                    yield fh
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DataValidationError(label, None, f"the zip archive is corrupt: {exc}") from exc
        except OSError as exc:
            raise DataValidationError(
                label, None, f"cannot read the file: {_os_reason(exc)}"
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": paths.relative(self.path),
            "description": self.description,
        }


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory, not a file"
    return exc.strerror or str(exc)


def _zip_members(archive: Path) -> dict[str, str]:
    """Table name -> member name for the table CSVs in ``archive`` (shallowest one wins)."""
    wanted = {t.file_name: name for name, t in TABLES.items()}
    found: dict[str, str] = {}
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            path = PurePosixPath(member)
            if member.endswith("/") or "__MACOSX" in path.parts or path.name not in wanted:
                continue
            table = wanted[path.name]
            if table not in found or len(path.parts) < len(PurePosixPath(found[table]).parts):
                found[table] = member
    return found


def _missing(present: Container[str]) -> list[str]:
    return [t.file_name for name, t in TABLES.items() if name not in present]


def find_kaggle_source(raw_dir: Path) -> KaggleSource | None:
    """Find the eight Kaggle tables in ``raw_dir``: CSV files at its top level, or a zip there.

    Parameters
    ----------
    raw_dir : Path
        Typically ``data/raw`` (real data) or ``data/raw/twin`` (the data twin). Other files
        (``HomeCredit_columns_description.csv``, ``sample_submission.csv``, ``twin.json``, ...)
        and subdirectories are ignored.

    Returns
    -------
    KaggleSource or None
        The eight CSV files when all are there (they win over a zip); else a zip holding all eight
        (``home-credit-default-risk.zip`` first); ``None`` when there is neither CSV nor zip, in
        which case the caller generates the twin.

    Raises
    ------
    DataValidationError
        Some but not all of the eight CSV files are there and no complete zip is, or a zip is
        corrupt or lacks tables: the message names the missing files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     (Path(d) / "bureau.csv").write_text("SK_ID_CURR\\n")
    ...     find_kaggle_source(Path(d))
    Traceback (most recent call last):
    ...
    credit_scoring.data.validation.DataValidationError: ...: 7 of the 8 Kaggle CSV files are \
missing: application_train.csv, ...
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return None
    csvs = {name: t.file_name for name, t in TABLES.items() if (raw_dir / t.file_name).is_file()}
    zips = sorted(
        (p for p in raw_dir.iterdir() if p.suffix.lower() == ".zip" and p.is_file()),
        key=lambda p: (p.name != PREFERRED_ZIP, p.name),
    )
    if len(csvs) == len(TABLES):
        ignored = f"; ignored {', '.join(p.name for p in zips)} (the CSV files win)" if zips else ""
        return KaggleSource(
            "csv_dir",
            raw_dir,
            csvs,
            f"the eight Kaggle CSV files in {paths.relative(raw_dir)}{ignored}",
        )
    problems: list[str] = []
    for archive in zips:
        try:
            members = _zip_members(archive)
        except (zipfile.BadZipFile, OSError) as exc:
            problems.append(f"{archive.name} is not a readable zip archive ({exc})")
            continue
        if len(members) == len(TABLES):
            notes = [p.name for p in zips if p != archive]
            if csvs:
                notes.append(f"the incomplete CSV set ({len(csvs)} of {len(TABLES)} files)")
            ignored = f"; ignored {', '.join(notes)}" if notes else ""
            return KaggleSource(
                "zip", archive, members, f"the Kaggle zip {paths.relative(archive)}{ignored}"
            )
        missing = _missing(members)
        problems.append(
            f"{archive.name} lacks {len(missing)} of the {len(TABLES)} tables: {', '.join(missing)}"
        )
    if csvs:
        missing = _missing(csvs)
        problems.insert(
            0,
            f"{len(missing)} of the {len(TABLES)} Kaggle CSV files are missing: "
            + ", ".join(missing),
        )
    if not problems:
        return None
    raise DataValidationError(str(raw_dir), None, "; ".join(problems))


# --------------------------------------------------------------------------- strict reading


def _not_utf8(offset: int, line: int, byte: bytes) -> str:
    return (
        f"the file is not UTF-8: byte 0x{byte.hex().upper() or '??'} at byte offset {offset:,} "
        f"(line {line:,}) is not valid UTF-8 (a latin-1 / cp1252 export?); save it as UTF-8"
    )


def _find_invalid_utf8(fh: IO[bytes]) -> tuple[int, int, bytes] | None:
    """Byte offset, line and byte of the first invalid UTF-8 sequence in ``fh``, if any."""
    consumed = 0
    lines = 1
    carry = b""
    while True:
        chunk = fh.read(8 << 20)
        buf = carry + chunk
        if not buf:
            return None
        try:
            buf.decode("utf-8")
            good = len(buf)
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the chunk boundary is fine: finish it next round.
            if chunk and exc.reason == "unexpected end of data" and exc.start >= len(buf) - 3:
                good = exc.start
            else:
                return (
                    consumed + exc.start,
                    lines + buf.count(b"\n", 0, exc.start),
                    buf[exc.start : exc.start + 1],
                )
        lines += buf.count(b"\n", 0, good)
        consumed += good
        carry = buf[good:]
        if not chunk:
            return None


def _read_header(source: KaggleSource, table: str) -> list[str]:
    label = source.label(table)
    with source.open(table) as fh:
        head = fh.read(_HEADER_LIMIT)
    if not head:
        raise DataValidationError(label, None, "the file is empty (0 bytes)")
    if b"\x00" in head:
        raise DataValidationError(
            label, None, "binary data (NUL bytes) where a CSV text file was expected"
        )
    end = head.find(b"\n")
    if end < 0 and len(head) == _HEADER_LIMIT:
        raise DataValidationError(
            label, None, f"no line break in the first {_HEADER_LIMIT:,} bytes: not a CSV file"
        )
    line = head if end < 0 else head[:end]
    bom = len(codecs.BOM_UTF8) if line.startswith(codecs.BOM_UTF8) else 0
    line = line[bom:].removesuffix(b"\r")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            label, None, _not_utf8(bom + exc.start, 1, line[exc.start : exc.start + 1])
        ) from None
    return next(csv.reader([text]), [])


def _check_header(spec: Table, found: list[str], label: str) -> None:
    expected = spec.column_names
    if found == expected:
        return
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    doubled = sorted({c for c in found if found.count(c) > 1})
    if len(missing) == len(expected):
        first = ",".join(found)
        first = first if len(first) <= 80 else first[:77] + "..."
        raise DataValidationError(
            label,
            None,
            f"not the {spec.name} table: none of its {len(expected)} columns in the header "
            f"(first line: {first!r})",
        )
    problems: list[tuple[str | None, str]] = []
    if missing:
        problems.append(
            (
                missing[0] if len(missing) == 1 else None,
                f"missing {_count(missing, 'column')}: {', '.join(missing)}",
            )
        )
    if extra:
        problems.append(
            (
                extra[0] if len(extra) == 1 else None,
                f"unexpected {_count(extra, 'column')}: {', '.join(extra)}",
            )
        )
    if doubled:
        problems.append((None, f"duplicated column names: {', '.join(doubled)}"))
    if not problems:
        position = next(i for i, (e, f) in enumerate(zip(expected, found, strict=True)) if e != f)
        problems.append(
            (
                None,
                f"columns in the wrong order: expected {expected[position]} at position "
                f"{position + 1}, found {found[position]} (expected order: "
                f"{', '.join(expected[max(0, position - 1) : position + 3])}, ...)",
            )
        )
    raise DataValidationError.from_problems(label, problems)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _count(items: list[str], word: str) -> str:
    return word if len(items) == 1 else f"{len(items)} {word}s"


def _read_csv(
    source: KaggleSource,
    table: str,
    column_types: dict[str, pa.DataType],
    *,
    use_threads: bool = True,
    parse_options: pacsv.ParseOptions | None = None,
    include: list[str] | None = None,
) -> pa.Table:
    read_options = pacsv.ReadOptions(use_threads=use_threads, block_size=_BLOCK_SIZE)
    convert_options = pacsv.ConvertOptions(
        column_types=column_types,
        null_values=_NA_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        include_columns=include or TABLES[table].column_names,
    )
    with _csv_input(source, table) as csv_input:
        return pacsv.read_csv(
            csv_input,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )


@contextmanager
def _csv_input(source: KaggleSource, table: str) -> Iterator[str | IO[bytes]]:
    if source.kind == "csv_dir":
        # pyarrow opens a plain file itself, with no Python in its read loop; a zip member has to
        # be handed over as a Python file object.
        yield str(source.file_path(table))
    else:
        with source.open(table) as fh:
            yield fh


def _read_arrow(source: KaggleSource, table: str) -> pa.Table:
    """Parse ``table`` with the declared types; raise a :class:`DataValidationError` if it fails."""
    spec = TABLES[table]
    label = source.label(table)
    _check_header(spec, _read_header(source, table), label)
    types = {c.name: _ARROW_TYPES[c.dtype] for c in spec.columns}
    try:
        data = _read_csv(source, table, types)
    except pa.ArrowInvalid as exc:
        if _NO_LINE_BREAK not in str(exc):
            raise _explain_arrow_error(source, table, str(exc)) from None
        # The header, checked above, with no line break after it: pyarrow cannot tell that from
        # an empty file, but it is a table with no rows.
        data = pa.schema(list(types.items())).empty_table()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataValidationError(label, None, f"the zip archive is corrupt: {exc}") from exc
    except OSError as exc:
        raise DataValidationError(label, None, f"cannot read the file: {_os_reason(exc)}") from exc
    if data.num_rows == 0 and table in ROWS_REQUIRED:
        raise DataValidationError(
            label,
            None,
            f"the file has a header but no data rows: {table} needs at least one applicant "
            "(one row per application)",
        )
    _check_integer_nulls(spec, data, label)
    return data


def _check_integer_nulls(spec: Table, data: pa.Table, label: str) -> None:
    problems: list[tuple[str | None, str]] = []
    for c in spec.columns:
        column = data.column(c.name)
        if c.dtype != "int64" or column.null_count == 0:
            continue
        rows = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[:EXAMPLES] + 1
        problems.append(
            (
                c.name,
                f"expected int64 with no missing values (the real files have none), found "
                f"{_plural(column.null_count, 'missing value')} (e.g. "
                + ", ".join(f"row {r:,}" for r in rows)
                + ")",
            )
        )
    if problems:
        raise DataValidationError.from_problems(label, problems)


_COLUMN_ERROR = re.compile(
    r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to (\w+): (.*)"
)
_FIELDS_ERROR = re.compile(r"Expected (\d+) columns, got (\d+)")


def _explain_arrow_error(source: KaggleSource, table: str, message: str) -> DataValidationError:
    """Turn pyarrow's message (column index, no row) into one naming columns, rows and lines."""
    spec = TABLES[table]
    label = source.label(table)
    match = _COLUMN_ERROR.search(message)
    if match and "invalid UTF8" in match.group(4):
        column = spec.columns[int(match.group(1))].name
        with source.open(table) as fh:
            where = _find_invalid_utf8(fh)
        problem = _not_utf8(*where) if where else "the file is not valid UTF-8"
        return DataValidationError(label, column, problem)
    if match:
        try:
            problems = _type_problems(source, table)
        except pa.ArrowInvalid:  # the file has other troubles too: report pyarrow's finding
            problems = []
        if problems:
            return DataValidationError.from_problems(label, problems)
        column = spec.columns[int(match.group(1))]
        return DataValidationError(
            label, column.name, f"expected {column.dtype}, found {match.group(4)}"
        )
    if _FIELDS_ERROR.search(message):
        return _field_count_error(source, table, message)
    return DataValidationError(label, None, f"cannot be parsed as CSV: {message}")


def _classify(value: bytes) -> str:
    if _INT_TEXT.match(value):
        return "numbers out of the int64 range"
    if _FLOAT_TEXT.match(value):
        return "non-integer numbers"
    return "text values"


def _type_problems(source: KaggleSource, table: str) -> list[tuple[str | None, str]]:
    """Every numeric column holding values of the wrong type, with examples and row numbers.

    Streams the file once with the numeric columns read as raw bytes, so memory stays at a block.
    """
    spec = TABLES[table]
    numeric = [c for c in spec.columns if c.dtype != "object"]
    patterns = {
        c.name: (_INT_TEXT if c.dtype == "int64" else _FLOAT_TEXT).pattern.decode() for c in numeric
    }
    na = pa.array([v.encode() for v in _NA_VALUES], pa.binary())
    bad_count = {c.name: 0 for c in numeric}
    examples: dict[str, list[tuple[bytes, int]]] = {c.name: [] for c in numeric}
    options = (
        pacsv.ReadOptions(block_size=_BLOCK_SIZE),
        pacsv.ParseOptions(),
        pacsv.ConvertOptions(
            column_types={c.name: pa.binary() for c in numeric},
            include_columns=[c.name for c in numeric],
            strings_can_be_null=False,
            null_values=[],
        ),
    )
    offset = 0
    with _csv_input(source, table) as csv_input:
        reader = pacsv.open_csv(
            csv_input,
            read_options=options[0],
            parse_options=options[1],
            convert_options=options[2],
        )
        for batch in reader:
            for c in numeric:
                values = batch.column(c.name)
                good = pc.or_(
                    pc.is_in(values, value_set=na),
                    pc.match_substring_regex(values, patterns[c.name]),
                )
                bad = np.flatnonzero(~good.to_numpy(zero_copy_only=False))
                bad_count[c.name] += len(bad)
                room = EXAMPLES - len(examples[c.name])
                examples[c.name].extend(
                    (values[int(i)].as_py(), offset + int(i) + 1) for i in bad[:room]
                )
            offset += batch.num_rows
    problems: list[tuple[str | None, str]] = []
    for c in numeric:
        if not bad_count[c.name]:
            continue
        shown = ", ".join(
            f"{v.decode('utf-8', 'replace')!r} (row {row:,})" for v, row in examples[c.name]
        )
        kind = _classify(examples[c.name][0][0])
        total = f" ({bad_count[c.name]:,} such values)" if bad_count[c.name] > 1 else ""
        problems.append((c.name, f"expected {c.dtype}, found {kind} such as {shown}{total}"))
    return problems


def _field_count_error(source: KaggleSource, table: str, message: str) -> DataValidationError:
    """Find the lines with the wrong number of fields (a second, single-threaded pass)."""
    label = source.label(table)
    bad: list[pacsv.InvalidRow] = []

    def keep(row: pacsv.InvalidRow) -> str:
        bad.append(row)
        return "skip"

    first = TABLES[table].column_names[:1]
    try:
        # Only row numbers are wanted: one column, as raw bytes, cannot fail to convert.
        kept = _read_csv(
            source,
            table,
            {first[0]: pa.binary()},
            use_threads=False,  # pyarrow knows line numbers only when single-threaded
            parse_options=pacsv.ParseOptions(invalid_row_handler=keep),
            include=first,
        )
    except pa.ArrowInvalid:
        kept = None
    if not bad:
        return DataValidationError(label, None, f"cannot be parsed as CSV: {message}")
    row = bad[0]
    text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
    where = f"line {row.number:,}" if row.number is not None else "a line"
    problem = f"{where} has {row.actual_columns} fields, expected {row.expected_columns}: {text!r}"
    last_line = kept is not None and row.number == kept.num_rows + len(bad) + 1
    if last_line and row.actual_columns < row.expected_columns:
        problem = f"the last row is cut short (truncated file?): {problem}"
    elif len(bad) > 1:
        problem += f" ({len(bad):,} malformed lines in all)"
    return DataValidationError(label, None, problem)


def _to_pandas(data: pa.Table, *, release: bool = False) -> pd.DataFrame:
    # One block per column avoids consolidating columns into 2-D blocks (another copy) and lets
    # self_destruct free each arrow column once converted; but pandas warns that a frame of more
    # than 100 blocks is "highly fragmented" on every column insert, so the wide application
    # tables (a few hundred MB) are consolidated.
    split = data.num_columns <= 100
    return data.to_pandas(split_blocks=split, self_destruct=release and split)


def read_table(source: KaggleSource, table: str) -> pd.DataFrame:
    """Read ``table`` strictly and validate it; return it with the declared pandas dtypes.

    Parameters
    ----------
    source : KaggleSource
        From :func:`find_kaggle_source`.
    table : str
        A key of :data:`~credit_scoring.data.schema.TABLES`.

    Returns
    -------
    pandas.DataFrame
        Columns in declared order, dtypes ``int64``, ``float64`` and ``object`` as declared;
        no rows for a side table whose file is a header alone.

    Raises
    ------
    DataValidationError
        Unreadable, empty (0 bytes) or malformed file, an application table with no rows, wrong
        header, wrong types, missing integers, duplicate primary keys, values breaking a domain
        rule.
    """
    data = _read_arrow(source, table)
    df = _to_pandas(data, release=True)
    del data
    validate_frame(df, table, source.label(table))
    return df


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class TableReport:
    """What one table holds: size and missing values.

    Examples
    --------
    >>> t = TableReport("credit_card_balance", "credit_card_balance.csv", 0, 23, 0.0, {})
    >>> t.empty, t.to_dict()["empty"]
    (True, True)
    >>> t.warning
    'credit_card_balance.csv: header but no data rows: read as an empty credit_card_balance \
table (no client has this history)'
    """

    table: str
    file: str
    rows: int
    columns: int
    missing_share: float
    missing_by_column: dict[str, float] = field(compare=False)

    @property
    def empty(self) -> bool:
        """No rows: a side table whose file is a header alone (no client has that history)."""
        return self.rows == 0

    @property
    def warning(self) -> str | None:
        """What a user should know about this table, naming its file; ``None`` if nothing."""
        if not self.empty:
            return None
        return (
            f"{self.file}: header but no data rows: read as an empty {self.table} table "
            "(no client has this history)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "empty": self.empty,
            "columns": self.columns,
            "missing_share": self.missing_share,
            "missing_by_column": self.missing_by_column,
        }


@dataclass(frozen=True)
class ForeignKeyReport:
    """Rows of ``table`` whose ``column`` is in none of the ``parents``' ``parent_column``."""

    table: str
    column: str
    parents: tuple[str, ...]
    parent_column: str
    rows: int
    orphan_rows: int
    orphan_keys: int

    @property
    def orphan_share(self) -> float:
        return self.orphan_rows / self.rows if self.rows else 0.0

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column} -> {' | '.join(self.parents)}.{self.parent_column}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "parents": list(self.parents),
            "parent_column": self.parent_column,
            "orphan_rows": self.orphan_rows,
            "orphan_share": round(self.orphan_share, 6),
            "orphan_keys": self.orphan_keys,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating the eight tables: sizes, missing values, orphan foreign keys.

    Examples
    --------
    >>> t = TableReport("bureau", "bureau.csv", 4, 17, 0.25, {})
    >>> fk = ForeignKeyReport("bureau", "SK_ID_CURR", ("application_train",), "SK_ID_CURR", 4, 1, 1)
    >>> report = ValidationReport({"kind": "csv_dir", "path": "x", "description": "d"},
    ...                           {"bureau": t}, (fk,))
    >>> report.to_dict()["foreign_keys"][0]["orphan_share"]
    0.25
    >>> print(report.to_text())  # doctest: +NORMALIZE_WHITESPACE
    Source: d
    table  file        rows  columns  missing
    bureau bureau.csv     4       17    25.0%
    Foreign keys (orphans are reported, not fatal):
      bureau.SK_ID_CURR -> application_train.SK_ID_CURR: 1 orphan rows (25.00%), 1 distinct keys
    """

    source: dict[str, Any]
    tables: dict[str, TableReport]
    foreign_keys: tuple[ForeignKeyReport, ...]

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def empty_tables(self) -> list[str]:
        """The tables read with no rows, in declared order."""
        return [name for name, t in self.tables.items() if t.empty]

    @property
    def warnings(self) -> list[str]:
        """One message per table worth a warning (an empty side table), naming its file."""
        return [t.warning for t in self.tables.values() if t.warning is not None]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the content of ``ingest.json``)."""
        return {
            "source": self.source,
            "total_rows": self.total_rows,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "empty_tables": self.empty_tables,
            "warnings": self.warnings,
            "foreign_keys": [fk.to_dict() for fk in self.foreign_keys],
        }

    def table_rows(self) -> list[dict[str, Any]]:
        """One dict per table (``table, file, rows, columns, missing``): ready for a rich Table."""
        return [
            {
                "table": t.table,
                "file": t.file,
                "rows": f"{t.rows:,}",
                "columns": str(t.columns),
                # No cells, so no share of them missing: "0.0%" would read as a full table.
                "missing": "-" if t.empty else f"{t.missing_share:.1%}",
            }
            for t in self.tables.values()
        ]

    def to_text(self) -> str:
        """A plain-text summary for terminals and logs."""
        rows = self.table_rows()
        heads = list(rows[0]) if rows else ["table", "file", "rows", "columns", "missing"]
        widths = {h: max([len(h), *(len(r[h]) for r in rows)]) for h in heads}
        left = {"table", "file"}

        def fmt(cells: dict[str, str]) -> str:
            return "  ".join(
                cells[h].ljust(widths[h]) if h in left else cells[h].rjust(widths[h]) for h in heads
            ).rstrip()

        lines = [f"Source: {self.source.get('description', '')}", fmt({h: h for h in heads})]
        lines += [fmt(r) for r in rows]
        if self.foreign_keys:
            lines.append("Foreign keys (orphans are reported, not fatal):")
            lines += [
                f"  {fk.name}: {fk.orphan_rows:,} orphan rows ({fk.orphan_share:.2%}), "
                f"{fk.orphan_keys:,} distinct keys"
                for fk in self.foreign_keys
            ]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  {w}" for w in self.warnings]
        return "\n".join(lines)


def _table_report(table: str, label: str, data: pa.Table) -> TableReport:
    nulls = {name: data.column(name).null_count for name in data.column_names}
    rows = data.num_rows
    cells = rows * data.num_columns
    return TableReport(
        table=table,
        file=label,
        rows=rows,
        columns=data.num_columns,
        missing_share=round(sum(nulls.values()) / cells, 6) if cells else 0.0,
        missing_by_column={k: round(v / rows, 6) for k, v in nulls.items() if v},
    )


# --------------------------------------------------------------------------- the whole source


def _parents(table: str) -> list[tuple[str, tuple[str, ...], str]]:
    return [
        (fk.column, _PARENT_UNION.get(fk.parent, (fk.parent,)), fk.parent_column)
        for fk in TABLES[table].foreign_keys
    ]


def _reading_order() -> list[str]:
    """Tables with every parent before its children, otherwise in declared order."""
    order: list[str] = []
    pending = list(TABLES)
    while pending:
        ready = next(t for t in pending if all(p in order for _, ps, _ in _parents(t) for p in ps))
        order.append(ready)
        pending.remove(ready)
    return order


def _validate_arrow(source: KaggleSource, table: str, data: pa.Table) -> None:
    """Run the pandera checks on ``data``, a batch of columns at a time.

    Converting a 27 M-row table to pandas in one go would hold a second copy of it; batches of
    about ``_BATCH_CELLS`` values keep the extra memory to a slice.
    """
    label = source.label(table)
    names = data.column_names
    step = max(1, _BATCH_CELLS // max(1, data.num_rows))
    for start in range(0, len(names), step):
        batch = names[start : start + step]
        df = _to_pandas(data.select(batch))
        validate_frame(df, table, label, columns=None if step >= len(names) else batch)
        # pandera caches an accessor on the frame that points back at it: break that cycle so
        # the batch is freed now, not whenever the cyclic garbage collector next runs.
        vars(df).pop("pandera", None)
        del df


def _run(
    source: KaggleSource,
    sink: Callable[[str, pa.Table], None] | None,
    on_table: Callable[[TableReport], None] | None,
) -> ValidationReport:
    needed = {(p, pcol) for t in TABLES for _, ps, pcol in _parents(t) for p in ps}
    keys: dict[tuple[str, str], pa.Array] = {}
    tables: dict[str, TableReport] = {}
    fks: list[ForeignKeyReport] = []
    for table in _reading_order():
        data = _read_arrow(source, table)
        _validate_arrow(source, table, data)
        for column, parents, parent_column in _parents(table):
            values = data.column(column)
            parent_keys = pa.concat_arrays([keys[(p, parent_column)] for p in parents])
            known = pc.is_in(values, value_set=parent_keys)
            orphans = pc.filter(values, pc.invert(known))
            fks.append(
                ForeignKeyReport(
                    table,
                    column,
                    parents,
                    parent_column,
                    data.num_rows,
                    len(orphans),
                    pc.count_distinct(orphans).as_py(),
                )
            )
        for parent, parent_column in needed:
            if parent == table:
                keys[(parent, parent_column)] = pc.unique(data.column(parent_column))
        report = _table_report(table, source.label(table), data)
        if report.warning is not None:
            log.warning(report.warning)
        if sink is not None:
            sink(table, data)
        del data
        tables[table] = report
        if on_table is not None:
            on_table(report)
    ordered = {name: tables[name] for name in TABLES}
    return ValidationReport(source.to_dict(), ordered, tuple(fks))


def validate_source(
    source: KaggleSource, *, on_table: Callable[[TableReport], None] | None = None
) -> ValidationReport:
    """Read and validate the eight tables and count orphan foreign keys; write nothing.

    Parameters
    ----------
    source : KaggleSource
        From :func:`find_kaggle_source`.
    on_table : callable, optional
        Called with each table's report once that table is validated (progress, timing).

    Raises
    ------
    DataValidationError
        At the first table that fails, with every problem found in it.
    """
    return _run(source, None, on_table)


def _write_parquet(data: pa.Table, path: Path) -> None:
    pq.write_table(data, path, compression="zstd")


def ingest(
    source: KaggleSource,
    out_dir: Path,
    *,
    on_table: Callable[[TableReport], None] | None = None,
) -> ValidationReport:
    """Validate the eight tables and write ``out_dir/<table>.parquet`` and ``out_dir/ingest.json``.

    All or nothing: files go to a temporary sibling of ``out_dir`` which replaces ``out_dir``
    (whatever it held) only once every file is written. On failure the temporary directory is
    removed and a previous ``out_dir`` is left untouched.

    A side table whose file has a header and no rows is written as a zero-row parquet with the
    declared types (the same schema as a filled one); the report lists it in ``empty_tables``
    and ``warnings``, and a warning is logged.

    Parameters
    ----------
    source : KaggleSource
        From :func:`find_kaggle_source`.
    out_dir : Path
        Typically ``data/interim``.
    on_table : callable, optional
        Called with each table's report once that table is validated and written.

    Returns
    -------
    ValidationReport
        Also written as ``ingest.json``.

    Raises
    ------
    DataValidationError
        At the first table that fails; nothing is written then.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it owner-only; it becomes the real directory
        report = _run(source, lambda t, d: _write_parquet(d, staging / f"{t}.parquet"), on_table)
        (staging / INGEST_REPORT).write_text(
            json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``; an existing ``target`` is removed only once ``new`` is there."""
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
