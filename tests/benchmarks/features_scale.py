"""Time and peak memory of the feature batch at 10 %, 30 % and 100 % of Kaggle's size.

Usage::

    .venv/bin/python tests/benchmarks/features_scale.py [--scales 0.1 0.3 1] [--root DIR]
        [--no-pandas] [--engines] [--serving N] [--sorted-serving] [--json OUT]

For each scale, a data twin of ``round(307,511 x scale)`` training clients is generated and
ingested once into ``ROOT/s<percent>/interim`` (kept between runs). Then, each in a fresh process
whose peak RSS is read from ``wait4`` (the process and its threads; no child processes are
spawned by DuckDB):

- ``ours``: :func:`~credit_scoring.features.build_feature_tables` (DuckDB, 2 threads,
  ``memory_limit`` 3 GB): read, features, both Parquet tables and the dictionary written.
- ``pandas``: the same batch with the history aggregates computed by :func:`pandas_history`, a
  plain pandas ``groupby`` implementation of the very same aggregates (same catalog, same
  scopes), everything else identical. ``ratio`` is pandas seconds / ours.
- ``serving``: :func:`~credit_scoring.features.features_for_clients` for N random clients, one
  at a time after one warm-up call: median and 95th percentile milliseconds.

``--sorted-serving`` times serving again on a copy of the tables sorted by client with 64 Ki-row
groups (what ingestion could write): DuckDB then reads one row group per table and client.

``--engines`` adds the benchmark that chose the engine: one heavy aggregate (installments per
client with a 365-day window, bureau_balance per credit then per client split active/closed)
in DuckDB SQL and in Polars lazy frames, same machine, same files.

The pandas reference also serves ``tests/test_features.py``: on a small twin, the engine must
agree with it on every history feature.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL
from credit_scoring.features.catalog import (
    GRAINS,
    ZERO_WHEN_EMPTY,
    Feature,
    Grain,
    history_features,
)

KAGGLE_TRAIN_CLIENTS = 307_511


# --- the pandas reference -----------------------------------------------------------------------


def _read(history_dir: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(Path(history_dir) / f"{table}.parquet")


def _flag(condition: pd.Series, *defined: pd.Series) -> pd.Series:
    """1.0 / 0.0, missing where an input is (SQL three-valued logic)."""
    out = condition.astype("float64")
    for d in defined:
        out = out.where(d.notna())
    return out


def _ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    out = a / b.where(b != 0)
    return out.where(np.isfinite(out)).clip(-1e9, 1e9)


def _positive(x: pd.Series) -> pd.Series:
    return x.clip(lower=0)


def _latest(frame: pd.DataFrame, keys: list[str], order: list[str], value: str) -> pd.Series:
    """The value at the latest row of each group (ties broken by the value, as in the SQL)."""
    ordered = frame.sort_values([*order, value], na_position="first", kind="stable")
    last = ordered.drop_duplicates(keys, keep="last")
    return last.set_index(keys)[value]


def _recent_rank(clients: pd.Series, days: pd.Series) -> pd.Series:
    """1 for a client's latest due day, 2 for the one before...; equal days share a rank.

    A missing day ranks after every known one of its client (SQL ``NULLS LAST``).
    """
    rank = days.groupby(clients, sort=False).rank(method="dense", ascending=False)
    # dense ranks of the known days run 1..distinct, so a missing one is distinct + 1
    distinct = rank.groupby(clients, sort=False).transform("max").fillna(0)
    return rank.fillna(distinct + 1)


def _rows_installments(d: Path) -> pd.DataFrame:
    t = _read(d, "installments_payments")
    di, de = t["DAYS_INSTALMENT"].round(), t["DAYS_ENTRY_PAYMENT"].round()
    ai, ap = t["AMT_INSTALMENT"], t["AMT_PAYMENT"]
    return pd.DataFrame(
        {
            CLIENT_ID: t[CLIENT_ID],
            "SK_ID_PREV": t["SK_ID_PREV"],
            # of the raw day, as the SQL ranks it (before rounding)
            "RECENT_RANK": _recent_rank(t[CLIENT_ID], t["DAYS_INSTALMENT"]),
            "DAYS_INSTALMENT": di,
            "DAYS_ENTRY_PAYMENT": de,
            "DPD": _positive(de - di),
            "DBD": _positive(di - de),
            "LATE": _flag(de > di, de, di),
            "LATE_30": _flag(de - di > 30, de, di),
            "AMT_INSTALMENT": ai,
            "AMT_PAYMENT": ap,
            "PAYMENT_RATIO": _ratio(ap, ai),
            "UNDERPAYMENT": _positive(ai - ap),
            "UNDERPAID": _flag(ap < ai, ap, ai),
        }
    )


def _rows_pos(d: Path) -> pd.DataFrame:
    t = _read(d, "POS_CASH_balance")
    status = t["NAME_CONTRACT_STATUS"]
    return pd.DataFrame(
        {
            CLIENT_ID: t[CLIENT_ID],
            "SK_ID_PREV": t["SK_ID_PREV"],
            "MONTHS_BALANCE": t["MONTHS_BALANCE"],
            "CNT_INSTALMENT": t["CNT_INSTALMENT"].round(),
            "CNT_INSTALMENT_FUTURE": t["CNT_INSTALMENT_FUTURE"].round(),
            "SK_DPD": t["SK_DPD"],
            "SK_DPD_DEF": t["SK_DPD_DEF"],
            "DPD_MONTH": _flag(t["SK_DPD"] > 0, t["SK_DPD"]),
            "DPD_DEF_MONTH": _flag(t["SK_DPD_DEF"] > 0, t["SK_DPD_DEF"]),
            "COMPLETED": _flag(status == "Completed", status),
            "ACTIVE": _flag(status == "Active", status),
        }
    )


def _rows_pos_loans(d: Path) -> pd.DataFrame:
    t = _read(d, "POS_CASH_balance")
    keys = [CLIENT_ID, "SK_ID_PREV"]
    g = t.groupby(keys, sort=False)
    future = _latest(t, keys, ["MONTHS_BALANCE"], "CNT_INSTALMENT_FUTURE")
    term = _latest(t, keys, ["MONTHS_BALANCE"], "CNT_INSTALMENT")
    status = _latest(t, keys, ["MONTHS_BALANCE"], "NAME_CONTRACT_STATUS")
    worst = g["SK_DPD"].max()
    out = pd.DataFrame(
        {
            "LOAN_MONTHS": g.size(),
            "REMAINING_INSTALMENTS": future.round(),
            "REMAINING_SHARE": _ratio(future, term),
            "LAST_COMPLETED": _flag(status == "Completed", status),
            "EVER_DPD": _flag(worst > 0, worst),
            "LOAN_DPD_MAX": worst,
        }
    )
    return out.reset_index()


def _rows_cards(d: Path) -> pd.DataFrame:
    t = _read(d, "credit_card_balance")
    payment, minimum = t["AMT_PAYMENT_CURRENT"], t["AMT_INST_MIN_REGULARITY"]
    return pd.DataFrame(
        {
            CLIENT_ID: t[CLIENT_ID],
            "SK_ID_PREV": t["SK_ID_PREV"],
            "MONTHS_BALANCE": t["MONTHS_BALANCE"],
            "AMT_BALANCE": t["AMT_BALANCE"],
            "AMT_CREDIT_LIMIT_ACTUAL": t["AMT_CREDIT_LIMIT_ACTUAL"].astype("float64"),
            "UTILISATION": _ratio(t["AMT_BALANCE"], t["AMT_CREDIT_LIMIT_ACTUAL"]),
            "AMT_DRAWINGS_CURRENT": t["AMT_DRAWINGS_CURRENT"],
            "AMT_DRAWINGS_ATM_CURRENT": t["AMT_DRAWINGS_ATM_CURRENT"],
            "AMT_DRAWINGS_POS_CURRENT": t["AMT_DRAWINGS_POS_CURRENT"],
            "CNT_DRAWINGS_CURRENT": t["CNT_DRAWINGS_CURRENT"].astype("float64"),
            "CNT_DRAWINGS_ATM_CURRENT": t["CNT_DRAWINGS_ATM_CURRENT"].round(),
            "AMT_PAYMENT_TOTAL_CURRENT": t["AMT_PAYMENT_TOTAL_CURRENT"],
            "AMT_INST_MIN_REGULARITY": minimum,
            "PAYMENT_MIN_RATIO": _ratio(payment, minimum),
            "MISSED_MINIMUM": _flag((minimum > 0) & (payment.fillna(0) < minimum), minimum),
            "AMT_TOTAL_RECEIVABLE": t["AMT_TOTAL_RECEIVABLE"],
            "SK_DPD": t["SK_DPD"],
            "SK_DPD_DEF": t["SK_DPD_DEF"],
            "DPD_MONTH": _flag(t["SK_DPD"] > 0, t["SK_DPD"]),
            "CNT_INSTALMENT_MATURE_CUM": t["CNT_INSTALMENT_MATURE_CUM"].round(),
        }
    )


def _rows_card_latest(d: Path) -> pd.DataFrame:
    t = _read(d, "credit_card_balance")
    keys = [CLIENT_ID, "SK_ID_PREV"]
    limit = t.assign(AMT_CREDIT_LIMIT_ACTUAL=t["AMT_CREDIT_LIMIT_ACTUAL"].astype("float64"))
    return pd.DataFrame(
        {
            "CURRENT_BALANCE": _latest(t, keys, ["MONTHS_BALANCE"], "AMT_BALANCE"),
            "CURRENT_LIMIT": _latest(limit, keys, ["MONTHS_BALANCE"], "AMT_CREDIT_LIMIT_ACTUAL"),
        }
    ).reset_index()


def _rows_previous(d: Path) -> pd.DataFrame:
    t = _read(d, "previous_application")
    status, kind = t["NAME_CONTRACT_STATUS"], t["NAME_CONTRACT_TYPE"].replace("XNA", None)
    yield_group = t["NAME_YIELD_GROUP"].replace("XNA", None)
    client_type = t["NAME_CLIENT_TYPE"].replace("XNA", None)
    product = t["NAME_PRODUCT_TYPE"].replace("XNA", None)
    reject = t["CODE_REJECT_REASON"].replace({"XAP": None, "XNA": None})
    last_due = t["DAYS_LAST_DUE"]

    def no_sentinel(column: str) -> pd.Series:
        return t[column].where(t[column] != DAYS_SENTINEL).round()

    return pd.DataFrame(
        {
            CLIENT_ID: t[CLIENT_ID],
            "SK_ID_PREV": t["SK_ID_PREV"],
            "AMT_ANNUITY": t["AMT_ANNUITY"],
            "AMT_APPLICATION": t["AMT_APPLICATION"],
            "AMT_CREDIT": t["AMT_CREDIT"],
            "AMT_DOWN_PAYMENT": t["AMT_DOWN_PAYMENT"],
            "AMT_GOODS_PRICE": t["AMT_GOODS_PRICE"],
            "APP_CREDIT_RATIO": _ratio(t["AMT_APPLICATION"], t["AMT_CREDIT"]),
            "APP_CREDIT_DIFF": t["AMT_APPLICATION"] - t["AMT_CREDIT"],
            "RATE_DOWN_PAYMENT": t["RATE_DOWN_PAYMENT"],
            "COST_RATIO": _ratio(
                t["AMT_ANNUITY"] * t["CNT_PAYMENT"] - t["AMT_CREDIT"], t["AMT_CREDIT"]
            ),
            "DAYS_DECISION": t["DAYS_DECISION"],
            "CNT_PAYMENT": t["CNT_PAYMENT"].round(),
            "DAYS_FIRST_DRAWING": no_sentinel("DAYS_FIRST_DRAWING"),
            "DAYS_FIRST_DUE": no_sentinel("DAYS_FIRST_DUE"),
            "DAYS_LAST_DUE_1ST_VERSION": no_sentinel("DAYS_LAST_DUE_1ST_VERSION"),
            "DAYS_LAST_DUE": no_sentinel("DAYS_LAST_DUE"),
            "DAYS_TERMINATION": no_sentinel("DAYS_TERMINATION"),
            "IS_APPROVED": _flag(status == "Approved", status),
            "IS_REFUSED": _flag(status == "Refused", status),
            "IS_CANCELED": _flag(status == "Canceled", status),
            "IS_UNUSED_OFFER": _flag(status == "Unused offer", status),
            "IS_RUNNING": _flag(
                (status == "Approved") & ((last_due == DAYS_SENTINEL) | (last_due > 0)),
                status,
                last_due.where((status != "Approved") | last_due.notna()),
            ),
            "CASH_LOAN": _flag(kind == "Cash loans", kind),
            "CONSUMER_LOAN": _flag(kind == "Consumer loans", kind),
            "REVOLVING_LOAN": _flag(kind == "Revolving loans", kind),
            "YIELD_HIGH": _flag(yield_group == "high", yield_group),
            "YIELD_LOW": _flag(yield_group.isin(["low_normal", "low_action"]), yield_group),
            "NEW_CLIENT": _flag(client_type == "New", client_type),
            "X_SELL": _flag(product == "x-sell", product),
            "INSURED": _flag(t["NFLAG_INSURED_ON_APPROVAL"] == 1, t["NFLAG_INSURED_ON_APPROVAL"]),
            "REJECT_HC": _flag(reject == "HC", reject),
            "REJECT_LIMIT": _flag(reject == "LIMIT", reject),
            "REJECT_SCORE": _flag(reject.isin(["SCO", "SCOFR"]), reject),
        }
    )


def _yearly_rate(q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Yearly rate ``12 r`` of a loan repaid by ``n`` monthly instalments of ``q`` per unit.

    The root of ``r / (1 - (1 + r)^-n) = q``, by bisection on ``0 < r <= q`` (the left side
    rises from ``1 / n`` at 0 and exceeds ``q`` at ``q``); only for ``q n > 1``.
    """
    low, high = np.zeros_like(q), q.copy()
    while True:  # until no bracket shrinks any more: to the last bit of a double
        middle = (low + high) / 2
        repaid = -np.expm1(-n * np.log1p(middle))  # 1 - (1 + r)^-n, accurate for small r
        above = middle / repaid > q
        new_low, new_high = np.where(above, low, middle), np.where(above, middle, high)
        if np.array_equal(new_low, low) and np.array_equal(new_high, high):
            return 12 * middle
        low, high = new_low, new_high


def _rows_previous_rates(d: Path) -> pd.DataFrame:
    t = _read(d, "previous_application")
    credit, annuity, term = t["AMT_CREDIT"], t["AMT_ANNUITY"], t["CNT_PAYMENT"]
    t = t[(credit > 0) & (annuity > 0) & (term > 0)]  # a rate needs all three
    credit, annuity, term = t["AMT_CREDIT"], t["AMT_ANNUITY"], t["CNT_PAYMENT"]
    status = t["NAME_CONTRACT_STATUS"]
    charged = (annuity * term > credit).to_numpy()  # otherwise no interest: rate 0
    rate = np.zeros(len(t))
    q, n = (annuity / credit).to_numpy(), term.to_numpy(dtype="float64")
    rate[charged] = _yearly_rate(q[charged], n[charged])
    return pd.DataFrame(
        {
            CLIENT_ID: t[CLIENT_ID],
            "SK_ID_PREV": t["SK_ID_PREV"],
            "DAYS_DECISION": t["DAYS_DECISION"],
            "IS_APPROVED": _flag(status == "Approved", status),
            "IMPLIED_RATE": np.clip(rate, 0, 1000),
        }
    )


def _rows_bureau(d: Path) -> pd.DataFrame:
    bb = _read(d, "bureau_balance")
    status, month = bb["STATUS"], bb["MONTHS_BALANCE"]
    late = status.isin(["1", "2", "3", "4", "5"])
    recent = month >= -12
    level = pd.to_numeric(status, errors="coerce")
    per_credit = (
        bb.assign(
            dpd=late,
            dpd30=status.isin(["2", "3", "4", "5"]),
            ok=status == "0",
            closed=status == "C",
            unknown=status == "X",
            level=level,
            recent=recent,
            dpd_recent=late & recent,
            level_recent=level.where(recent),
            month_late=month.where(late),
        )
        .groupby("SK_ID_BUREAU")
        .agg(
            BB_MONTHS=("MONTHS_BALANCE", "size"),
            BB_FIRST_MONTH=("MONTHS_BALANCE", "min"),
            BB_DPD_MONTHS=("dpd", "sum"),
            BB_DPD30_MONTHS=("dpd30", "sum"),
            BB_OK_MONTHS=("ok", "sum"),
            BB_CLOSED_MONTHS=("closed", "sum"),
            BB_UNKNOWN_MONTHS=("unknown", "sum"),
            BB_WORST_STATUS=("level", "max"),
            BB_MONTHS_12M=("recent", "sum"),
            BB_DPD_MONTHS_12M=("dpd_recent", "sum"),
            BB_WORST_STATUS_12M=("level_recent", "max"),
            BB_LAST_DPD_MONTH=("month_late", "max"),
        )
    )
    del bb
    b = _read(d, "bureau")
    active, kind = b["CREDIT_ACTIVE"], b["CREDIT_TYPE"]
    rows = pd.DataFrame(
        {
            CLIENT_ID: b[CLIENT_ID],
            "SK_ID_BUREAU": b["SK_ID_BUREAU"],
            "IS_ACTIVE": _flag(active == "Active", active),
            "IS_CLOSED": _flag(active == "Closed", active),
            "SOLD_OR_BAD_DEBT": _flag(active.isin(["Sold", "Bad debt"]), active),
            "DAYS_CREDIT": b["DAYS_CREDIT"],
            "CREDIT_DAY_OVERDUE": b["CREDIT_DAY_OVERDUE"],
            "DAYS_CREDIT_ENDDATE": b["DAYS_CREDIT_ENDDATE"].round(),
            "DAYS_ENDDATE_FACT": b["DAYS_ENDDATE_FACT"].round(),
            "DAYS_CREDIT_UPDATE": b["DAYS_CREDIT_UPDATE"],
            "DURATION": (b["DAYS_CREDIT_ENDDATE"] - b["DAYS_CREDIT"]).round(),
            "ENDDATE_GAP": (b["DAYS_ENDDATE_FACT"] - b["DAYS_CREDIT_ENDDATE"]).round(),
            "AMT_CREDIT_MAX_OVERDUE": b["AMT_CREDIT_MAX_OVERDUE"],
            "CNT_CREDIT_PROLONG": b["CNT_CREDIT_PROLONG"],
            "AMT_CREDIT_SUM": b["AMT_CREDIT_SUM"],
            "AMT_CREDIT_SUM_DEBT": b["AMT_CREDIT_SUM_DEBT"],
            "AMT_CREDIT_SUM_LIMIT": b["AMT_CREDIT_SUM_LIMIT"],
            "AMT_CREDIT_SUM_OVERDUE": b["AMT_CREDIT_SUM_OVERDUE"],
            "AMT_ANNUITY": b["AMT_ANNUITY"],
            "DEBT_RATIO": _ratio(b["AMT_CREDIT_SUM_DEBT"], b["AMT_CREDIT_SUM"]),
            "OVERDUE": _flag(b["CREDIT_DAY_OVERDUE"] > 0, b["CREDIT_DAY_OVERDUE"]),
            "PROLONGED": _flag(b["CNT_CREDIT_PROLONG"] > 0, b["CNT_CREDIT_PROLONG"]),
            "CONSUMER_CREDIT": _flag(kind == "Consumer credit", kind),
            "CREDIT_CARD": _flag(kind == "Credit card", kind),
            "CAR_LOAN": _flag(kind == "Car loan", kind),
            "MORTGAGE": _flag(kind == "Mortgage", kind),
            "MICROLOAN": _flag(kind == "Microloan", kind),
        }
    )
    rows = rows.join(per_credit, on="SK_ID_BUREAU")
    rows["BB_EVER_DPD"] = _flag(rows["BB_DPD_MONTHS"] > 0, rows["BB_DPD_MONTHS"])
    return rows


_ROWS = {
    "bureau": _rows_bureau,
    "previous_application": _rows_previous,
    "previous_rates": _rows_previous_rates,
    "POS_CASH_balance": _rows_pos,
    "POS_CASH_loans": _rows_pos_loans,
    "installments_payments": _rows_installments,
    "credit_card_balance": _rows_cards,
    "credit_card_cards": _rows_card_latest,
}


#: What "the latest row" means for the ``last`` aggregates of a grain.
_LAST_ORDER = {
    "previous_application": ["DAYS_DECISION", "SK_ID_PREV"],
    "previous_rates": ["DAYS_DECISION", "SK_ID_PREV"],
}
#: The abscissa of ``slope``, per grain: later rows larger.
_TREND_X = {
    "installments_payments": lambda rows: -rows["RECENT_RANK"],
    "credit_card_balance": lambda rows: rows["MONTHS_BALANCE"],
}


def _slope(grain: Grain, subset: pd.DataFrame, measure: str) -> pd.Series:
    """Least-squares slope of ``measure`` against the grain's abscissa, per client.

    Centred form: sum((x - mean x)(y - mean y)) / sum((x - mean x)^2) over the rows where the
    measure is known; missing for fewer than two distinct abscissas.
    """
    known = subset[subset[measure].notna()]
    x = _TREND_X[grain.name](known).astype("float64")
    y = known[measure].astype("float64")
    clients = known[CLIENT_ID]
    dx = x - x.groupby(clients, sort=False).transform("mean")
    dy = y - y.groupby(clients, sort=False).transform("mean")
    moments = pd.DataFrame({CLIENT_ID: clients, "xy": dx * dy, "xx": dx * dx})
    sums = moments.groupby(CLIENT_ID, sort=False)[["xy", "xx"]].sum()
    return sums["xy"] / sums["xx"].where(sums["xx"] > 0)


def _aggregate(grain: Grain, rows: pd.DataFrame, features: list[Feature]) -> pd.DataFrame:
    """Every feature of a grain with plain groupby, one scope at a time."""
    columns: dict[str, pd.Series] = {}
    everything = rows.groupby(CLIENT_ID, sort=False)
    for scope in grain.scopes:
        mine = [f for f in features if f.scope == scope.key]
        if not mine:
            continue
        subset = rows[rows.eval(scope.where.replace(" = ", " == "))] if scope.where else rows
        g = subset.groupby(CLIENT_ID, sort=False)
        plain = {
            f.name: (f.measure, {"mean": "mean", "min": "min", "max": "max", "sum": "sum"}[f.func])
            for f in mine
            if f.func in ("mean", "min", "max", "sum")
        }
        if plain:
            columns.update(g.agg(**plain).to_dict("series"))
        for f in mine:
            if f.func == "count":
                columns[f.name] = g.size()
            elif f.func == "nunique":
                columns[f.name] = g[f.measure].nunique()
            elif f.func == "std":
                x = subset[f.measure]
                moments = subset.assign(_x=x, _x2=x * x).groupby(CLIENT_ID, sort=False)
                mean, square = moments["_x"].mean(), moments["_x2"].mean()
                columns[f.name] = np.sqrt((square - mean * mean).clip(lower=0))
            elif f.func == "rate":
                num = g[f.measure].sum(min_count=1)
                den = g[f.denominator].sum(min_count=1)
                columns[f.name] = num / den.where(den != 0)
            elif f.func == "last":
                key = _LAST_ORDER[grain.name]
                columns[f.name] = _latest(subset, [CLIENT_ID], key, f.measure)
            elif f.func == "slope":
                columns[f.name] = _slope(grain, subset, f.measure)
            elif f.func == "vs_all":  # the scope's mean minus that of all the client's rows
                columns[f.name] = g[f.measure].mean() - everything[f.measure].mean()
            elif f.name not in plain:
                raise ValueError(f"no pandas reference for {f.func!r} ({f.name})")
    return pd.DataFrame(columns)[[f.name for f in features]]


def pandas_history(client_ids: list[int], history_dir: Path) -> pd.DataFrame:
    """The history aggregates of the catalog with pandas groupby: one row per client, in order."""
    index = pd.Index(pd.array(client_ids, dtype="int64"), name=CLIENT_ID)
    features = history_features()
    parts = []
    for grain in GRAINS:
        rows = _ROWS[grain.name](Path(history_dir))
        mine = [f for f in features if f.grain == grain.name]
        parts.append(_aggregate(grain, rows, mine).astype("float64").reindex(index))
        del rows
    history = pd.concat(parts, axis=1)
    zero = [f.name for f in features if f.func in ZERO_WHEN_EMPTY]
    history[zero] = history[zero].fillna(0.0)
    return history


# --- the runs -------------------------------------------------------------------------------------


def ensure_twin(root: Path, scale: float) -> Path:
    """``root/s<percent>/interim``: a twin of this scale, generated and ingested once."""
    return twin_interim(root / f"s{round(scale * 100)}", round(KAGGLE_TRAIN_CLIENTS * scale))


def twin_interim(base: Path, clients: int) -> Path:
    """``base/interim``: a twin of ``clients`` training clients, generated and ingested once
    (its CSV files removed)."""
    from credit_scoring.data.ingest import find_kaggle_source, ingest
    from credit_scoring.data.twin import TwinConfig, generate_twin

    interim = base / "interim"
    if not (interim / "ingest.json").exists():
        csv = base / "csv"
        generate_twin(TwinConfig(clients=clients, seed=42), csv, progress=False)
        ingest(find_kaggle_source(csv), interim)
        for f in csv.iterdir():
            f.unlink()
        csv.rmdir()
    return interim


def client_sorted_copy(interim: Path) -> Path:
    """``interim`` rewritten client by client (row groups of 64 Ki rows), as ingestion could.

    DuckDB then skips the row groups whose min/max statistics exclude a served client.
    """
    import duckdb

    target = interim.with_name("interim_sorted")
    if (target / "done").exists():
        return target
    target.mkdir(exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '4GB'")
    con.execute("SET enable_progress_bar = false")
    for source in sorted(interim.glob("*.parquet")):
        key = "SK_ID_BUREAU" if source.stem == "bureau_balance" else CLIENT_ID
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{source}') ORDER BY {key}) "
            f"TO '{target / source.name}' (FORMAT parquet, ROW_GROUP_SIZE 65536)"
        )
    (target / "done").touch()
    return target


def _child(mode: str, interim: Path, extra: str = "") -> dict[str, Any]:
    """Run ``mode`` in a fresh interpreter; its own wall time, and its peak RSS from wait4."""
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", __file__, "--child", mode, str(interim), extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{mode} failed on {interim}:\n{output[-2000:]}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_gb"] = round(usage.ru_maxrss * 1024 / 1e9, 2)  # Linux: kilobytes
    # CPU seconds of all its threads: unlike wall time, barely moved by other processes.
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    result["load"] = round(os.getloadavg()[0], 1)
    return result


def _run_child(mode: str, interim: Path, extra: str) -> dict[str, Any]:
    from credit_scoring import features
    from credit_scoring.features import build

    if mode == "pandas":
        build._history_table = lambda ids, d, restrict, settings: pa.Table.from_pandas(
            pandas_history(ids, d), preserve_index=False
        )
    if mode in ("ours", "pandas"):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            metrics = features.build_feature_tables(interim, Path(out) / "features")
            seconds = time.perf_counter() - started
        return {
            "seconds": round(seconds, 2),
            "features": metrics["features"],
            "steps": metrics["seconds"],
        }
    if mode == "serving":
        n = int(extra or 20)
        ids = pd.concat(
            [
                pd.read_parquet(interim / f"{t}.parquet", columns=[CLIENT_ID])[CLIENT_ID]
                for t in ("application_train", "application_test")
            ]
        )
        sample = ids.sample(n + 1, random_state=0).tolist()
        features.features_for_clients(sample[:1], interim)  # warm-up: connection, levels, footers
        times = []
        for client in sample[1:]:
            started = time.perf_counter()
            features.features_for_clients([client], interim)
            times.append((time.perf_counter() - started) * 1000)
        return {
            "median_ms": round(statistics.median(times)),
            "p95_ms": round(float(np.percentile(times, 95))),
            "clients": n,
        }
    if mode in ("engine_duckdb", "engine_polars"):
        started = time.perf_counter()
        rows = (_engine_duckdb if mode == "engine_duckdb" else _engine_polars)(interim)
        return {"seconds": round(time.perf_counter() - started, 2), "rows": rows}
    raise ValueError(mode)


# --- the engine benchmark: one heavy aggregate in both engines -----------------------------------


def _engine_duckdb(d: Path) -> list[int]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '3GB'")
    con.execute("SET enable_progress_bar = false")
    late = "CASE WHEN DAYS_ENTRY_PAYMENT > DAYS_INSTALMENT THEN 1 ELSE 0 END"
    recent = "DAYS_INSTALMENT >= -365"
    instalments = con.sql(
        f"""
        WITH p AS (
            SELECT SK_ID_CURR, SK_ID_PREV, DAYS_INSTALMENT,
                CASE WHEN DAYS_ENTRY_PAYMENT - DAYS_INSTALMENT < 0 THEN 0
                     ELSE DAYS_ENTRY_PAYMENT - DAYS_INSTALMENT END AS DPD,
                CASE WHEN DAYS_INSTALMENT - DAYS_ENTRY_PAYMENT < 0 THEN 0
                     ELSE DAYS_INSTALMENT - DAYS_ENTRY_PAYMENT END AS DBD,
                {late} AS LATE,
                AMT_PAYMENT / nullif(AMT_INSTALMENT, 0) AS RATIO,
                CASE WHEN AMT_INSTALMENT - AMT_PAYMENT < 0 THEN 0
                     ELSE AMT_INSTALMENT - AMT_PAYMENT END AS UNDER,
                AMT_INSTALMENT, AMT_PAYMENT
            FROM read_parquet('{d}/installments_payments.parquet'))
        SELECT SK_ID_CURR, count(*), count(DISTINCT SK_ID_PREV), avg(DPD), max(DPD), sum(DPD),
            avg(DBD), max(DBD), avg(LATE), avg(RATIO), min(RATIO), avg(UNDER), max(UNDER),
            sum(UNDER), avg(AMT_INSTALMENT), sum(AMT_INSTALMENT), avg(AMT_PAYMENT),
            sum(AMT_PAYMENT), avg(CASE WHEN {recent} THEN DPD END),
            max(CASE WHEN {recent} THEN DPD END), avg(CASE WHEN {recent} THEN LATE END),
            avg(CASE WHEN {recent} THEN RATIO END), sum(CASE WHEN {recent} THEN UNDER END),
            count(CASE WHEN {recent} THEN 1 END)
        FROM p GROUP BY SK_ID_CURR"""
    ).to_arrow_table()
    bureau = con.sql(
        f"""
        WITH c AS (
            SELECT SK_ID_BUREAU, count(*) AS n_months, min(MONTHS_BALANCE) AS first_month,
                count(CASE WHEN STATUS IN ('1','2','3','4','5') THEN 1 END) AS dpd_months,
                count(CASE WHEN STATUS = 'C' THEN 1 END) AS closed_months,
                count(CASE WHEN STATUS = 'X' THEN 1 END) AS unknown_months,
                max(TRY_CAST(STATUS AS INTEGER)) AS worst,
                count(CASE WHEN STATUS IN ('1','2','3','4','5') AND MONTHS_BALANCE >= -12
                    THEN 1 END) AS dpd_12
            FROM read_parquet('{d}/bureau_balance.parquet') GROUP BY SK_ID_BUREAU)
        SELECT b.SK_ID_CURR, count(*), avg(n_months), sum(n_months), min(first_month),
            sum(dpd_months) / sum(n_months), sum(closed_months) / sum(n_months),
            sum(unknown_months) / sum(n_months), max(worst), sum(dpd_12),
            max(CASE WHEN b.CREDIT_ACTIVE = 'Active' THEN worst END),
            sum(CASE WHEN b.CREDIT_ACTIVE = 'Active' THEN dpd_months END),
            avg(CASE WHEN b.CREDIT_ACTIVE = 'Closed' THEN n_months END)
        FROM read_parquet('{d}/bureau.parquet') b JOIN c USING (SK_ID_BUREAU)
        GROUP BY b.SK_ID_CURR"""
    ).to_arrow_table()
    return [instalments.num_rows, bureau.num_rows]


def _engine_polars(d: Path) -> list[int]:
    import polars as pl

    c = pl.col
    rows = pl.scan_parquet(d / "installments_payments.parquet").with_columns(
        DPD=(c("DAYS_ENTRY_PAYMENT") - c("DAYS_INSTALMENT")).clip(lower_bound=0),
        DBD=(c("DAYS_INSTALMENT") - c("DAYS_ENTRY_PAYMENT")).clip(lower_bound=0),
        LATE=(c("DAYS_ENTRY_PAYMENT") > c("DAYS_INSTALMENT")).cast(pl.Int32),
        RATIO=c("AMT_PAYMENT") / pl.when(c("AMT_INSTALMENT") != 0).then(c("AMT_INSTALMENT")),
        UNDER=(c("AMT_INSTALMENT") - c("AMT_PAYMENT")).clip(lower_bound=0),
    )
    r = c("DAYS_INSTALMENT") >= -365
    instalments = (
        rows.group_by(CLIENT_ID)
        .agg(
            pl.len(),
            c("SK_ID_PREV").n_unique(),
            c("DPD").mean().alias("a"),
            c("DPD").max().alias("b"),
            c("DPD").sum().alias("c"),
            c("DBD").mean().alias("d"),
            c("DBD").max().alias("e"),
            c("LATE").mean().alias("f"),
            c("RATIO").mean().alias("g"),
            c("RATIO").min().alias("h"),
            c("UNDER").mean().alias("i"),
            c("UNDER").max().alias("j"),
            c("UNDER").sum().alias("k"),
            c("AMT_INSTALMENT").mean().alias("l"),
            c("AMT_INSTALMENT").sum().alias("m"),
            c("AMT_PAYMENT").mean().alias("n"),
            c("AMT_PAYMENT").sum().alias("o"),
            c("DPD").filter(r).mean().alias("p"),
            c("DPD").filter(r).max().alias("q"),
            c("LATE").filter(r).mean().alias("s"),
            c("RATIO").filter(r).mean().alias("t"),
            c("UNDER").filter(r).sum().alias("u"),
            r.sum().alias("v"),
        )
        .collect()
    )
    status, month = c("STATUS"), c("MONTHS_BALANCE")
    late = status.is_in(["1", "2", "3", "4", "5"])
    per_credit = (
        pl.scan_parquet(d / "bureau_balance.parquet")
        .group_by("SK_ID_BUREAU")
        .agg(
            n_months=pl.len(),
            first_month=month.min(),
            dpd_months=late.sum(),
            closed_months=(status == "C").sum(),
            unknown_months=(status == "X").sum(),
            worst=status.cast(pl.Int32, strict=False).max(),
            dpd_12=(late & (month >= -12)).sum(),
        )
    )
    active, closed = c("CREDIT_ACTIVE") == "Active", c("CREDIT_ACTIVE") == "Closed"
    bureau = (
        pl.scan_parquet(d / "bureau.parquet")
        .join(per_credit, on="SK_ID_BUREAU")
        .group_by(CLIENT_ID)
        .agg(
            pl.len(),
            c("n_months").mean().alias("a"),
            c("n_months").sum().alias("b"),
            c("first_month").min(),
            (c("dpd_months").sum() / c("n_months").sum()).alias("c"),
            (c("closed_months").sum() / c("n_months").sum()).alias("d"),
            (c("unknown_months").sum() / c("n_months").sum()).alias("e"),
            c("worst").max(),
            c("dpd_12").sum(),
            c("worst").filter(active).max().alias("f"),
            c("dpd_months").filter(active).sum().alias("g"),
            c("n_months").filter(closed).mean().alias("h"),
        )
        .collect()
    )
    return [instalments.height, bureau.height]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "features_bench")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas reference")
    parser.add_argument("--engines", action="store_true", help="also DuckDB vs Polars")
    parser.add_argument("--serving", type=int, default=20, help="clients timed one at a time")
    parser.add_argument(
        "--sorted-serving",
        action="store_true",
        help="also time serving on a copy of the tables sorted by client",
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, interim, extra = args.child
        print(json.dumps(_run_child(mode, Path(interim), extra)))
        return 0

    results = []
    for scale in args.scales:
        interim = ensure_twin(args.root, scale)
        rows = {
            t: pd.read_parquet(interim / f"{t}.parquet", columns=[]).shape[0]
            for t in ("application_train", "application_test")
        }
        row: dict[str, Any] = {"scale": scale, **rows, "interim": str(interim)}
        if args.engines:
            row["engine_duckdb"] = _child("engine_duckdb", interim)
            row["engine_polars"] = _child("engine_polars", interim)
            print(
                f"[{scale:>4.0%}] one heavy aggregate: DuckDB {row['engine_duckdb']['seconds']} s "
                f"({row['engine_duckdb']['cpu_s']} s CPU) {row['engine_duckdb']['peak_rss_gb']} GB,"
                f" Polars {row['engine_polars']['seconds']} s ({row['engine_polars']['cpu_s']} s "
                f"CPU) {row['engine_polars']['peak_rss_gb']} GB",
                flush=True,
            )
        row["ours"] = _child("ours", interim)
        print(
            f"[{scale:>4.0%}] {rows['application_train']:,} + {rows['application_test']:,} "
            f"clients: ours {row['ours']['seconds']} s ({row['ours']['cpu_s']} s CPU, load "
            f"{row['ours']['load']}), peak {row['ours']['peak_rss_gb']} GB "
            f"({row['ours']['features']} features; steps {row['ours']['steps']})",
            flush=True,
        )
        if not args.no_pandas:
            row["pandas"] = _child("pandas", interim)
            row["ratio"] = round(row["pandas"]["seconds"] / row["ours"]["seconds"], 1)
            row["cpu_ratio"] = round(row["pandas"]["cpu_s"] / row["ours"]["cpu_s"], 1)
            print(
                f"[{scale:>4.0%}] pandas reference {row['pandas']['seconds']} s "
                f"({row['pandas']['cpu_s']} s CPU, load {row['pandas']['load']}), peak "
                f"{row['pandas']['peak_rss_gb']} GB: ours is {row['ratio']}x faster "
                f"({row['cpu_ratio']}x less CPU)",
                flush=True,
            )
        if args.serving:
            row["serving"] = _child("serving", interim, str(args.serving))
            print(
                f"[{scale:>4.0%}] serving one client: median {row['serving']['median_ms']} ms, "
                f"p95 {row['serving']['p95_ms']} ms ({args.serving} clients)",
                flush=True,
            )
        if args.serving and args.sorted_serving:
            row["serving_sorted"] = _child(
                "serving", client_sorted_copy(interim), str(args.serving)
            )
            print(
                f"[{scale:>4.0%}] serving one client, tables sorted by client: median "
                f"{row['serving_sorted']['median_ms']} ms, "
                f"p95 {row['serving_sorted']['p95_ms']} ms",
                flush=True,
            )
        results.append(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
