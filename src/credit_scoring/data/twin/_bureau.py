"""bureau and bureau_balance: the clients' credits at other institutions, month by month.

Each credit has a start (DAYS_CREDIT), a planned end, an actual end if it was repaid
before the application (then it is Closed and has DAYS_ENDDATE_FACT), and possibly one
delinquency episode whose chance grows with the client's behaviour factor H. The
monthly statuses are computed from the same quantities, so they agree with the record:
DPD buckets 1..5 during the episode, 'C' after closing (or reporting stops), 'X' for
unknown months, '0' otherwise; an episode still running at the application shows as
CREDIT_DAY_OVERDUE and AMT_CREDIT_SUM_OVERDUE.
"""

from __future__ import annotations

import numpy as np

from ._clients import Clients
from ._core import (
    DAYS_PER_MONTH,
    Cat,
    Column,
    IntArray,
    child_rng,
    expand,
    income_z,
    latent,
    level_shares,
    logit,
    missing_rate,
    quantile_function,
    round_to,
    sample_categorical,
    sigmoid,
)

BUREAU = "bureau"
#: Real SK_ID_BUREAU run from 5,000,000 to 6,843,457.
BUREAU_ID_START, BUREAU_ID_SPAN = 5_000_000, 1_843_458

#: Planned duration (median days, log-sd) by credit type.
_DURATION = {
    "Consumer credit": (520.0, 0.75),
    "Credit card": (900.0, 0.6),
    "Car loan": (1_300.0, 0.4),
    "Mortgage": (3_650.0, 0.5),
    "Microloan": (60.0, 0.6),
    "Another type of loan": (500.0, 0.8),
}
#: Amount shift (latent sd units) by credit type.
_AMOUNT_SHIFT = {
    "Consumer credit": 0.0,
    "Credit card": -0.1,
    "Car loan": 0.9,
    "Mortgage": 1.8,
    "Microloan": -1.6,
    "Another type of loan": 0.3,
}
_STATUS = ("C", "X", "0", "1", "2", "3", "4", "5")


def bureau_chunk(
    seed: int, chunk: int, clients: Clients, part: slice, ids: IntArray
) -> dict[str, dict[str, Column]]:
    """bureau and bureau_balance rows of the clients in ``part``.

    ``ids`` are the SK_ID_BUREAU reserved for this chunk, one per bureau record.
    """
    rng = child_rng(seed, 10, chunk)
    counts = clients.n_bureau[part]
    owner, _ = expand(counts)
    n = len(owner)
    if len(ids) != n:
        raise ValueError("bureau ids do not match the chunk's record count")
    client_id = clients.ids[part][owner]
    h = clients.behaviour[part][owner] + 0.6 * rng.standard_normal(n)
    age_days = clients.age_days[part][owner]
    income = clients.income[part][owner]

    ctype = sample_categorical(rng, level_shares(BUREAU, "CREDIT_TYPE"), n)
    type_names = np.array(ctype.levels, dtype=object)[ctype.codes]
    card = ctype.isin("Credit card")

    days_credit = np.round(quantile_function(BUREAU, "DAYS_CREDIT")(rng.random(n)))
    adult = -(age_days - 18 * 365)  # no credit before 18
    days_credit = np.clip(days_credit, np.maximum(adult, -2922), -1).astype(np.int64)

    median = np.array([_DURATION[t][0] for t in type_names])
    spread = np.array([_DURATION[t][1] for t in type_names])
    duration = np.maximum(np.round(median * np.exp(spread * rng.standard_normal(n))), 20)
    planned_end = days_credit + duration
    early = rng.random(n) < 0.33
    actual_end = np.where(
        early,
        days_credit + np.round(duration * rng.uniform(0.15, 0.95, n)),
        planned_end + rng.integers(0, 31, n),
    )
    ended = actual_end < 0

    # One delinquency episode at most: when, how long, and whether it never healed.
    start_month = np.floor(days_credit / DAYS_PER_MONTH).astype(np.int64)
    end_month = np.where(ended, np.floor(actual_end / DAYS_PER_MONTH), 0).astype(np.int64)
    life = end_month - start_month + 1
    # Most episodes are a month or two 1-30 days late; a stuck one escalates to 120+ days.
    episode = rng.random(n) < sigmoid(-2.2 + 1.15 * h)
    stuck = episode & (rng.random(n) < sigmoid(-4.8 + 1.0 * h))
    ep_start = start_month + np.floor(rng.random(n) * life).astype(np.int64)
    ep_len = np.where(stuck, 10_000, rng.geometric(0.5, n))
    ep_len = np.where(episode, ep_len, 0)
    # A stuck credit is never repaid: it stays Active, or is sold / written off.
    ended &= ~stuck
    end_month = np.where(ended, end_month, 0)
    ep_len = np.minimum(ep_len, np.maximum(end_month - ep_start + 1, 1))
    active_now = ~ended
    months_in = -ep_start  # months into the episode at the application (month 0)
    overdue_now = active_now & episode & (ep_start <= 0) & (months_in < ep_len)

    u = rng.random(n)
    status = np.where(ended, 0, 1)  # 0 Closed, 1 Active, 2 Sold, 3 Bad debt
    # Sold after three months or more of arrears (and before the application month).
    status = np.where(stuck & (u < 0.6) & (ep_start <= -4), 2, status)
    status = np.where(stuck & (u > 0.99), 3, status)
    # A few ended credits are still reported Active (the lender never updated them).
    status = np.where(ended & (rng.random(n) < 0.04), 1, status)
    closed = status == 0
    # A sold credit leaves the lender a few months into its episode: its monthly reports
    # end there ('C' afterwards); DAYS_ENDDATE_FACT stays for credits the client closed.
    sold = status == 2
    sold_month = np.minimum(
        ep_start + 3 + np.floor(rng.random(n) * np.maximum(-ep_start - 3, 0)).astype(np.int64),
        -1,
    )

    days_overdue = np.where(
        overdue_now,
        np.minimum(30 * months_in + rng.integers(1, 31, n), 2_800),
        0,
    )
    days_overdue = np.where(status >= 2, 0, days_overdue)

    # Amounts.
    z_income = income_z(income)
    shift = np.array([_AMOUNT_SHIFT[t] for t in type_names])
    amount = quantile_function(BUREAU, "AMT_CREDIT_SUM").of_normal(
        latent(rng, n, (0.4, z_income)) + shift
    )
    amount = np.where(rng.random(n) < 0.6, round_to(amount, 4_500.0), np.round(amount, 2))
    amount = np.where(rng.random(n) < 0.01, 0.0, amount)
    elapsed = np.clip(-days_credit / np.maximum(duration, 1.0), 0.0, 1.0)
    utilisation = sigmoid(-0.6 + 0.8 * h + 0.8 * rng.standard_normal(n))
    debt = np.where(
        card, amount * utilisation, amount * (1.0 - 0.8 * elapsed) * rng.uniform(0.85, 1.0, n)
    )
    debt = np.where(stuck, amount * rng.uniform(0.3, 1.0, n), debt)
    debt = np.where(closed | (status == 2), 0.0, np.round(debt, 3))
    debt_missing = rng.random(n) < missing_rate(BUREAU, "AMT_CREDIT_SUM_DEBT")
    # Most lenders report no available limit, even for cards.
    reports_limit = card & (rng.random(n) < 0.25)
    limit = np.where(reports_limit, np.round(np.maximum(amount - debt, 0.0), 3), 0.0)
    limit_missing = rng.random(n) < missing_rate(BUREAU, "AMT_CREDIT_SUM_LIMIT")
    sum_overdue = np.where(
        days_overdue > 0,
        np.round(np.minimum(debt, amount * 0.04 * (1 + months_in)), 3),
        0.0,
    )
    credit_age = (-days_credit - 1_000.0) / 750.0  # about standard for DAYS_CREDIT
    max_overdue_missing = rng.random(n) < sigmoid(logit(0.64) + 0.6 * credit_age)
    max_overdue = np.where(
        episode,
        np.round(amount * rng.uniform(0.005, 0.04, n) * np.minimum(ep_len, 4), 3),
        0.0,
    )
    annuity_missing = rng.random(n) < sigmoid(
        logit(missing_rate(BUREAU, "AMT_ANNUITY")) + 0.8 * credit_age
    )
    annuity = np.where(
        rng.random(n) < 0.6, 0.0, np.round(amount / np.maximum(duration / 30.0, 1.0), 3)
    )

    # Dates.
    end_missing = rng.random(n) < np.where(card, 0.22, 0.015)
    far_future = card & (rng.random(n) < 0.06)
    enddate = np.where(far_future, rng.integers(30_000, 31_200, n), planned_end)
    fact = np.where(closed, np.minimum(actual_end, -1), np.nan)
    fact = np.where(np.isnan(fact), np.nan, np.maximum(fact, days_credit))
    update = np.where(
        closed,
        np.minimum(np.nan_to_num(fact, nan=-1.0) + rng.integers(0, 60, n), -1),
        np.where(
            rng.random(n) < 0.8, -rng.integers(1, 40, n), np.round(days_credit * rng.random(n))
        ),
    )
    update = np.clip(update, days_credit, -1).astype(np.int64)
    prolong = (rng.random(n) < sigmoid(-5.5 + 0.6 * h)).astype(np.int64)
    prolong += (prolong > 0) & (rng.random(n) < 0.15)

    bureau: dict[str, Column] = {
        "SK_ID_CURR": client_id,
        "SK_ID_BUREAU": ids,
        "CREDIT_ACTIVE": Cat(status.astype(np.int16), ("Closed", "Active", "Sold", "Bad debt")),
        "CREDIT_CURRENCY": sample_categorical(rng, level_shares(BUREAU, "CREDIT_CURRENCY"), n),
        "DAYS_CREDIT": days_credit,
        "CREDIT_DAY_OVERDUE": days_overdue.astype(np.int64),
        "DAYS_CREDIT_ENDDATE": np.where(end_missing, np.nan, enddate.astype(np.float64)),
        "DAYS_ENDDATE_FACT": fact,
        "AMT_CREDIT_MAX_OVERDUE": np.where(max_overdue_missing, np.nan, max_overdue),
        "CNT_CREDIT_PROLONG": prolong.astype(np.int64),
        "AMT_CREDIT_SUM": amount,
        "AMT_CREDIT_SUM_DEBT": np.where(debt_missing, np.nan, debt),
        "AMT_CREDIT_SUM_LIMIT": np.where(limit_missing, np.nan, limit),
        "AMT_CREDIT_SUM_OVERDUE": sum_overdue,
        "CREDIT_TYPE": ctype,
        "DAYS_CREDIT_UPDATE": update,
        "AMT_ANNUITY": np.where(annuity_missing, np.nan, annuity),
    }

    monthly = clients.bureau_monthly[part][owner]
    balance = _balance(
        rng,
        ids[monthly],
        start_month[monthly],
        np.where(sold, sold_month, end_month)[monthly],
        (closed | sold)[monthly],
        ep_start[monthly],
        np.where(sold, np.minimum(ep_len, sold_month - ep_start + 1), ep_len)[monthly],
        stuck[monthly],
    )
    return {"bureau": bureau, "bureau_balance": balance}


def _balance(
    rng: np.random.Generator,
    bureau_id: IntArray,
    start_month: IntArray,
    end_month: IntArray,
    closed: np.ndarray,
    ep_start: IntArray,
    ep_len: IntArray,
    stuck: np.ndarray,
) -> dict[str, Column]:
    """Monthly statuses of the credits, newest month first as in the Kaggle file."""
    k = len(bureau_id)
    # Most closed credits keep reporting 'C' up to the application month; some stop.
    keeps_reporting = closed & (rng.random(k) < 0.85)
    top = np.where(closed & ~keeps_reporting, end_month, 0)
    counts = np.maximum(top - start_month + 1, 1)
    owner, pos = expand(counts)
    month = top[owner] - pos
    # Unknown months: some credits report almost nothing, some now and then, most never.
    kind = rng.random(k)
    x_rate = np.select(
        [kind < 0.33, kind < 0.63], [rng.uniform(0.8, 1.0, k), rng.beta(0.5, 1.5, k)], 0.0
    )

    j = month - ep_start[owner]
    in_episode = (j >= 0) & (j < ep_len[owner])
    dpd = np.where(stuck[owner], np.minimum(j + 1, 5), 1)
    code = np.where(rng.random(len(month)) < x_rate[owner], 1, 2)  # X or 0
    code = np.where(in_episode, 2 + dpd, code)
    code = np.where(closed[owner] & (month > end_month[owner]), 0, code)
    return {
        "SK_ID_BUREAU": bureau_id[owner],
        "MONTHS_BALANCE": month.astype(np.int64),
        "STATUS": Cat(code.astype(np.int16), _STATUS),
    }
