"""Implied interest rate and term of a loan repaid by equal monthly instalments.

A credit ``C`` repaid by ``n`` monthly instalments ``A`` at the monthly rate ``r`` satisfies
``A = C r / (1 - (1 + r)^-n)``. Given ``q = A / C`` and ``n``, the rate is the root of
``p(r) = r / (1 - (1 + r)^-n) = q``: ``p`` is increasing and convex, and ``p(q) > q``, so Newton's
method started at ``r = q`` goes down to the root without overshooting; :data:`NEWTON_STEPS` steps
are fixed (no convergence test), so every row costs the same and gives the same bits alone or in
a batch. ``sql/previous_rates.sql`` writes the same steps out in SQL for previous applications.

The term of the current application is not given: :func:`implied_term` infers it, see there.

Only ``+ - * /`` are used (powers by repeated squaring): IEEE arithmetic gives the same bits on
every machine and for any array length, unlike ``pow``, whose last bit may vary between libms.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray

#: Terms in months of Home Credit's cash loans: the frequent CNT_PAYMENT values of previous cash
#: loans, in the Kaggle data as in the twin.
STANDARD_TERMS: tuple[int, ...] = (6, 10, 12, 15, 18, 24, 30, 36, 42, 48, 54, 60)
#: The yearly rate the inferred term is chosen to come closest to: the middle of the rates the
#: lender prices on its cash loans (16 % +- 3.5 % in the twin; recalibrate on real data with the
#: median implied rate of approved cash loans, ``PREV_APPROVED_IMPLIED_RATE_MEAN``).
REFERENCE_YEARLY_RATE = 0.16
#: Newton steps: from r = q, five reach 1e-10 of the yearly rate for rates of 0.1 % to 1,000 %
#: a year and terms of 1 to 120 months (the rounding of the formula itself); one more for margin.
NEWTON_STEPS = 6


def _power(base: Array, exponent: Array) -> Array:
    """``base ** exponent`` for whole exponents >= 0, by repeated squaring (multiplications only).

    >>> _power(np.array([[2.0, 1.5]]), np.array([10, 3])).tolist()
    [[1024.0, 3.375]]
    """
    result = np.ones_like(base)
    square = base
    remaining = np.asarray(exponent, dtype=np.int64)
    while remaining.any():
        result = np.where(remaining % 2 == 1, result * square, result)
        square = square * square
        remaining = remaining // 2
    return result


def implied_monthly_rate(payment_rate: Array, term: Array) -> Array:
    """Monthly rate of a loan whose instalment is ``payment_rate`` times the credit, over ``term``.

    Parameters
    ----------
    payment_rate
        Instalment / credit amount (``q``); arrays broadcast against ``term``.
    term
        Number of monthly instalments, whole and positive.

    Returns
    -------
    numpy.ndarray
        The monthly rate ``r``; 0 when the instalments do not repay more than the credit
        (``q * term <= 1``: no interest), missing when ``q`` is missing or not positive.

    Examples
    --------
    A 12-month loan at 18 % a year (1.5 % a month):

    >>> q = 0.015 / (1 - 1.015 ** -12)
    >>> rate = implied_monthly_rate(np.array([q, 1 / 12, np.nan]), np.array([12, 12, 12]))
    >>> round(float(rate[0]) * 12, 12), rate[1:].tolist()
    (0.18, [0.0, nan])
    """
    q = np.asarray(payment_rate, dtype=np.float64)
    n = np.asarray(term, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        charged = q * n > 1.0
        known = q > 0
    # Rows without interest solve a stand-in with a root (their result is replaced): otherwise
    # the steps would run below r = -1 into infinities.
    q = np.where(charged, q, 2.0)
    r = q
    for _ in range(NEWTON_STEPS):
        growth = 1.0 + r
        discount = 1.0 / _power(growth, n)  # (1 + r)^-n
        unpaid = 1.0 - discount
        slope = (unpaid - r * n * discount / growth) / (unpaid * unpaid)
        r = r - (r / unpaid - q) / slope
    return np.where(known, np.where(charged, r, 0.0), np.nan)


def implied_term(credit: Array, annuity: Array) -> tuple[Array, Array]:
    """The term (months) and yearly rate of loans whose term is unknown.

    Rule: among :data:`STANDARD_TERMS`, the term whose implied yearly rate is closest to
    :data:`REFERENCE_YEARLY_RATE`; terms that would need a rate <= 0 are excluded. Why: the
    instalment ratio ``q`` alone fixes the rate at each term, and the rate climbs steeply with the
    term (``q`` of 12 months at 16 %: 50 % at 15 months, no interest at 10), so standard terms
    are several rate points apart while priced rates spread little around their middle; the
    closest one is the right term for 88 % of the twin's contracts, and its rate follows the
    true rate (correlation 0.73). The smallest term with a positive rate, the other obvious rule,
    is right for 63 % only: long loans carry enough interest to fit a shorter term at a few %.

    Parameters
    ----------
    credit, annuity
        Credit amounts and their monthly instalments.

    Returns
    -------
    tuple of numpy.ndarray
        Term in months and yearly rate; both missing when an amount is missing or not positive,
        or when no standard term gives a positive rate (a term over 60 months).

    Examples
    --------
    A 24-month loan at 15 % a year, and one whose instalments never repay it within 60 months:

    >>> credit = np.array([100_000.0, 100_000.0])
    >>> annuity = np.array([100_000 * 0.0125 / (1 - 1.0125 ** -24), 1_000.0])
    >>> term, rate = implied_term(credit, annuity)
    >>> term.tolist(), round(float(rate[0]), 9), bool(np.isnan(rate[1]))
    ([24.0, nan], 0.15, True)
    """
    credit = np.asarray(credit, dtype=np.float64)
    annuity = np.asarray(annuity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where((credit > 0) & (annuity > 0), annuity / credit, np.nan)
    # At a given q the rate rises with the term: the closest to the reference is one of the two
    # terms around the one where it would equal the reference, the only two solved. Term k gives
    # a rate >= the reference when q >= its instalment ratio at the reference rate.
    terms = np.asarray(STANDARD_TERMS, dtype=np.int64)
    monthly = REFERENCE_YEARLY_RATE / 12.0
    at_reference = monthly / (1.0 - 1.0 / _power(np.full(len(terms), 1.0 + monthly), terms))
    upper = np.searchsorted(-at_reference, -np.nan_to_num(q, nan=np.inf), side="left")
    candidates = np.stack([upper - 1, upper], axis=1)
    usable = (candidates >= 0) & (candidates < len(terms)) & ~np.isnan(q)[:, None]
    term = terms[np.clip(candidates, 0, len(terms) - 1)]
    with np.errstate(invalid="ignore"):
        usable &= q[:, None] * term > 1.0  # a rate <= 0: no such loan
    yearly = 12.0 * implied_monthly_rate(q[:, None], term)
    distance = np.where(usable, np.abs(yearly - REFERENCE_YEARLY_RATE), np.inf)
    best = np.argmin(distance, axis=1)  # a tie goes to the shorter term
    rows = np.arange(len(q))
    found = np.isfinite(distance[rows, best])
    return (
        np.where(found, term[rows, best].astype(np.float64), np.nan),
        np.where(found, yearly[rows, best], np.nan),
    )
