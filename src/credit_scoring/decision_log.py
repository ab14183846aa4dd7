"""The decision log: every answer of the scoring API and every advisor decision, in SQLite.

One table, ``decisions``, one row per answered client: what the model said (``kind='model'``)
or what an advisor decided (``kind='advisor'``), with the model version, a SHA-256 of the
model's inputs, the output and the time (UTC, ISO 8601). An advisor row points at the model
answer it rules on (``model_entry_id``), so overrides are one query away (the view
``advisor_overrides``).

What the log never holds: application fields (amounts, ages, family...), names, free text
other than the advisor's reason. What it does hold, and why:

- ``client_id`` as is (``SK_ID_CURR``, the bank's pseudonymous key), not hashed. A plain hash
  of a key drawn from a few hundred thousand integers is reversed by enumerating them in well
  under a second, so it would protect nothing while it would stop the legitimate uses: finding
  the answer given to a client who contests it (GDPR art. 22, the consumer-credit right to an
  explanation) and linking an advisor's decision to the model's answer. The key identifies
  nobody without the bank's customer base; the log is therefore pseudonymised personal data,
  and the file is protected like the rest of ``data/``.
- ``inputs_sha256``: the hash of the model's input row (:func:`inputs_sha256`), enough to
  prove which inputs an answer was computed from, without keeping them.
- ``reason``: the advisor's justification, kept because an override without its reason is
  not auditable. It is free text: advisors must not write personal data into it (the API
  refuses e-mail addresses and long digit runs, the obvious cases).
- ``advisor_id``: a pseudonymous advisor code, never a name.

Writes are serialised by a lock (one connection per :class:`DecisionLog`, shared by the API's
threads) and SQLite's write-ahead log lets readers and other processes work alongside.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> log = DecisionLog(Path(tempfile.mkdtemp()) / "decisions.sqlite")
>>> [entry_id] = log.record_model([ModelDecision(client_id=100001, inputs_sha256="ab" * 32,
...     model_version="credit-scoring/3", probability_default=0.08, risk_score=48.9,
...     decision="review", threshold=0.0818, source="client")])
>>> advisor = log.record_advisor(AdvisorDecision(client_id=100001, decision="grant",
...     reason="Apport personnel confirmé", advisor_id="adv-042", model_entry_id=entry_id))
>>> advisor.model_decision, advisor.override
('review', False)
>>> [e.kind for e in log.entries(client_id=100001)]
['model', 'advisor']
>>> log.close()
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "AdvisorDecision",
    "DecisionLog",
    "LogEntry",
    "ModelDecision",
    "canonical_json",
    "inputs_sha256",
    "utc_now",
]

SCHEMA_VERSION = 1
Kind = Literal["model", "advisor"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    logged_at           TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('model', 'advisor')),
    source              TEXT,
    client_id           INTEGER,
    inputs_sha256       TEXT,
    model_version       TEXT,
    probability_default REAL,
    risk_score          REAL,
    decision            TEXT NOT NULL CHECK (decision IN ('grant', 'review', 'refuse')),
    threshold           REAL,
    review_low          REAL,
    review_high         REAL,
    model_entry_id      INTEGER REFERENCES decisions (id),
    model_decision      TEXT,
    reason              TEXT,
    advisor_id          TEXT,
    request_id          TEXT,
    caller              TEXT
);
CREATE INDEX IF NOT EXISTS decisions_client ON decisions (client_id, kind, id);
CREATE VIEW IF NOT EXISTS advisor_overrides AS
    SELECT * FROM decisions
    WHERE kind = 'advisor' AND model_decision IN ('grant', 'refuse')
      AND decision <> model_decision;
"""

_COLUMNS = (
    "id",
    "logged_at",
    "kind",
    "source",
    "client_id",
    "inputs_sha256",
    "model_version",
    "probability_default",
    "risk_score",
    "decision",
    "threshold",
    "review_low",
    "review_high",
    "model_entry_id",
    "model_decision",
    "reason",
    "advisor_id",
    "request_id",
    "caller",
)


def utc_now() -> str:
    """The current time, UTC, ISO 8601 with microseconds.

    >>> utc_now().endswith("+00:00")
    True
    """
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """A value as plain JSON: numpy scalars unwrapped, NaN / NA / None as null."""
    kind = type(value)
    if kind is float:  # most of a feature row: checked first
        return value if math.isfinite(value) else None
    if value is None or kind is str:
        return value
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str | bytes):
        try:
            value = item()
        except (TypeError, ValueError):  # a numpy array or an exotic object: text it
            return str(value)
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:  # pandas.NA and NaT fail every comparison; they are missing values
        if value != value:
            return None
    except (TypeError, ValueError):
        return None
    return str(value)


def canonical_json(values: Mapping[str, Any]) -> str:
    """The one text form of an input row that :func:`inputs_sha256` hashes.

    Keys sorted, no spaces, missing values (None, NaN, pandas NA) as ``null``, numbers in
    Python's shortest round-trip form, anything else as its text (categories).

    Examples
    --------
    >>> import numpy as np
    >>> canonical_json({"b": np.float64(0.5), "a": float("nan"), "c": "F", "d": np.int64(3)})
    '{"a":null,"b":0.5,"c":"F","d":3}'
    """
    plain = {str(k): _plain(v) for k, v in values.items()}
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def inputs_sha256(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: the fingerprint of what the model was given.

    Anyone holding the same input row (the feature table, or the features rebuilt from the
    same application) can recompute it and check that a logged answer came from those inputs.

    Examples
    --------
    >>> inputs_sha256({"x": 1.0}) == inputs_sha256({"x": 1.0}) != inputs_sha256({"x": 2.0})
    True
    >>> len(inputs_sha256({}))
    64
    """
    return hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ModelDecision:
    """What the model answered for one client, as the log keeps it.

    Attributes
    ----------
    client_id
        ``SK_ID_CURR``, or None for an anonymous application.
    inputs_sha256
        :func:`inputs_sha256` of the model's input row.
    model_version, probability_default, risk_score, decision, threshold
        The decision contract's answer.
    source
        Which endpoint answered: ``client``, ``client-batch``, ``application`` or
        ``application-batch``.
    review_band
        The score band of the ``review`` decision.
    request_id, caller
        The HTTP request (``X-Request-ID``) and a fingerprint of the API key that asked.
    """

    client_id: int | None
    inputs_sha256: str
    model_version: str
    probability_default: float
    risk_score: float
    decision: str
    threshold: float
    source: str
    review_band: tuple[float, float] = (45.0, 55.0)
    request_id: str | None = None
    caller: str | None = None


@dataclass(frozen=True)
class AdvisorDecision:
    """An advisor's decision on a client, with the model answer it rules on.

    Attributes
    ----------
    client_id
        ``SK_ID_CURR``.
    decision
        ``grant`` or ``refuse``.
    reason
        Why, in the advisor's words (no personal data).
    advisor_id
        A pseudonymous advisor code, or None.
    model_entry_id
        The log id of the model answer this decision rules on.
    request_id, caller
        As in :class:`ModelDecision`.
    """

    client_id: int
    decision: str
    reason: str
    advisor_id: str | None
    model_entry_id: int
    request_id: str | None = None
    caller: str | None = None


@dataclass(frozen=True)
class LogEntry:
    """One row of the log, as read back."""

    id: int
    logged_at: str
    kind: Kind
    source: str | None
    client_id: int | None
    inputs_sha256: str | None
    model_version: str | None
    probability_default: float | None
    risk_score: float | None
    decision: str
    threshold: float | None
    review_low: float | None
    review_high: float | None
    model_entry_id: int | None
    model_decision: str | None
    reason: str | None
    advisor_id: str | None
    request_id: str | None
    caller: str | None

    @property
    def override(self) -> bool:
        """An advisor decision that reverses a firm model decision (grant or refuse)."""
        return (
            self.kind == "advisor"
            and self.model_decision in ("grant", "refuse")
            and self.decision != self.model_decision
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {c: getattr(self, c) for c in _COLUMNS} | {"override": self.override}


class DecisionLog:
    """The SQLite decision log at ``path`` (created with its folder when missing).

    Parameters
    ----------
    path
        The database file, e.g. ``data/decisions.sqlite``.
    timeout
        Seconds a write waits for another process's lock before failing.
    """

    def __init__(self, path: Path | str, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # One connection shared by the server's threads: the lock serialises its use.
        self._con = sqlite3.connect(
            self.path, timeout=timeout, check_same_thread=False, isolation_level=None
        )
        self._con.row_factory = sqlite3.Row
        with self._lock:
            self._con.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit survives a crash of the server, at no fsync per answer.
            self._con.execute("PRAGMA synchronous = NORMAL")
            self._con.execute("PRAGMA foreign_keys = ON")
            self._con.executescript(_SCHEMA)
            self._con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def record_model(self, entries: Sequence[ModelDecision]) -> list[int]:
        """Write model answers in one transaction; return their ids, in order."""
        now = utc_now()
        ids: list[int] = []
        with self._transaction() as con:
            for e in entries:
                cursor = con.execute(
                    "INSERT INTO decisions (logged_at, kind, source, client_id, inputs_sha256, "
                    "model_version, probability_default, risk_score, decision, threshold, "
                    "review_low, review_high, request_id, caller) "
                    "VALUES (?, 'model', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        now,
                        e.source,
                        e.client_id,
                        e.inputs_sha256,
                        e.model_version,
                        float(e.probability_default),
                        float(e.risk_score),
                        e.decision,
                        float(e.threshold),
                        float(e.review_band[0]),
                        float(e.review_band[1]),
                        e.request_id,
                        e.caller,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def record_advisor(self, entry: AdvisorDecision) -> LogEntry:
        """Write an advisor decision, linked to the model answer it rules on.

        Raises
        ------
        LookupError
            When ``model_entry_id`` is not a model answer for this client.
        """
        with self._transaction() as con:
            model = con.execute(
                "SELECT * FROM decisions WHERE id = ? AND kind = 'model' AND client_id = ?",
                (entry.model_entry_id, entry.client_id),
            ).fetchone()
            if model is None:
                raise LookupError(
                    f"log entry {entry.model_entry_id} is not a model answer for client "
                    f"{entry.client_id}"
                )
            cursor = con.execute(
                "INSERT INTO decisions (logged_at, kind, source, client_id, inputs_sha256, "
                "model_version, probability_default, risk_score, decision, threshold, "
                "review_low, review_high, model_entry_id, model_decision, reason, advisor_id, "
                "request_id, caller) "
                "VALUES (?, 'advisor', 'advisor', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    utc_now(),
                    entry.client_id,
                    model["inputs_sha256"],
                    model["model_version"],
                    model["probability_default"],
                    model["risk_score"],
                    entry.decision,
                    model["threshold"],
                    model["review_low"],
                    model["review_high"],
                    entry.model_entry_id,
                    model["decision"],
                    entry.reason,
                    entry.advisor_id,
                    entry.request_id,
                    entry.caller,
                ),
            )
            row = con.execute("SELECT * FROM decisions WHERE id = ?", (cursor.lastrowid,))
            return _entry(row.fetchone())

    def get(self, entry_id: int) -> LogEntry | None:
        """The entry with this id, or None."""
        with self._lock:
            row = self._con.execute("SELECT * FROM decisions WHERE id = ?", (entry_id,))
            found = row.fetchone()
        return _entry(found) if found is not None else None

    def latest_model_answer(self, client_id: int) -> LogEntry | None:
        """The last model answer logged for a client, or None."""
        with self._lock:
            found = self._con.execute(
                "SELECT * FROM decisions WHERE client_id = ? AND kind = 'model' "
                "ORDER BY id DESC LIMIT 1",
                (client_id,),
            ).fetchone()
        return _entry(found) if found is not None else None

    def entries(
        self, *, client_id: int | None = None, kind: Kind | None = None, limit: int | None = None
    ) -> list[LogEntry]:
        """Entries in the order written, optionally for one client and / or one kind."""
        where, args = [], []
        if client_id is not None:
            where.append("client_id = ?")
            args.append(client_id)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM decisions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._con.execute(sql, args).fetchall()
        return [_entry(r) for r in rows]

    def count(self, kind: Kind | None = None) -> int:
        """Number of entries (of one kind)."""
        sql = "SELECT count(*) FROM decisions" + (" WHERE kind = ?" if kind else "")
        with self._lock:
            return int(self._con.execute(sql, (kind,) if kind else ()).fetchone()[0])

    def close(self) -> None:
        """Close the connection (further calls fail)."""
        with self._lock:
            self._con.close()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entry(row: sqlite3.Row) -> LogEntry:
    return LogEntry(**{c: row[c] for c in _COLUMNS})
