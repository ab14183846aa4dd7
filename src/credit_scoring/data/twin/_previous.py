"""previous_application and its monthly history: POS_CASH_balance, installments_payments,
credit_card_balance.

Only approved and drawn applications have a history. An instalment loan (cash or
consumer) has a schedule from DAYS_FIRST_DUE, one instalment a month for CNT_PAYMENT
months; the rows due before the application are in installments_payments, its months
in POS_CASH_balance (CNT_INSTALMENT_FUTURE counting down, 'Completed' at the end). A
revolving loan is a credit card: one credit_card_balance row a month, and its monthly
repayments in installments_payments with NUM_INSTALMENT_VERSION 0. Lateness, short
payments, stopped payments (the POS days past due then grow every month) and card
utilisation all grow with the client's behaviour factor H; refusals grow with H and
the application risk. POS DPD is computed from the late instalments, so both agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr

from credit_scoring.data.schema import DAYS_SENTINEL

from ._clients import Clients
from ._core import (
    DAYS_PER_MONTH,
    BoolArray,
    Cat,
    Column,
    FloatArray,
    IntArray,
    categorical_from_uniform,
    child_rng,
    expand,
    income_z,
    latent,
    level_shares,
    logit,
    quantile_function,
    round_to,
    sample_categorical,
    sigmoid,
)

PREV = "previous_application"
#: Real SK_ID_PREV run from 1,000,001 to 2,845,382.
PREVIOUS_ID_START, PREVIOUS_ID_SPAN = 1_000_001, 1_845_382

_STATUS = ("Approved", "Canceled", "Refused", "Unused offer")
_CONSUMER_TERMS = np.array([4, 5, 6, 8, 10, 12, 14, 16, 18, 24, 30, 36], dtype=np.float64)
_CONSUMER_TERM_SHARES = np.array([4, 4, 17, 9, 16, 27, 2, 2, 6, 9, 1, 3], dtype=np.float64)
_CASH_TERMS = np.array([6, 12, 18, 24, 30, 36, 42, 48, 54, 60], dtype=np.float64)
_CASH_TERM_SHARES = np.array([16, 36, 11, 17, 2, 9, 1, 3, 1, 4], dtype=np.float64)
_YIELDS = ("low_action", "low_normal", "middle", "high", "XNA")
_MONTHLY_RATE = np.array([0.0, 0.011, 0.019, 0.029, 0.0])
_CARD_LIMITS = np.array(
    [
        0,
        22_500,
        45_000,
        67_500,
        90_000,
        112_500,
        135_000,
        180_000,
        225_000,
        270_000,
        315_000,
        360_000,
        450_000,
        540_000,
        675_000,
        900_000,
    ],
    dtype=np.float64,
)
_REJECT = ("HC", "LIMIT", "SCO", "SCOFR", "VERIF", "XNA", "SYSTEM")
_REJECT_SHARES = np.array([0.083, 0.033, 0.014, 0.006, 0.005, 0.002, 0.0004])
_GOODS_GROUP = {  # goods category -> (POS product line, seller industry)
    "Mobile": ("mobile", "Connectivity"),
    "Audio/Video": ("household", "Consumer electronics"),
    "Consumer Electronics": ("household", "Consumer electronics"),
    "Computers": ("household", "Consumer electronics"),
    "Photo / Cinema Equipment": ("household", "Consumer electronics"),
    "Furniture": ("industry", "Furniture"),
    "Construction Materials": ("industry", "Construction"),
    "Clothing and Accessories": ("industry", "Clothing"),
    "Auto Accessories": ("industry", "Auto technology"),
    "Vehicles": ("other", "Auto technology"),
    "Homewares": ("household", "Industry"),
    "Medical Supplies": ("other", "Industry"),
    "Jewelry": ("other", "Jewelry"),
    "Tourism": ("other", "Tourism"),
    "Gardening": ("industry", "Industry"),
    "Office Appliances": ("household", "Industry"),
    "Other": ("other", "Industry"),
}
_SELLER_INDUSTRIES = (
    "XNA",
    "Consumer electronics",
    "Connectivity",
    "Furniture",
    "Construction",
    "Clothing",
    "Industry",
    "Auto technology",
    "Jewelry",
    "Tourism",
)
_COMBINATIONS = (
    "Cash",
    "Cash X-Sell: low",
    "Cash X-Sell: middle",
    "Cash X-Sell: high",
    "Cash Street: low",
    "Cash Street: middle",
    "Cash Street: high",
    "Card Street",
    "Card X-Sell",
    "POS household with interest",
    "POS household without interest",
    "POS mobile with interest",
    "POS mobile without interest",
    "POS industry with interest",
    "POS industry without interest",
    "POS other with interest",
    "POS others without interest",
)
_POS_STATUS = ("Active", "Completed", "Signed", "Demand", "Returned to the store", "Approved")
_CARD_STATUS = ("Active", "Completed", "Signed")


def _intercept(rate: float, spread: float) -> float:
    """b with mean(sigmoid(b + spread * Z)) ~ rate for Z standard normal (probit
    approximation): a fixed constant, so a chunk's draws never depend on the others."""
    return float(logit(rate)) * float(np.sqrt(1.0 + np.pi * spread**2 / 8.0))


def previous_chunk(
    seed: int, chunk: int, clients: Clients, part: slice, ids: IntArray
) -> dict[str, dict[str, Column]]:
    """The four previous-application tables for the clients in ``part``.

    ``ids`` are the SK_ID_PREV reserved for this chunk, one per application.
    """
    rng = child_rng(seed, 20, chunk)
    counts = clients.n_previous[part]
    owner, _ = expand(counts)
    if len(ids) != len(owner):
        raise ValueError("previous ids do not match the chunk's application count")
    apps, loans, cards = _applications(rng, clients, part, owner, ids)
    pos, instalments = _instalment_history(rng, loans, apps)
    card_rows, card_instalments = _card_history(rng, cards, apps)
    return {
        "previous_application": apps,
        "POS_CASH_balance": pos,
        "installments_payments": _concat(instalments, card_instalments),
        "credit_card_balance": card_rows,
    }


def _concat(a: Mapping[str, Column], b: Mapping[str, Column]) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for k, va in a.items():
        vb = b[k]
        if isinstance(va, Cat) and isinstance(vb, Cat):
            out[k] = Cat(np.concatenate([va.codes, vb.codes]), va.levels)
        else:
            out[k] = np.concatenate([np.asarray(va), np.asarray(vb)])
    return out


def _applications(
    rng: np.random.Generator,
    clients: Clients,
    part: slice,
    owner: IntArray,
    ids: IntArray,
) -> tuple[dict[str, Column], dict[str, FloatArray], dict[str, FloatArray]]:
    n = len(owner)
    client_id = clients.ids[part][owner]
    h = clients.behaviour[part][owner]
    g = clients.risk[part][owner]
    age_days = clients.age_days[part][owner]
    income = clients.income[part][owner]
    z_income = income_z(income)

    ctype = sample_categorical(rng, level_shares(PREV, "NAME_CONTRACT_TYPE"), n)
    cash = ctype.isin("Cash loans")
    consumer = ctype.isin("Consumer loans")
    revolving = ctype.isin("Revolving loans")

    # Decision: Home Credit refuses risky clients (H and the application risk show).
    risk_mix = 0.65 * h + 0.35 * g + 0.55 * rng.standard_normal(n)
    refused = rng.random(n) < sigmoid(_intercept(0.143, 1.0) + 1.0 * risk_mix)
    canceled = ~refused & (rng.random(n) < np.where(cash, 0.42, np.where(consumer, 0.04, 0.2)))
    unused = ~refused & ~canceled & consumer & (rng.random(n) < 0.04)
    approved = ~(refused | canceled | unused)
    status = np.select([approved, canceled, refused], [0, 1, 2], 3).astype(np.int16)

    # When: approved applications are older than the others (clients shop around just
    # before the current application); the mixture keeps the profile's marginal.
    decision = np.round(
        quantile_function(PREV, "DAYS_DECISION")(_decision_level(rng, approved, revolving))
    )
    adult = -(age_days - 18 * 365)
    decision = np.clip(decision, np.maximum(adult, -2922), -1).astype(np.int64)

    # Amounts: consumer loans buy cheaper goods than cash loans lend.
    z_amount = latent(rng, n, (0.4, z_income))
    u_amount = ndtr(z_amount)
    goods_qf = quantile_function(PREV, "AMT_GOODS_PRICE")
    consumer_goods = np.round(goods_qf(0.72 * u_amount) * 2) / 2
    cash_asked = round_to(goods_qf(0.4 + 0.6 * u_amount), 4_500.0)
    cash_asked = np.maximum(cash_asked, 22_500.0)
    down_rate = np.where(
        rng.random(n) < 0.45,
        quantile_function(PREV, "RATE_DOWN_PAYMENT")(0.5 + 0.5 * rng.random(n)),
        0.0,
    )
    down = np.round(consumer_goods * down_rate, 3)
    ratio = np.select(
        [rng.random(n) < 0.4, rng.random(n) < 0.75],
        [np.ones(n), 1.0 + rng.uniform(0.03, 0.2, n)],
        rng.uniform(0.5, 0.95, n),
    )
    # Card limits: mostly small (median 112,500), larger with income.
    limit_idx = np.clip(
        (ndtr(latent(rng, n, (0.5, z_income))) ** 1.5 * (len(_CARD_LIMITS) - 1)).astype(int),
        0,
        len(_CARD_LIMITS) - 1,
    )
    card_limit = _CARD_LIMITS[limit_idx]

    application = np.select([cash, consumer], [cash_asked, consumer_goods], card_limit)
    application = np.where(revolving & (rng.random(n) < 0.5), 0.0, application)
    credit = np.select(
        [cash, consumer],
        [round_to(cash_asked * ratio, 0.5), np.round(consumer_goods - down, 3)],
        card_limit,
    )
    goods = np.select([cash, consumer], [cash_asked, consumer_goods], np.nan)
    goods = np.where(revolving & (rng.random(n) < 0.3), card_limit, goods)
    cash_cancel = cash & canceled
    application = np.where(cash_cancel, 0.0, application)
    credit = np.where(cash_cancel, 0.0, credit)
    goods = np.where(cash_cancel, np.nan, goods)

    # Terms: longer for larger amounts; yield priced on risk; revolving loans have none.
    term_u = ndtr(latent(rng, n, (0.5, z_amount)))
    term = np.where(
        cash,
        _CASH_TERMS[categorical_from_uniform(term_u, _CASH_TERM_SHARES)],
        _CONSUMER_TERMS[categorical_from_uniform(term_u, _CONSUMER_TERM_SHARES)],
    )
    term = np.where(revolving, 0.0, term)
    # Cash loans are sold to existing clients (x-sell) or in the street (walk-in, pricier).
    x_sell = cash & ~canceled & (rng.random(n) < 0.78)
    walk_in = cash & ~canceled & ~x_sell
    yield_u = ndtr(latent(rng, n, (0.45, risk_mix)))  # risk_mix has sd ~0.99
    yield_code = np.select(
        [x_sell, walk_in],
        [
            1 + categorical_from_uniform(yield_u, [0.4, 0.4, 0.2]),
            1 + categorical_from_uniform(yield_u, [0.19, 0.26, 0.55]),
        ],
        categorical_from_uniform(yield_u, [0.1, 0.3, 0.33, 0.27]),
    )
    no_terms = revolving | canceled
    yield_code = np.where(no_terms, 4, yield_code)
    rate = _MONTHLY_RATE[yield_code]
    safe_term = np.maximum(term, 1.0)
    safe_rate = np.where(rate > 0, rate, 0.01)
    annuity = np.where(
        rate > 0,
        credit * safe_rate / (1.0 - (1.0 + safe_rate) ** -safe_term),
        credit / safe_term,
    )
    annuity = np.where(revolving, card_limit * 0.05, np.round(annuity, 3))
    annuity = np.where(canceled, np.nan, annuity)
    term_col = np.where(canceled, np.nan, term)

    # Product descriptors, consistent with the contract type.
    goods_shares = {
        k: v for k, v in level_shares(PREV, "NAME_GOODS_CATEGORY").items() if k != "XNA"
    }
    goods_cat = sample_categorical(rng, goods_shares, n)
    goods_levels = (*goods_cat.levels, "XNA")
    goods_codes = np.where(consumer, goods_cat.codes, len(goods_levels) - 1).astype(np.int16)
    group_of = np.array([_GOODS_GROUP.get(k, ("other", "Industry"))[0] for k in goods_cat.levels])
    seller_of = np.array(
        [
            _SELLER_INDUSTRIES.index(_GOODS_GROUP.get(k, ("other", "Industry"))[1])
            for k in goods_cat.levels
        ]
    )
    goods_group = group_of[goods_cat.codes]
    seller = np.where(consumer, seller_of[goods_cat.codes], 0).astype(np.int16)

    card_street = revolving & (rng.random(n) < 0.55)
    product_type = np.select(
        [x_sell | (revolving & ~card_street), walk_in | card_street], [1, 2], 0
    )
    yield_word = np.array(["low", "low", "middle", "high", "low"])[yield_code]
    combination = np.zeros(n, dtype=np.int16)
    lookup = {name: i for i, name in enumerate(_COMBINATIONS)}
    for word in ("low", "middle", "high"):
        combination[x_sell & (yield_word == word)] = lookup[f"Cash X-Sell: {word}"]
        combination[walk_in & (yield_word == word)] = lookup[f"Cash Street: {word}"]
    combination[card_street] = lookup["Card Street"]
    combination[revolving & ~card_street] = lookup["Card X-Sell"]
    free = yield_code == 0
    for group in ("household", "mobile", "industry", "other"):
        sel = consumer & (goods_group == group)
        with_name = f"POS {group} with interest"
        without = (
            "POS others without interest" if group == "other" else f"POS {group} without interest"
        )
        combination[sel & ~free] = lookup[with_name]
        combination[sel & free] = lookup[without]

    portfolio = np.select(
        [
            consumer & (goods_group == "other") & (rng.random(n) < 0.01),
            consumer & ~canceled,
            revolving & ~canceled,
            cash & ~canceled,
        ],
        [4, 0, 2, 1],
        3,
    ).astype(np.int16)
    channel = _channel(rng, cash, consumer)
    seller_area = np.where(
        consumer,
        np.round(quantile_function(PREV, "SELLERPLACE_AREA")(0.5 + 0.5 * rng.random(n))),
        np.where(rng.random(n) < 0.6, -1, 0),
    ).astype(np.int64)
    purpose_shares = {
        k: v
        for k, v in level_shares(PREV, "NAME_CASH_LOAN_PURPOSE").items()
        if k not in ("XAP", "XNA")
    }
    purpose = sample_categorical(rng, purpose_shares, n)
    purpose_levels = (*purpose.levels, "XAP", "XNA")
    purpose_codes = np.where(
        cash,
        np.where(rng.random(n) < 0.13, purpose.codes, len(purpose_levels) - 1),
        len(purpose_levels) - 2,
    ).astype(np.int16)
    reject = categorical_from_uniform(rng.random(n), _REJECT_SHARES)
    reject_levels = (*_REJECT, "XAP", "CLIENT")
    reject_codes = np.select(
        [refused, unused], [reject, len(reject_levels) - 1], len(reject_levels) - 2
    )
    payment_type = np.select(
        [approved & ~revolving, refused & (rng.random(n) < 0.5)],
        [
            categorical_from_uniform(rng.random(n), [0.985, 0.013, 0.002]),
            np.zeros(n, dtype=np.int16),
        ],
        3,
    ).astype(np.int16)
    suite_missing = rng.random(n) < np.select(
        [canceled, consumer, x_sell, walk_in], [0.95, 0.12, 0.75, 0.5], 0.8
    )
    suite = sample_categorical(rng, level_shares(PREV, "NAME_TYPE_SUITE"), n)
    suite_codes = np.where(suite_missing, -1, suite.codes).astype(np.int16)

    # The client's first application (earliest decision) usually made them a new client.
    order = np.lexsort((decision, owner))
    first = np.zeros(n, dtype=bool)
    if n:
        sorted_owner = owner[order]
        first[order[np.r_[True, sorted_owner[1:] != sorted_owner[:-1]]]] = True
    client_type = np.where(
        first & (rng.random(n) < 0.88),
        1,
        categorical_from_uniform(rng.random(n), [0.875, 0.0, 0.12, 0.005]),
    ).astype(np.int16)

    rate_primary = rng.random(n) < 0.0036
    down_payment = np.where(consumer, down, np.nan)

    apps: dict[str, Column] = {
        "SK_ID_PREV": ids,
        "SK_ID_CURR": client_id,
        "NAME_CONTRACT_TYPE": ctype,
        "AMT_ANNUITY": annuity,
        "AMT_APPLICATION": application,
        "AMT_CREDIT": credit,
        "AMT_DOWN_PAYMENT": down_payment,
        "AMT_GOODS_PRICE": goods,
        "WEEKDAY_APPR_PROCESS_START": sample_categorical(
            rng, level_shares(PREV, "WEEKDAY_APPR_PROCESS_START"), n
        ),
        "HOUR_APPR_PROCESS_START": np.clip(
            np.round(quantile_function(PREV, "HOUR_APPR_PROCESS_START")(rng.random(n))), 0, 23
        ).astype(np.int64),
        "FLAG_LAST_APPL_PER_CONTRACT": Cat((rng.random(n) < 0.995).astype(np.int16), ("N", "Y")),
        "NFLAG_LAST_APPL_IN_DAY": (rng.random(n) < 0.996).astype(np.int64),
        "RATE_DOWN_PAYMENT": np.where(consumer, down_rate, np.nan),
        "RATE_INTEREST_PRIMARY": np.where(
            rate_primary, quantile_function(PREV, "RATE_INTEREST_PRIMARY")(rng.random(n)), np.nan
        ),
        "RATE_INTEREST_PRIVILEGED": np.where(
            rate_primary,
            quantile_function(PREV, "RATE_INTEREST_PRIVILEGED")(rng.random(n)),
            np.nan,
        ),
        "NAME_CASH_LOAN_PURPOSE": Cat(purpose_codes, purpose_levels),
        "NAME_CONTRACT_STATUS": Cat(status, _STATUS),
        "DAYS_DECISION": decision,
        "NAME_PAYMENT_TYPE": Cat(
            payment_type,
            (
                "Cash through the bank",
                "Non-cash from your account",
                "Cashless from the account of the employer",
                "XNA",
            ),
        ),
        "CODE_REJECT_REASON": Cat(reject_codes.astype(np.int16), reject_levels),
        "NAME_TYPE_SUITE": Cat(suite_codes, suite.levels),
        "NAME_CLIENT_TYPE": Cat(client_type, ("Repeater", "New", "Refreshed", "XNA")),
        "NAME_GOODS_CATEGORY": Cat(goods_codes, goods_levels),
        "NAME_PORTFOLIO": Cat(portfolio, ("POS", "Cash", "Cards", "XNA", "Cars")),
        "NAME_PRODUCT_TYPE": Cat(product_type.astype(np.int16), ("XNA", "x-sell", "walk-in")),
        "CHANNEL_TYPE": channel,
        "SELLERPLACE_AREA": seller_area,
        "NAME_SELLER_INDUSTRY": Cat(seller, _SELLER_INDUSTRIES),
        "CNT_PAYMENT": term_col,
        "NAME_YIELD_GROUP": Cat(yield_code.astype(np.int16), _YIELDS),
        "PRODUCT_COMBINATION": Cat(combination, _COMBINATIONS),
        "NFLAG_INSURED_ON_APPROVAL": np.where(
            approved,
            (rng.random(n) < np.where(cash, 0.55, np.where(consumer, 0.3, 0.0))).astype(float),
            np.nan,
        ),
    }

    # Which approved applications were drawn (and so have a history).
    drawn = approved & (rng.random(n) < 0.95)
    for c in (
        "DAYS_FIRST_DRAWING",
        "DAYS_FIRST_DUE",
        "DAYS_LAST_DUE_1ST_VERSION",
        "DAYS_LAST_DUE",
        "DAYS_TERMINATION",
    ):
        apps[c] = np.full(n, np.nan)
    apps["NFLAG_INSURED_ON_APPROVAL"] = np.where(drawn, apps["NFLAG_INSURED_ON_APPROVAL"], np.nan)

    behaviour = h + 0.5 * rng.standard_normal(n)
    instalment_loan = drawn & ~revolving
    sel = np.flatnonzero(instalment_loan)
    loans = {
        "row": sel,
        "decision": decision[sel].astype(np.float64),
        "term": term[sel],
        "credit": credit[sel],
        "annuity": annuity[sel],
        "behaviour": behaviour[sel],
        "consumer": consumer[sel].astype(np.float64),
    }
    sel = np.flatnonzero(drawn & revolving)
    cards = {
        "row": sel,
        "decision": decision[sel].astype(np.float64),
        "limit": card_limit[sel],
        "behaviour": behaviour[sel],
    }
    return apps, loans, cards


#: Approved applications' decision levels have density 1.5 - u on [0, 1] (older); the
#: others' density makes the mixture (about 64 % approved) uniform again.
_APPROVED_SHARE = 0.636
_OLDER = 0.5


def _decision_level(
    rng: np.random.Generator, approved: BoolArray, revolving: BoolArray
) -> FloatArray:
    """Probability level of DAYS_DECISION (0 = oldest) by inverse CDF of a linear density.

    Approved cards are older still (credit_card_balance reaches further back than POS).
    """
    v = rng.random(len(approved))
    # Approved: f(u) = 1 + c (1 - 2u); others: f(u) = 1 - c' (1 - 2u), c' = c a / (1 - a).
    c_other = _OLDER * _APPROVED_SHARE / (1.0 - _APPROVED_SHARE)
    c = np.where(approved, np.where(revolving, 0.6, _OLDER), -min(c_other, 1.0))
    # F(u) = (1 + c) u - c u^2 = v  ->  u = ((1 + c) - sqrt((1 + c)^2 - 4 c v)) / (2 c)
    safe = np.where(np.abs(c) < 1e-9, 1e-9, c)
    u = ((1 + safe) - np.sqrt((1 + safe) ** 2 - 4 * safe * v)) / (2 * safe)
    return np.clip(u, 0.0, 1.0)


def _channel(rng: np.random.Generator, cash: BoolArray, consumer: BoolArray) -> Cat:
    levels = (
        "Credit and cash offices",
        "Country-wide",
        "Stone",
        "Regional / Local",
        "Contact center",
        "AP+ (Cash loan)",
        "Channel of corporate sales",
        "Car dealer",
    )
    n = len(cash)
    u = rng.random(n)
    by_cash = categorical_from_uniform(u, [0.86, 0.0, 0.0, 0.0, 0.065, 0.07, 0.005, 0.0])
    by_consumer = categorical_from_uniform(u, [0.0, 0.6, 0.27, 0.125, 0.0, 0.0, 0.0, 0.005])
    by_card = categorical_from_uniform(u, [0.6, 0.25, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0])
    codes = np.select([cash, consumer], [by_cash, by_consumer], by_card).astype(np.int16)
    return Cat(codes, levels)


def _instalment_history(
    rng: np.random.Generator, loans: dict[str, FloatArray], apps: dict[str, Column]
) -> tuple[dict[str, Column], dict[str, Column]]:
    """POS_CASH_balance and installments_payments of the drawn instalment loans."""
    row = loans["row"].astype(np.int64)
    k = len(row)
    decision = loans["decision"]
    term = loans["term"].astype(np.int64)
    annuity = loans["annuity"]
    hb = loans["behaviour"]

    first_due = decision + rng.integers(20, 46, k)
    step = np.round(DAYS_PER_MONTH * np.arange(0, 121)).astype(np.int64)  # day offsets
    last_due_planned = first_due + step[term - 1]
    # Instalments due before the application (day < 0).
    n_due = np.minimum(np.searchsorted(step, -first_due, side="left"), term)
    n_due = np.where(first_due < 0, n_due, 0)

    early = (term >= 2) & (rng.random(k) < 0.4)
    early_at = np.where(early, 1 + np.floor(rng.random(k) * (term - 1)).astype(np.int64), term)
    stop = (n_due >= 1) & (rng.random(k) < sigmoid(-5.9 + 1.2 * hb))
    stop_at = np.where(stop, 1 + np.floor(rng.random(k) * np.maximum(n_due, 1)).astype(np.int64), 0)
    end_k = np.minimum(early_at, term)
    last_due = first_due + step[end_k - 1]
    completed = ~stop & (last_due < 0)

    ids = np.asarray(apps["SK_ID_PREV"])[row]
    client = np.asarray(apps["SK_ID_CURR"])[row]
    apps["DAYS_FIRST_DRAWING"][row] = DAYS_SENTINEL
    apps["DAYS_FIRST_DUE"][row] = first_due
    apps["DAYS_LAST_DUE_1ST_VERSION"][row] = last_due_planned
    termination = last_due + rng.integers(0, 12, k)
    apps["DAYS_LAST_DUE"][row] = np.where(completed, last_due, DAYS_SENTINEL)
    apps["DAYS_TERMINATION"][row] = np.where(
        completed & (termination < 0), termination, DAYS_SENTINEL
    )

    # ---- installments_payments: one row per instalment due and paid (some split).
    paid_count = np.where(stop, stop_at - 1, np.minimum(n_due, end_k))
    loan, pos = expand(paid_count)
    number = pos + 1
    day = first_due[loan] + step[pos]
    late_rate = sigmoid(-3.5 + 1.1 * hb)
    short_rate = sigmoid(-4.0 + 0.8 * hb)
    m = len(loan)
    late = rng.random(m) < late_rate[loan]
    late_days = np.minimum(rng.geometric(np.clip(0.2 - 0.04 * hb[loan], 0.03, 0.5)), 400)
    delay = np.where(late, late_days, 1 - rng.geometric(0.17, m))
    entry = np.minimum(day + delay, -1)
    amount = np.round(annuity[loan], 3)
    payoff = early[loan] & (number == early_at[loan])
    remaining = annuity[loan] * (term[loan] - number + 1) * 0.93
    amount = np.where(payoff, np.round(remaining, 3), amount)
    version = np.where(payoff, 2.0, 1.0)
    restructured = rng.random(k) < 0.04
    restructure_at = 1 + np.floor(rng.random(k) * np.maximum(term, 1)).astype(np.int64)
    version = np.where(restructured[loan] & (number >= restructure_at[loan]), version + 1, version)
    short = rng.random(m) < short_rate[loan]
    share = np.where(short, rng.uniform(0.1, 0.95, m), 1.0)
    split = ~short & (rng.random(m) < 0.34)
    share = np.where(split, rng.uniform(0.2, 0.8, m), share)
    payment = np.round(amount * share, 3)
    # The rest comes in a second row: for a split payment by the due date (or with a late
    # first part), for a short one some days later, often late.
    second = split | (short & (rng.random(m) < 0.6))
    s_idx = np.flatnonzero(second)
    later = entry[s_idx] + rng.integers(0, 25, len(s_idx))
    on_time = np.minimum(later, np.maximum(day[s_idx], entry[s_idx]))
    second_entry = np.minimum(np.where(split[s_idx], on_time, later), -1)
    # Days past due of an instalment: its last payment against its due date.
    days_late = entry - day
    days_late[s_idx] = np.maximum(days_late[s_idx], second_entry - day[s_idx])
    inst = {
        "SK_ID_PREV": np.concatenate([ids[loan], ids[loan[s_idx]]]),
        "SK_ID_CURR": np.concatenate([client[loan], client[loan[s_idx]]]),
        "NUM_INSTALMENT_VERSION": np.concatenate([version, version[s_idx]]),
        "NUM_INSTALMENT_NUMBER": np.concatenate([number, number[s_idx]]).astype(np.int64),
        "DAYS_INSTALMENT": np.concatenate([day, day[s_idx]]).astype(np.float64),
        "DAYS_ENTRY_PAYMENT": np.concatenate([entry, second_entry]).astype(np.float64),
        "AMT_INSTALMENT": np.concatenate([amount, amount[s_idx]]),
        "AMT_PAYMENT": np.concatenate(
            [payment, np.round(np.maximum(amount[s_idx] - payment[s_idx], 0.0), 3)]
        ),
    }

    # ---- POS_CASH_balance: one row per month from the decision to the end or month -1.
    # Reported from the first due month (a 'Signed' month before it for some loans).
    month_dec = np.floor(decision / DAYS_PER_MONTH).astype(np.int64)
    month_first_due = np.floor(first_due / DAYS_PER_MONTH).astype(np.int64)
    signed_first = rng.random(k) < 0.3
    pos_start = np.minimum(np.maximum(month_first_due - signed_first, month_dec), -1)
    month_end = np.where(
        completed, np.minimum(np.floor(last_due / DAYS_PER_MONTH) + 1, -1), -1
    ).astype(np.int64)
    months = np.maximum(month_end - pos_start + 1, 1)
    p_loan, p_pos = expand(months)
    month = pos_start[p_loan] + p_pos
    due_by = np.clip(month - month_first_due[p_loan] + 1, 0, term[p_loan])
    paid_off = month > np.floor(last_due[p_loan] / DAYS_PER_MONTH)
    future = np.where(paid_off & completed[p_loan], 0, term[p_loan] - due_by).astype(np.float64)
    future = np.where(early[p_loan] & paid_off, 0.0, future)

    dpd = np.zeros(len(month), dtype=np.int64)
    offsets = np.cumsum(months) - months
    late_idx = np.flatnonzero(days_late > 0)
    inst_month = np.floor(day[late_idx] / DAYS_PER_MONTH).astype(np.int64)
    target = offsets[loan[late_idx]] + inst_month - pos_start[loan[late_idx]]
    np.maximum.at(dpd, target, days_late[late_idx].astype(np.int64))
    # A loan whose client stopped paying: days past the first unpaid due date grow monthly.
    stop_day = first_due + step[np.maximum(stop_at, 1) - 1]
    overdue = np.floor((month + 1) * DAYS_PER_MONTH) - stop_day[p_loan]
    stopped_row = stop[p_loan] & (overdue > 0)
    dpd = np.where(stopped_row, overdue.astype(np.int64), dpd)
    dpd_def = np.where(stopped_row | (dpd > 30), dpd, 0)

    status = np.zeros(len(month), dtype=np.int16)  # Active
    last_row = p_pos == months[p_loan] - 1
    status[last_row & completed[p_loan]] = 1
    first_row = p_pos == 0
    signed = first_row & (month < month_first_due[p_loan])
    status[signed] = 2
    status[stopped_row & (overdue > 120) & (rng.random(k) < 0.1)[p_loan]] = 3
    returned = (
        last_row
        & completed[p_loan]
        & (loans["consumer"][p_loan] > 0)
        & (rng.random(len(month)) < 0.01)
    )
    status[returned] = 4
    approved_row = first_row & (rng.random(len(month)) < 0.004)
    status[approved_row] = 5
    cnt_instalment = np.where(approved_row, np.nan, term[p_loan].astype(np.float64))
    pos = {
        "SK_ID_PREV": ids[p_loan],
        "SK_ID_CURR": client[p_loan],
        "MONTHS_BALANCE": month,
        "CNT_INSTALMENT": cnt_instalment,
        "CNT_INSTALMENT_FUTURE": np.where(approved_row, np.nan, future),
        "NAME_CONTRACT_STATUS": Cat(status, _POS_STATUS),
        "SK_DPD": dpd,
        "SK_DPD_DEF": dpd_def.astype(np.int64),
    }
    return pos, inst


def _card_history(
    rng: np.random.Generator, cards: dict[str, FloatArray], apps: dict[str, Column]
) -> tuple[dict[str, Column], dict[str, Column]]:
    """credit_card_balance of the drawn revolving loans, and their repayments."""
    row = cards["row"].astype(np.int64)
    k = len(row)
    decision = cards["decision"]
    hb = cards["behaviour"]
    # Granted limits are less spread than the requested ones (real quartiles 45,000 / 180,000).
    base_limit = np.maximum(112_500.0 * (cards["limit"] / 112_500.0) ** 0.75, 22_500.0)

    month_start = np.floor(decision / DAYS_PER_MONTH).astype(np.int64)
    months = -month_start  # rows from the decision month to month -1
    closed = rng.random(k) < 0.12
    close_after = np.where(closed, np.floor(rng.random(k) * months).astype(np.int64), months)
    # Many cards lie unused (zero balance); a few were never activated (zero limit).
    dormant = rng.random(k) < 0.06
    user = ~dormant & (rng.random(k) < sigmoid(0.8 + 0.6 * hb))
    utilisation = sigmoid(0.4 + 1.0 * hb + 0.6 * rng.standard_normal(k))
    bad = user & (rng.random(k) < sigmoid(-5.2 + 1.3 * hb))
    bad_from = np.floor(rng.random(k) * np.maximum(close_after, 1)).astype(np.int64)
    detail_missing = rng.random(k) < 0.2
    unknown_months = rng.poisson(3.0, k)
    raise_at = np.where(rng.random(k) < 0.3, np.floor(rng.random(k) * months), 10_000)

    ids = np.asarray(apps["SK_ID_PREV"])[row]
    client = np.asarray(apps["SK_ID_CURR"])[row]
    first_drawing = decision + rng.integers(0, 31, k)
    apps["DAYS_FIRST_DRAWING"][row] = np.where(rng.random(k) < 0.4, first_drawing, DAYS_SENTINEL)
    apps["DAYS_FIRST_DUE"][row] = np.where(
        rng.random(k) < 0.55, decision + rng.integers(10, 41, k), DAYS_SENTINEL
    )
    apps["DAYS_LAST_DUE_1ST_VERSION"][row] = np.where(
        rng.random(k) < 0.8, DAYS_SENTINEL, decision + rng.integers(300, 900, k)
    )
    close_day = np.floor((month_start + close_after) * DAYS_PER_MONTH) + 15
    apps["DAYS_LAST_DUE"][row] = np.where(closed, close_day, DAYS_SENTINEL)
    apps["DAYS_TERMINATION"][row] = np.where(
        closed, np.minimum(close_day + rng.integers(0, 30, k), -1), DAYS_SENTINEL
    )

    c, idx = expand(np.maximum(months, 1))
    month = month_start[c] + idx
    n = len(month)
    is_open = idx < close_after[c]
    limit = np.where(idx >= raise_at[c], base_limit[c] * 1.5, base_limit[c])
    limit = round_to(limit, 4_500.0)
    limit = np.where(((idx == 0) & (rng.random(n) < 0.3)) | dormant[c], 0.0, limit)
    active = is_open & user[c] & (idx > 0)
    util = np.clip(utilisation[c] + 0.15 * rng.standard_normal(n), 0.0, 1.05)
    balance = np.where(active, np.round(limit * util, 3), 0.0)
    # Most months of a card in use carry a balance but no new drawing.
    draws = active & (rng.random(n) < 0.35)
    atm = draws & (rng.random(n) < 0.3 + 0.5 * utilisation[c])
    cnt_atm = np.where(atm, 1 + rng.poisson(0.2 + 1.0 * utilisation[c]), 0)
    cnt_pos = np.where(draws & ~atm, 1 + rng.poisson(0.5 + 1.5 * (1 - utilisation[c])), 0)
    cnt_other = np.where(draws & (rng.random(n) < 0.01), 1, 0)
    amt_atm = cnt_atm * round_to(limit * rng.uniform(0.03, 0.15, n), 450.0)
    amt_pos = np.round(cnt_pos * rng.gamma(1.5, 2_500.0, n), 3)
    amt_other = cnt_other * round_to(limit * rng.uniform(0.05, 0.3, n), 4_500.0)
    drawings = amt_atm + amt_pos + amt_other
    min_payment = np.round(np.maximum(balance * 0.05, 0.0), 3)
    # Payment: most pay the minimum or more; risky clients sometimes less, bad ones nothing.
    pays = active & (balance > 0)
    under = rng.random(n) < sigmoid(-3.2 + 1.0 * hb[c])
    factor = np.where(under, rng.uniform(0.0, 0.9, n), 1.0 + rng.gamma(0.8, 1.5, n))
    payment = np.where(pays, np.round(np.minimum(min_payment * factor, balance), 3), 0.0)
    going_bad = bad[c] & (idx >= bad_from[c]) & is_open
    payment = np.where(going_bad, 0.0, payment)
    paid = payment > 0
    dpd = np.where(pays & under & ~going_bad, rng.integers(1, 31, n), 0)
    dpd = np.where(going_bad, 30 * (idx - bad_from[c]) + rng.integers(1, 31, n), dpd)
    dpd_def = np.where(going_bad | (dpd > 30), dpd, np.where(dpd > 0, rng.integers(0, 2, n), 0))
    counts = np.maximum(months, 1)
    paid_so_far = np.cumsum(paid)
    starts = np.cumsum(counts) - counts
    before = np.where(starts > 0, paid_so_far[np.maximum(starts - 1, 0)], 0)
    mature = (paid_so_far - before[c]).astype(np.float64)
    no_regularity = idx < unknown_months[c]
    status = np.where(is_open, 0, 1).astype(np.int16)
    status[(idx == 0) & (rng.random(n) < 0.05)] = 2
    detail = ~detail_missing[c]

    card_rows: dict[str, Column] = {
        "SK_ID_PREV": ids[c],
        "SK_ID_CURR": client[c],
        "MONTHS_BALANCE": month.astype(np.int64),
        "AMT_BALANCE": balance,
        "AMT_CREDIT_LIMIT_ACTUAL": limit.astype(np.int64),
        "AMT_DRAWINGS_ATM_CURRENT": np.where(detail, amt_atm, np.nan),
        "AMT_DRAWINGS_CURRENT": np.round(drawings, 3),
        "AMT_DRAWINGS_OTHER_CURRENT": np.where(detail, amt_other, np.nan),
        "AMT_DRAWINGS_POS_CURRENT": np.where(detail, amt_pos, np.nan),
        "AMT_INST_MIN_REGULARITY": np.where(no_regularity, np.nan, min_payment),
        "AMT_PAYMENT_CURRENT": np.where(~paid & (rng.random(n) < 0.4), np.nan, payment),
        "AMT_PAYMENT_TOTAL_CURRENT": payment,
        "AMT_RECEIVABLE_PRINCIPAL": np.round(balance * 0.96, 3),
        "AMT_RECIVABLE": balance,
        "AMT_TOTAL_RECEIVABLE": balance,
        "CNT_DRAWINGS_ATM_CURRENT": np.where(detail, cnt_atm.astype(float), np.nan),
        "CNT_DRAWINGS_CURRENT": (cnt_atm + cnt_pos + cnt_other).astype(np.int64),
        "CNT_DRAWINGS_OTHER_CURRENT": np.where(detail, cnt_other.astype(float), np.nan),
        "CNT_DRAWINGS_POS_CURRENT": np.where(detail, cnt_pos.astype(float), np.nan),
        "CNT_INSTALMENT_MATURE_CUM": np.where(no_regularity, np.nan, mature),
        "NAME_CONTRACT_STATUS": Cat(status, _CARD_STATUS),
        "SK_DPD": dpd.astype(np.int64),
        "SK_DPD_DEF": dpd_def.astype(np.int64),
    }

    # Repayments of the card: version 0 instalments, numbered in order.
    p_idx = np.flatnonzero(paid)
    number = mature[p_idx].astype(np.int64)
    due_day = np.floor(month[p_idx] * DAYS_PER_MONTH) + 25
    late = dpd[p_idx] > 0
    entry = np.minimum(
        np.where(late, due_day + dpd[p_idx], due_day - rng.integers(0, 20, len(p_idx))), -1
    )
    card_inst: dict[str, Column] = {
        "SK_ID_PREV": ids[c[p_idx]],
        "SK_ID_CURR": client[c[p_idx]],
        "NUM_INSTALMENT_VERSION": np.zeros(len(p_idx)),
        "NUM_INSTALMENT_NUMBER": number,
        "DAYS_INSTALMENT": np.minimum(due_day, -1).astype(np.float64),
        "DAYS_ENTRY_PAYMENT": entry.astype(np.float64),
        "AMT_INSTALMENT": np.where(min_payment[p_idx] > 0, min_payment[p_idx], payment[p_idx]),
        "AMT_PAYMENT": payment[p_idx],
    }
    return card_rows, card_inst
