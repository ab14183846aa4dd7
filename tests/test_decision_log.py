"""The SQLite decision log: what a row holds, links and overrides, hashing, concurrency."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_scoring.decision_log import (
    AdvisorDecision,
    DecisionLog,
    ModelDecision,
    canonical_json,
    inputs_sha256,
)


def answer(client_id: int | None = 100001, decision: str = "review", **kw: object) -> ModelDecision:
    values: dict[str, object] = {
        "client_id": client_id,
        "inputs_sha256": "0" * 64,
        "model_version": "credit-scoring/3",
        "probability_default": 0.09,
        "risk_score": 50.5,
        "decision": decision,
        "threshold": 0.089,
        "source": "client",
        "review_band": (45.0, 55.0),
        "request_id": "req-1",
        "caller": "62af8704764f",
    }
    values.update(kw)
    return ModelDecision(**values)  # type: ignore[arg-type]


@pytest.fixture
def log(tmp_path: Path) -> DecisionLog:
    with DecisionLog(tmp_path / "sub" / "decisions.sqlite") as opened:
        yield opened


def test_the_log_is_created_in_wal_mode(log: DecisionLog) -> None:
    assert log.path.is_file()
    with sqlite3.connect(log.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_model_answer_is_read_back_whole(log: DecisionLog) -> None:
    [entry_id] = log.record_model([answer()])
    entry = log.get(entry_id)
    assert entry is not None
    assert (entry.kind, entry.client_id, entry.decision, entry.model_version) == (
        "model",
        100001,
        "review",
        "credit-scoring/3",
    )
    assert (entry.review_low, entry.review_high) == (45.0, 55.0)
    assert entry.request_id == "req-1" and entry.caller == "62af8704764f"
    logged = datetime.fromisoformat(entry.logged_at)
    assert logged.utcoffset() is not None and logged.utcoffset().total_seconds() == 0
    assert log.get(entry_id + 1) is None


def test_a_batch_is_one_transaction_with_ids_in_order(log: DecisionLog) -> None:
    ids = log.record_model([answer(client_id=i) for i in (3, 1, 2)])
    assert ids == sorted(ids)
    assert [log.get(i).client_id for i in ids] == [3, 1, 2]  # type: ignore[union-attr]
    with pytest.raises(sqlite3.IntegrityError):  # one bad row: none written
        log.record_model([answer(client_id=7), answer(client_id=8, decision="maybe")])
    assert log.entries(client_id=7) == []


def test_advisor_decisions_link_the_model_answer_and_flag_overrides(log: DecisionLog) -> None:
    [review] = log.record_model([answer(decision="review")])
    [refuse] = log.record_model([answer(client_id=200002, decision="refuse")])
    on_review = log.record_advisor(
        AdvisorDecision(100001, "grant", "Apport confirmé", "adv-1", review)
    )
    overridden = log.record_advisor(AdvisorDecision(200002, "grant", "Garant", None, refuse))
    kept = log.record_advisor(AdvisorDecision(200002, "refuse", "Confirmé", None, refuse))
    assert on_review.model_decision == "review" and not on_review.override
    assert overridden.override and not kept.override
    assert overridden.probability_default == 0.09 and overridden.model_version == "credit-scoring/3"
    with sqlite3.connect(log.path) as con:
        rows = con.execute("SELECT id FROM advisor_overrides").fetchall()
    assert rows == [(overridden.id,)]
    assert overridden.to_dict()["override"] is True


def test_an_advisor_decision_must_point_at_that_clients_model_answer(log: DecisionLog) -> None:
    [entry_id] = log.record_model([answer(client_id=1)])
    with pytest.raises(LookupError, match="not a model answer for client 2"):
        log.record_advisor(AdvisorDecision(2, "grant", "x", None, entry_id))
    advisor = log.record_advisor(AdvisorDecision(1, "grant", "x", None, entry_id))
    with pytest.raises(LookupError):  # an advisor row is not a model answer
        log.record_advisor(AdvisorDecision(1, "grant", "x", None, advisor.id))
    with pytest.raises(sqlite3.IntegrityError):
        log.record_advisor(AdvisorDecision(1, "maybe", "x", None, entry_id))


def test_latest_answer_and_queries(log: DecisionLog) -> None:
    assert log.latest_model_answer(5) is None
    first, second = log.record_model([answer(client_id=5), answer(client_id=5, decision="grant")])
    log.record_advisor(AdvisorDecision(5, "refuse", "x", None, first))
    latest = log.latest_model_answer(5)
    assert latest is not None and latest.id == second
    assert [e.kind for e in log.entries(client_id=5)] == ["model", "model", "advisor"]
    assert log.count() == 3 and log.count("advisor") == 1
    assert len(log.entries(kind="model", limit=1)) == 1


def test_anonymous_answers_have_no_client(log: DecisionLog) -> None:
    [entry_id] = log.record_model([answer(client_id=None, source="application")])
    entry = log.get(entry_id)
    assert entry is not None and entry.client_id is None


def test_canonical_json_is_stable_across_types_and_missing_values() -> None:
    row = pd.Series(
        {"b": np.float64(0.1), "a": np.nan, "c": "F", "d": np.int64(2), "e": pd.NA, "f": None}
    )
    text = canonical_json(row.to_dict())
    assert text == '{"a":null,"b":0.1,"c":"F","d":2,"e":null,"f":null}'
    assert inputs_sha256({"x": 0.1, "y": None}) == inputs_sha256({"y": float("nan"), "x": 0.1})
    assert inputs_sha256({"x": 0.1}) != inputs_sha256({"x": 0.1 + 1e-15})
    assert inputs_sha256({"x": float("inf")}) == inputs_sha256({"x": None})


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Threads sharing one log (the API's thread pool) and a second connection to the same
    file (a second worker process) write at the same time."""
    path = tmp_path / "decisions.sqlite"
    shared, other = DecisionLog(path), DecisionLog(path)
    ids: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def write(log: DecisionLog, worker: int) -> None:
        try:
            for k in range(25):
                [entry_id] = log.record_model([answer(client_id=worker * 1000 + k)])
                if k % 5 == 0:
                    log.record_advisor(
                        AdvisorDecision(worker * 1000 + k, "grant", "x", None, entry_id)
                    )
                with lock:
                    ids.append(entry_id)
        except BaseException as error:  # surfaced below: a thread's failure is silent
            errors.append(error)

    threads = [
        threading.Thread(target=write, args=(shared if w % 2 else other, w)) for w in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(ids) == len(set(ids)) == 200
    assert shared.count("model") == 200 and shared.count("advisor") == 40
    shared.close()
    other.close()
