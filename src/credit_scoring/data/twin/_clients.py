"""The clients: application_train/test columns, latent risk and true default probability.

All clients (train and test) are drawn together, in SK_ID_CURR order, from one
population; test clients only differ by the production drift, which grows with their
position in the test batch. Structural facts of the real data are built in, the
marginals come from the profile through a Gaussian copula (latent normal -> quantile
function), and the default probability is a logistic model of what the application
shows (levels, age, employment, terms), three latent risk components that the
EXT_SOURCE scores measure noisily, and a behaviour factor that only the side tables
reveal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.special import betaincinv, ndtr, ndtri

from credit_scoring.data.schema import DAYS_SENTINEL, TABLES

from ._core import (
    KAGGLE_CLIENTS,
    BoolArray,
    Cat,
    Column,
    FloatArray,
    IntArray,
    QuantileFunction,
    categorical_from_uniform,
    child_rng,
    column_profile,
    distinct_ids,
    income_z,
    latent,
    level_shares,
    load_profile,
    logit,
    missing_rate,
    quantile_function,
    round_to,
    sample_categorical,
    sigmoid,
    standardise,
    weighted_levels,
)

APP = "application_train"

#: First real SK_ID_CURR and the width of the real id range (train and test interleaved).
CLIENT_ID_START, CLIENT_ID_SPAN = 100_002, 356_254

#: Levels too rare for a 5,000-row sample, with their count in the full application_train
#: (307,511 rows; Kaggle kernels' value counts). They replace the sample's shares.
RARE_LEVELS: dict[str, dict[str, int]] = {
    "CODE_GENDER": {"XNA": 4},
    "NAME_INCOME_TYPE": {"Unemployed": 22, "Student": 18, "Businessman": 10, "Maternity leave": 5},
    "NAME_FAMILY_STATUS": {"Unknown": 2},
}
#: Rare levels that occur in application_train only (one-hot columns must be aligned).
TRAIN_ONLY_LEVELS: dict[str, tuple[str, ...]] = {
    "CODE_GENDER": ("XNA",),
    "NAME_INCOME_TYPE": ("Maternity leave",),
    "NAME_FAMILY_STATUS": ("Unknown",),
}
#: Income types whose DAYS_EMPLOYED is the 365243 sentinel (and ORGANIZATION_TYPE 'XNA').
NOT_EMPLOYED = ("Pensioner", "Unemployed")

_KAGGLE_TRAIN = TABLES["application_train"].kaggle_rows
#: The one real client with AMT_INCOME_TOTAL = 117,000,000.
INCOME_OUTLIER = 117_000_000.0

#: Shares of clients with any bureau record / any previous application (real: 305,811 and
#: 338,857 of 356,255 clients have rows).
BUREAU_CLIENT_SHARE = 305_811 / KAGGLE_CLIENTS
PREVIOUS_CLIENT_SHARE = 338_857 / KAGGLE_CLIENTS


@dataclass(frozen=True)
class RiskModel:
    """Strength of the default signal (tuned with ``benchmarks/twin_signal.py``).

    logit(p) = b0 + application effects + ``ext_weight`` * (R1 + R2 + R3)
    + ``behaviour_weight`` * H, where EXT_SOURCE_k measures R_k with loading
    ``ext_loading`` and H (corr ``behaviour_rho`` with the R's) shows only in the side
    tables. ``level_shrink`` scales the profile's univariate level effects (they include
    confounding, so the multivariate effect is smaller).
    """

    default_rate: float = 0.0807
    ext_weight: float = 0.55
    ext_loading: float = 0.84
    behaviour_weight: float = 0.95
    behaviour_rho: float = 0.3
    level_shrink: float = 0.85
    age_per_year: float = -0.018
    employment_log_years: float = -0.22
    noise: float = 0.0


RISK = RiskModel()


@dataclass
class Clients:
    """Everything the other tables need to know about the clients (one row each)."""

    ids: IntArray
    is_test: BoolArray
    drift: FloatArray
    columns: dict[str, Column]
    probability: FloatArray
    target: IntArray
    risk: FloatArray  # general application risk G (standard normal)
    behaviour: FloatArray  # behaviour factor H (standard normal), side tables only
    age_days: IntArray
    income: FloatArray
    n_bureau: IntArray
    bureau_monthly: BoolArray
    n_previous: IntArray
    intercept: float = 0.0
    #: Per-driver logit contributions, for inspecting the signal (never written out).
    extras: dict[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


# --------------------------------------------------------------------------- helpers


def _shares_with_rare(column: str) -> dict[str, float]:
    """Profile shares with rare levels set to their full-data frequency."""
    shares = dict(level_shares(APP, column))
    rare = {k: c / _KAGGLE_TRAIN for k, c in RARE_LEVELS.get(column, {}).items()}
    for k in rare:
        shares.pop(k, None)
    total = sum(shares.values())
    scale = (1.0 - sum(rare.values())) / total
    out = {k: v * scale for k, v in shares.items()}
    out.update(rare)
    return out


def _conditional(
    rng: np.random.Generator,
    shares: dict[str, float],
    adjust: FloatArray,
    ref: BoolArray,
    iterations: int = 12,
    fit_rows: int = 20_000,
) -> Cat:
    """Draw levels whose odds shift row by row (``adjust``: rows x levels) while the
    overall shares stay those given: level intercepts are refitted until the average
    training-row probability matches the share (iterative proportional fitting, on an
    evenly spaced subsample of the training rows: plenty for a few dozen intercepts)."""
    levels = tuple(shares)
    target = np.array([shares[k] for k in levels])
    base = np.log(target)
    train_rows = np.flatnonzero(ref)
    fit = train_rows[
        np.linspace(0, len(train_rows) - 1, min(fit_rows, len(train_rows))).astype(int)
    ]
    offset = np.zeros(len(levels))
    for _ in range(iterations):
        offset += np.log(target / _softmax(base + offset + adjust[fit]).mean(axis=0))
    return weighted_levels(rng, _softmax(base + offset + adjust), levels)


def _softmax(logits: FloatArray) -> FloatArray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ordered(u: FloatArray, shares: dict[str, float], order: tuple[str, ...]) -> Cat:
    """An ordered categorical from a (latent-driven) uniform, shares kept exactly."""
    levels = tuple(k for k in order if k in shares) + tuple(k for k in shares if k not in order)
    return Cat(categorical_from_uniform(u, [shares[k] for k in levels]), levels)


def _level_effect(column: str, cat: Cat, shrink: float, prior_rows: float = 150.0) -> FloatArray:
    """Logit effect of each row's level: the profile's univariate default rate of the
    level against the overall rate, shrunk towards zero for small sample counts."""
    entry = column_profile(APP, column)
    base = float(logit(load_profile()["tables"][APP]["target_rate"]))
    effects = np.zeros(len(cat.levels) + 1)  # the last slot is the missing level (code -1)
    for level, stat in entry.get("default_rate_by_level", {}).items():
        rate = min(max(stat["rate"], 0.01), 0.5)
        weight = stat["n"] / (stat["n"] + prior_rows)
        value = shrink * weight * (float(logit(rate)) - base)
        if level == "<NA>":
            effects[-1] = value
        elif level in cat.levels:
            effects[cat.levels.index(level)] = value
    return effects[cat.codes.astype(np.int64)]


def _flag(z: FloatArray, share: float) -> IntArray:
    """A 0/1 column that is 1 for the ``share`` of rows with the highest latent."""
    return (ndtr(z) > 1.0 - share).astype(np.int64)


# --------------------------------------------------------------------------- the draw


def _assign_ids(
    seed: int, n_train: int, n_test: int, drift: float
) -> tuple[IntArray, BoolArray, FloatArray]:
    rng = child_rng(seed, 0)
    n = n_train + n_test
    ids = np.sort(distinct_ids(rng, n, CLIENT_ID_START, CLIENT_ID_SPAN))
    is_test = np.zeros(n, dtype=bool)
    is_test[rng.choice(n, size=n_test, replace=False)] = True
    # Test ids follow the application order of the production batch: drift grows with
    # the position t in [0, 1] as drift * 2 * t (mean drift over the batch).
    t = np.zeros(n)
    t[is_test] = np.arange(n_test) / (n_test - 1) if n_test > 1 else 0.5
    strength = np.where(is_test, drift * 2.0 * t, 0.0)
    return ids, is_test, strength


def build_clients(
    seed: int, n_train: int, n_test: int, drift: float, risk: RiskModel = RISK
) -> Clients:
    """Draw all train and test clients, their application columns and true risk."""
    ids, is_test, s = _assign_ids(seed, n_train, n_test, drift)
    n = len(ids)
    ref = ~is_test  # population moments come from the training rows only
    rng = child_rng(seed, 1)
    col: dict[str, Column] = {"SK_ID_CURR": ids}
    eff: dict[str, FloatArray] = {}  # logit contributions, one per driver

    # Latent risk: R_k is what EXT_SOURCE_k measures; H is payment behaviour, seen only in
    # the side tables, correlated with the general risk G.
    r_ext = rng.standard_normal((3, n))
    g = r_ext.sum(axis=0) / np.sqrt(3.0)
    h = risk.behaviour_rho * g + np.sqrt(1 - risk.behaviour_rho**2) * rng.standard_normal(n)
    ses = rng.standard_normal(n)  # socio-economic status: education, income, occupation

    # Gender, income type (drift: more pensioners), age (pensioners are old).
    gender = sample_categorical(rng, _shares_with_rare("CODE_GENDER"), n)
    gender = _train_only(rng, gender, "CODE_GENDER", is_test)
    male = gender.isin("M").astype(float)
    col["CODE_GENDER"] = gender
    eff["gender"] = _level_effect("CODE_GENDER", gender, risk.level_shrink)

    inc_shares = _shares_with_rare("NAME_INCOME_TYPE")
    inc_levels = tuple(inc_shares)
    base = np.array([inc_shares[k] for k in inc_levels])
    weights = np.tile(base, (n, 1))
    pens = inc_levels.index("Pensioner")
    weights[:, pens] *= np.exp(0.35 * s)
    income_type = weighted_levels(rng, weights, inc_levels)
    income_type = _train_only(rng, income_type, "NAME_INCOME_TYPE", is_test)
    col["NAME_INCOME_TYPE"] = income_type
    not_employed = income_type.isin(*NOT_EMPLOYED)
    pensioner = income_type.isin("Pensioner")
    eff["income_type"] = _level_effect("NAME_INCOME_TYPE", income_type, risk.level_shrink)
    eff["income_type"] += np.where(income_type.isin("Unemployed", "Maternity leave"), 1.6, 0.0)
    eff["income_type"] += np.where(income_type.isin("Student", "Businessman"), -1.0, 0.0)

    age_days, z_age = _age(rng, pensioner, s, inc_shares["Pensioner"])
    col["DAYS_BIRTH"] = -age_days
    age_years = age_days / 365.25
    age_std = (age_years - 43.0) / 12.0
    eff["age"] = risk.age_per_year * (age_years - 43.0)

    # Employment: the sentinel exactly for pensioners and the unemployed; otherwise it
    # starts after 16 and lasts longer for older clients.
    emp_days = _employment(rng, z_age, age_days, not_employed, ref)
    col["DAYS_EMPLOYED"] = np.where(not_employed, DAYS_SENTINEL, -emp_days)
    emp_years = emp_days / 365.25
    eff["employment"] = np.where(
        not_employed, 0.0, risk.employment_log_years * (np.log1p(emp_years) - 1.3)
    )

    # Education, family, children, housing.
    edu_shares = level_shares(APP, "NAME_EDUCATION_TYPE")
    edu = _ordered(
        ndtr(latent(rng, n, (0.75, ses))),
        edu_shares,
        (
            "Lower secondary",
            "Secondary / secondary special",
            "Incomplete higher",
            "Higher education",
            "Academic degree",
        ),
    )
    col["NAME_EDUCATION_TYPE"] = edu
    eff["education"] = _level_effect("NAME_EDUCATION_TYPE", edu, risk.level_shrink)

    fam_shares = _shares_with_rare("NAME_FAMILY_STATUS")
    family = _ordered(
        ndtr(latent(rng, n, (0.6, z_age))),
        {k: v for k, v in fam_shares.items() if k != "Unknown"},
        ("Single / not married", "Civil marriage", "Married", "Separated", "Widow"),
    )
    family = Cat(family.codes, (*family.levels, "Unknown"))
    unknown = (rng.random(n) < fam_shares["Unknown"]) & ~is_test
    family.codes[unknown] = family.levels.index("Unknown")
    col["NAME_FAMILY_STATUS"] = family
    eff["family"] = _level_effect("NAME_FAMILY_STATUS", family, risk.level_shrink)

    child_shares = level_shares(APP, "CNT_CHILDREN")
    z_child = standardise(-((z_age + 0.35) ** 2), ref) + 0.3 * family.isin(
        "Married", "Civil marriage"
    )
    children = _ordered(
        ndtr(latent(rng, n, (0.6, standardise(z_child, ref)))), child_shares, tuple(child_shares)
    )
    n_children = np.array([int(v) for v in children.levels])[children.codes]
    col["CNT_CHILDREN"] = n_children.astype(np.int64)
    eff["children"] = 0.06 * np.minimum(n_children, 3)
    partner = family.isin("Married", "Civil marriage")
    extra_member = rng.random(n) < 0.015
    col["CNT_FAM_MEMBERS"] = (n_children + 1 + partner + extra_member).astype(np.float64)

    housing_shares = level_shares(APP, "NAME_HOUSING_TYPE")
    hl = tuple(housing_shares)
    adjust = np.zeros((n, len(hl)))
    adjust[:, hl.index("With parents")] = -1.6 * age_std
    adjust[:, hl.index("Rented apartment")] = -0.6 * age_std
    adjust[:, hl.index("Office apartment")] = 0.4 * ses
    housing = _conditional(rng, housing_shares, adjust, ref)
    col["NAME_HOUSING_TYPE"] = housing
    eff["housing"] = _level_effect("NAME_HOUSING_TYPE", housing, risk.level_shrink)

    # Occupation (missing for the not-employed and some workers) and organization.
    occupation = _occupation(rng, male, ses, not_employed, inc_shares["Pensioner"], ref)
    col["OCCUPATION_TYPE"] = occupation
    eff["occupation"] = _level_effect("OCCUPATION_TYPE", occupation, risk.level_shrink)
    eff["occupation"][occupation.codes < 0] = 0.0  # missing is the pensioners: no own effect
    organization = _organization(rng, income_type, not_employed, ref)
    col["ORGANIZATION_TYPE"] = organization
    org_effect = _level_effect("ORGANIZATION_TYPE", organization, risk.level_shrink * 0.8)
    eff["organization"] = np.where(not_employed, 0.0, org_effect)

    # Region: population (about 80 regional values), rating, city rating, address flags.
    z_region = rng.standard_normal(n)
    region_rating = _region(rng, z_region, col)
    eff["region"] = _level_effect(
        "REGION_RATING_CLIENT_W_CITY", region_rating, risk.level_shrink * 0.8
    )
    eff["address"] = _address_flags(rng, age_std, not_employed, col, ref)

    # Amounts: income (drift: shifted up), contract, goods, credit, annuity.
    income, eff["income"] = _income(rng, male, ses, pensioner, income_type, age_std, s, is_test)
    col["AMT_INCOME_TOTAL"] = income
    eff["terms"] = _contract(rng, income, g, s, col, risk)

    # Assets.
    z_car = latent(rng, n, (0.45, standardise(male, ref)), (0.35, ses))
    own_car = z_car > _threshold(level_shares(APP, "FLAG_OWN_CAR")["Y"])
    col["FLAG_OWN_CAR"] = Cat(own_car.astype(np.int16), ("N", "Y"))
    car_age = np.round(quantile_function(APP, "OWN_CAR_AGE").of_normal(latent(rng, n, (-0.3, ses))))
    col["OWN_CAR_AGE"] = np.where(own_car, car_age, np.nan)
    eff["car"] = np.where(own_car, -0.12 + 0.012 * (np.nan_to_num(car_age) - 9.0), 0.0)
    realty_y = level_shares(APP, "FLAG_OWN_REALTY")["Y"]
    own_realty = latent(rng, n, (0.35, age_std / 1.0)) > _threshold(realty_y)
    col["FLAG_OWN_REALTY"] = Cat(own_realty.astype(np.int16), ("N", "Y"))

    col["NAME_TYPE_SUITE"] = _with_missing(
        rng, sample_categorical(rng, level_shares(APP, "NAME_TYPE_SUITE"), n), "NAME_TYPE_SUITE"
    )

    # Dates: registration and ID publication (both after birth, older for older clients),
    # last phone change.
    reg = quantile_function(APP, "DAYS_REGISTRATION").of_normal(
        latent(rng, n, (-0.5, standardise(z_age, ref)))
    )
    col["DAYS_REGISTRATION"] = np.round(np.maximum(reg, -age_days + 1.0))
    id_publish = quantile_function(APP, "DAYS_ID_PUBLISH").of_normal(
        latent(rng, n, (-0.35, standardise(z_age, ref)))
    )
    id_publish = np.round(np.maximum(id_publish, -(age_days - 14 * 365)))
    col["DAYS_ID_PUBLISH"] = np.minimum(id_publish, -1).astype(np.int64)
    phone = quantile_function(APP, "DAYS_LAST_PHONE_CHANGE").of_normal(latent(rng, n, (-0.15, g)))
    col["DAYS_LAST_PHONE_CHANGE"] = np.round(phone)
    eff["dates"] = (
        0.07 * standardise(col["DAYS_REGISTRATION"], ref)
        + 0.10 * standardise(col["DAYS_ID_PUBLISH"], ref)
        + 0.06 * standardise(phone, ref)
    )

    # Contact flags.
    col["FLAG_MOBIL"] = np.ones(n, dtype=np.int64)
    col["FLAG_EMP_PHONE"] = (~not_employed).astype(np.int64)
    work_share = level_shares(APP, "FLAG_WORK_PHONE")["1"]
    col["FLAG_WORK_PHONE"] = (
        rng.random(n) < work_share * np.where(not_employed, 0.15, 1.18)
    ).astype(np.int64)
    cont = level_shares(APP, "FLAG_CONT_MOBILE")["1"]
    col["FLAG_CONT_MOBILE"] = (rng.random(n) < cont).astype(np.int64)
    col["FLAG_PHONE"] = _flag(latent(rng, n, (0.3, age_std)), level_shares(APP, "FLAG_PHONE")["1"])
    col["FLAG_EMAIL"] = _flag(
        latent(rng, n, (0.3, ses), (-0.2, age_std)), level_shares(APP, "FLAG_EMAIL")["1"]
    )
    eff["contact"] = -0.15 * col["FLAG_PHONE"] - 0.1 * col["FLAG_EMAIL"]

    col["WEEKDAY_APPR_PROCESS_START"] = sample_categorical(
        rng, level_shares(APP, "WEEKDAY_APPR_PROCESS_START"), n
    )
    hour = quantile_function(APP, "HOUR_APPR_PROCESS_START")(rng.random(n))
    col["HOUR_APPR_PROCESS_START"] = np.clip(np.round(hour), 0, 23).astype(np.int64)

    # External scores: noisy readings of the three risk components (and of age, region).
    _ext_scores(rng, r_ext, age_std, z_region, col, risk, ref)

    # Building information, one "has it" draw per client, nested extra missingness.
    eff["building"] = _building(rng, z_region, ses, col)

    # Social circle, documents, bureau enquiries, side-history drivers.
    _social_circle(rng, g, col)
    eff["documents"] = _documents(rng, not_employed, col)
    has_bureau, n_bureau, bureau_monthly, n_previous = _history_counts(rng, age_years, ref)
    eff["enquiries"] = _enquiries(rng, g, has_bureau, col, ref)

    # The true default probability.
    app_effect = np.sum([e - e[ref].mean() for e in eff.values()], axis=0)
    eta = (
        app_effect
        + risk.ext_weight * r_ext.sum(axis=0)
        + risk.behaviour_weight * h
        + risk.noise * rng.standard_normal(n)
    )
    intercept = _calibrate(eta[ref], risk.default_rate)
    probability = sigmoid(intercept + eta)
    target = (rng.random(n) < probability).astype(np.int64)
    col["TARGET"] = target

    extras = {f"effect_{k}": v for k, v in eff.items()}
    extras["eta_application"] = app_effect
    return Clients(
        ids=ids,
        is_test=is_test,
        drift=s,
        columns=col,
        probability=probability,
        target=target,
        risk=g,
        behaviour=h,
        age_days=age_days,
        income=income,
        n_bureau=n_bureau,
        bureau_monthly=bureau_monthly,
        n_previous=n_previous,
        intercept=intercept,
        extras=extras,
    )


# --------------------------------------------------------------------------- pieces


def _threshold(share: float) -> float:
    """The latent cut above which a ``share`` of standard-normal rows lies."""
    return float(ndtri(1.0 - share))


def _train_only(rng: np.random.Generator, cat: Cat, column: str, is_test: BoolArray) -> Cat:
    """Redraw train-only rare levels that fell on test clients from the common levels.

    One uniform per client whatever happens, so the stream that follows does not depend on
    the test clients (nor on the drift).
    """
    rare = TRAIN_ONLY_LEVELS.get(column, ())
    u = rng.random(len(cat))
    bad = is_test & cat.isin(*rare)
    common = [
        i for i, k in enumerate(cat.levels) if k not in rare and k in level_shares(APP, column)
    ]
    shares = np.array([level_shares(APP, column)[cat.levels[i]] for i in common])
    redraw = np.array(common, dtype=np.int16)[categorical_from_uniform(u, shares)]
    return Cat(np.where(bad, redraw, cat.codes).astype(np.int16), cat.levels)


def _with_missing(rng: np.random.Generator, cat: Cat, column: str) -> Cat:
    codes = cat.codes.copy()
    codes[rng.random(len(codes)) < missing_rate(APP, column)] = -1
    return Cat(codes, cat.levels)


#: Latent mean and sd of the pensioners' age: mostly 55-67 (retirement at 55 for women,
#: 60 for men), a few younger (disability).
_PENSIONER_AGE = (1.3, 0.5)


def _age(
    rng: np.random.Generator, pensioner: BoolArray, drift: FloatArray, share: float
) -> tuple[IntArray, FloatArray]:
    """Age in days: a two-group latent (pensioners old) mapped through the mixture's own
    CDF, so that the training population keeps the profile's age marginal exactly."""
    n = len(pensioner)
    mu_p, sd_p = _PENSIONER_AGE
    mu_w = -share * mu_p / (1 - share)
    var_w = (1 - share * (sd_p**2 + mu_p**2)) / (1 - share) - mu_w**2
    sd_w = np.sqrt(var_w)
    z = np.where(
        pensioner,
        mu_p + sd_p * rng.standard_normal(n),
        mu_w + sd_w * rng.standard_normal(n),
    )
    z = z + 0.35 * drift  # production drift: an older population
    u = share * ndtr((z - mu_p) / sd_p) + (1 - share) * ndtr((z - mu_w) / sd_w)
    days_birth = quantile_function(APP, "DAYS_BIRTH")(1.0 - u)
    age_days = np.clip(-np.round(days_birth), 20 * 365.25 + 1, 69.2 * 365.25).astype(np.int64)
    return age_days, z


@cache
def _employment_qf() -> QuantileFunction:
    """Employment length among the employed: the profile mixes in the sentinel, so its
    quantile levels are rescaled by the employed share; the default-rate quintile edges
    are quintiles among the employed."""
    entry = column_profile(APP, "DAYS_EMPLOYED")
    employed = 1.0 - entry["sentinel_365243_rate"]
    knots: dict[float, float] = {}
    for q, v in entry["quantiles"].items():
        if v < 0:
            knots[float(q) / employed] = -float(v)
    bins = entry["default_rate_by_quintile"]
    edges = [float(b["bin"].strip("(]").split(",")[0]) for b in bins]
    edges.append(float(bins[-1]["bin"].strip("(]").split(",")[1]))
    for i, v in enumerate(edges):
        knots[i / 5] = -round(v)
    u = np.array(sorted(knots))
    length = np.array([knots[k] for k in u])
    # Long employment = low u in DAYS (more negative); here u orders the length.
    return QuantileFunction(1.0 - u[::-1], length[::-1])


def _employment(
    rng: np.random.Generator,
    z_age: FloatArray,
    age_days: IntArray,
    not_employed: BoolArray,
    ref: BoolArray,
) -> IntArray:
    z = latent(rng, len(z_age), (0.6, standardise(z_age, ref)))
    length = _employment_qf().of_normal(z)
    cap = age_days - 16 * 365.25
    length = np.clip(np.round(np.minimum(length, cap * rng.uniform(0.75, 1.0, len(z)))), 1, None)
    return np.where(not_employed, 0, length).astype(np.int64)


_OCCUPATION_MALE = {
    "Drivers": 3.0,
    "Laborers": 0.7,
    "Security staff": 1.2,
    "Low-skill Laborers": 0.6,
    "High skill tech staff": 0.5,
    "Managers": 0.3,
    "IT staff": 0.6,
    "Sales staff": -0.6,
    "Core staff": -0.7,
    "Accountants": -2.0,
    "Medicine staff": -1.8,
    "Cleaning staff": -1.2,
    "Cooking staff": -0.9,
    "Secretaries": -2.0,
    "HR staff": -1.5,
    "Waiters/barmen staff": -0.5,
    "Private service staff": -1.0,
}
_OCCUPATION_SES = {
    "Managers": 1.0,
    "High skill tech staff": 0.7,
    "Accountants": 0.6,
    "Core staff": 0.5,
    "IT staff": 0.8,
    "HR staff": 0.4,
    "Medicine staff": 0.3,
    "Laborers": -0.4,
    "Low-skill Laborers": -0.9,
    "Cleaning staff": -0.8,
    "Drivers": -0.2,
    "Cooking staff": -0.5,
    "Security staff": -0.4,
    "Waiters/barmen staff": -0.5,
    "Sales staff": -0.2,
}


def _occupation(
    rng: np.random.Generator,
    male: FloatArray,
    ses: FloatArray,
    not_employed: BoolArray,
    not_employed_share: float,
    ref: BoolArray,
) -> Cat:
    shares = level_shares(APP, "OCCUPATION_TYPE")
    levels = tuple(shares)
    adjust = np.zeros((len(male), len(levels)))
    for i, level in enumerate(levels):
        adjust[:, i] = (
            _OCCUPATION_MALE.get(level, 0.0) * male + _OCCUPATION_SES.get(level, 0.0) * ses
        )
    occ = _conditional(rng, shares, adjust, ref)
    # Missing for everyone without a job, and for enough workers to match the profile.
    # (computed from the population share: drifted test clients must not change it)
    total_missing = missing_rate(APP, "OCCUPATION_TYPE")
    extra = max(total_missing - not_employed_share, 0.0) / (1.0 - not_employed_share)
    codes = occ.codes.copy()
    codes[not_employed | (rng.random(len(codes)) < extra)] = -1
    return Cat(codes, levels)


_PUBLIC_ORGANIZATIONS = (
    "Government",
    "School",
    "Medicine",
    "Kindergarten",
    "Military",
    "Police",
    "Security Ministries",
    "University",
    "Postal",
    "Emergency",
    "Culture",
)


def _organization(
    rng: np.random.Generator, income_type: Cat, not_employed: BoolArray, ref: BoolArray
) -> Cat:
    shares = level_shares(APP, "ORGANIZATION_TYPE")
    shares = {k: v for k, v in shares.items() if k != "XNA"}
    total = sum(shares.values())
    shares = {k: v / total for k, v in shares.items()}
    levels = tuple(shares)
    state = income_type.isin("State servant").astype(float)
    commercial = income_type.isin("Commercial associate").astype(float)
    adjust = np.zeros((len(state), len(levels)))
    for i, level in enumerate(levels):
        if level in _PUBLIC_ORGANIZATIONS:
            adjust[:, i] = 3.0 * state - 0.5 * commercial
        elif level.startswith(("Business Entity", "Trade", "Self-employed")):
            adjust[:, i] = 0.5 * commercial - 1.0 * state
    org = _conditional(rng, shares, adjust, ref)
    levels_xna = (*levels, "XNA")
    codes = np.where(not_employed, len(levels), org.codes).astype(np.int16)
    return Cat(codes, levels_xna)


def _region(rng: np.random.Generator, z_region: FloatArray, col: dict[str, Column]) -> Cat:
    """Regions: about 80 population values; bigger regions rate better (rating 1)."""
    n = len(z_region)
    bins = 80
    u = (np.floor(ndtr(z_region) * bins) + 0.5) / bins
    col["REGION_POPULATION_RELATIVE"] = np.round(
        quantile_function(APP, "REGION_POPULATION_RELATIVE")(u), 6
    )
    z_rating = latent(rng, n, (-0.8, z_region))
    rating = _ordered(ndtr(z_rating), level_shares(APP, "REGION_RATING_CLIENT"), ("1", "2", "3"))
    city = _ordered(
        ndtr(latent(rng, n, (0.96, z_rating))),
        level_shares(APP, "REGION_RATING_CLIENT_W_CITY"),
        ("1", "2", "3"),
    )
    col["REGION_RATING_CLIENT"] = np.array([1, 2, 3], dtype=np.int64)[rating.codes]
    col["REGION_RATING_CLIENT_W_CITY"] = np.array([1, 2, 3], dtype=np.int64)[city.codes]
    return city


def _address_flags(
    rng: np.random.Generator,
    age_std: FloatArray,
    not_employed: BoolArray,
    col: dict[str, Column],
    ref: BoolArray,
) -> FloatArray:
    """Registration/contact/work address mismatches: city-level flags from one mobility
    latent; region-level flags are subsets of the city-level ones; no work address for
    the not-employed."""
    n = len(age_std)
    mobility = rng.standard_normal(n)
    share = {
        c: level_shares(APP, c)["1"]
        for c in (
            "REG_REGION_NOT_LIVE_REGION",
            "REG_REGION_NOT_WORK_REGION",
            "LIVE_REGION_NOT_WORK_REGION",
            "REG_CITY_NOT_LIVE_CITY",
            "REG_CITY_NOT_WORK_CITY",
            "LIVE_CITY_NOT_WORK_CITY",
        )
    }
    employed = ~not_employed
    emp_share = max(employed[ref].mean(), 1e-9)
    live = _flag(latent(rng, n, (0.6, mobility), (-0.3, age_std)), share["REG_CITY_NOT_LIVE_CITY"])
    z_work = latent(rng, n, (0.75, mobility))
    work = _flag(z_work, min(share["REG_CITY_NOT_WORK_CITY"] / emp_share, 0.95)) * employed
    z_live_work = latent(rng, n, (0.85, standardise(z_work, ref)))
    live_work = (
        _flag(z_live_work, min(share["LIVE_CITY_NOT_WORK_CITY"] / emp_share, 0.95)) * employed
    )
    col["REG_CITY_NOT_LIVE_CITY"] = live
    col["REG_CITY_NOT_WORK_CITY"] = work.astype(np.int64)
    col["LIVE_CITY_NOT_WORK_CITY"] = live_work.astype(np.int64)

    def subset(flag: IntArray, share_region: float) -> IntArray:
        base = max(flag[ref].mean(), 1e-9)
        return (flag.astype(bool) & (rng.random(n) < share_region / base)).astype(np.int64)

    col["REG_REGION_NOT_LIVE_REGION"] = subset(live, share["REG_REGION_NOT_LIVE_REGION"])
    col["REG_REGION_NOT_WORK_REGION"] = subset(work, share["REG_REGION_NOT_WORK_REGION"])
    col["LIVE_REGION_NOT_WORK_REGION"] = subset(live_work, share["LIVE_REGION_NOT_WORK_REGION"])
    return 0.28 * live + 0.22 * work + 0.05 * live_work


def _income(
    rng: np.random.Generator,
    male: FloatArray,
    ses: FloatArray,
    pensioner: BoolArray,
    income_type: Cat,
    age_std: FloatArray,
    drift: FloatArray,
    is_test: BoolArray,
) -> tuple[FloatArray, FloatArray]:
    n = len(male)
    commercial = income_type.isin("Commercial associate", "Businessman").astype(float)
    z = latent(
        rng,
        n,
        (0.3, standardise(male, ~is_test)),
        (0.4, ses),
        (-0.25, standardise(pensioner, ~is_test)),
        (0.15, standardise(commercial, ~is_test)),
        (-0.1, age_std),
    )
    income = quantile_function(APP, "AMT_INCOME_TOTAL").of_normal(z)
    income = income * np.exp(0.15 * drift)  # production drift: incomes shifted up
    # Real incomes are round sums: mostly multiples of 22,500 or 4,500.
    u = rng.random(n)
    income = np.where(u < 0.55, round_to(income, 22_500.0), round_to(income, 4_500.0))
    income = np.where(u > 0.93, round_to(income * rng.uniform(0.97, 1.03, n), 90.0), income)
    income = np.maximum(income, 25_650.0)
    # A few very high incomes, and the one 117,000,000 outlier at full scale.
    rich = rng.random(n) < 4e-5
    income = np.where(
        rich, round_to(np.exp(rng.uniform(np.log(2.3e6), np.log(1.8e7), n)), 45_000.0), income
    )
    n_train = int((~is_test).sum())
    n_outliers = int(np.floor(n_train / _KAGGLE_TRAIN + 0.5))
    if n_outliers:
        train_idx = np.flatnonzero(~is_test)
        income[rng.choice(train_idx, size=n_outliers, replace=False)] = INCOME_OUTLIER
    log_inc = np.log(np.minimum(income, 2e6) / 150_000.0)
    effect = -0.45 * np.maximum(log_inc, 0.0) - 0.05 * np.minimum(log_inc, 0.0)
    return income, effect


_REVOLVING_LIMITS = np.array(
    [
        45_000,
        90_000,
        112_500,
        135_000,
        157_500,
        180_000,
        202_500,
        225_000,
        270_000,
        315_000,
        337_500,
        360_000,
        405_000,
        450_000,
        540_000,
        585_000,
        675_000,
        810_000,
        900_000,
        1_125_000,
        1_350_000,
    ],
    dtype=np.float64,
)
_CASH_TERMS = np.array([6, 10, 12, 15, 18, 24, 30, 36, 42, 48, 54, 60], dtype=np.float64)
_CASH_TERM_SHARES = np.array([2, 3, 12, 3, 10, 25, 8, 15, 4, 8, 2, 8], dtype=np.float64)


def _contract(
    rng: np.random.Generator,
    income: FloatArray,
    g: FloatArray,
    drift: FloatArray,
    col: dict[str, Column],
    risk: RiskModel,
) -> FloatArray:
    """Contract type and amounts: goods price, credit (goods x insurance ratio for cash
    loans, a round limit for revolving loans), annuity from a term and a risk-priced
    interest rate. Returns the logit effect of the terms."""
    del risk
    n = len(income)
    revolving_share = level_shares(APP, "NAME_CONTRACT_TYPE")["Revolving loans"]
    revolving = rng.random(n) < revolving_share * np.clip(1.0 - 0.35 * drift, 0.2, 1.0)
    col["NAME_CONTRACT_TYPE"] = Cat(revolving.astype(np.int16), ("Cash loans", "Revolving loans"))

    z_inc = income_z(income)
    z_goods = latent(rng, n, (0.45, z_inc))
    # The profile mixes in the (smaller) revolving limits: cash loans sit a little higher.
    goods = quantile_function(APP, "AMT_GOODS_PRICE")(0.06 + 0.94 * ndtr(z_goods))
    goods = goods * np.exp(0.08 * drift)  # production drift: a little more credit
    u = rng.random(n)
    goods = np.where(
        u < 0.7,
        round_to(goods, np.where(goods > 450_000, 45_000.0, 22_500.0)),
        round_to(goods, 4_500.0),
    )
    goods = np.maximum(goods, 40_500.0)

    # Insurance and fees: credit = goods x ratio, riskier clients borrow above the price.
    z_ratio = latent(rng, n, (0.35, g))
    ratio = np.where(
        ndtr(z_ratio) < 0.22,
        1.0,
        1.02 + 0.32 * _beta_from_normal(z_ratio, 2.0, 3.5),
    )
    # Large loans carry relatively less insurance (real ratios fall to ~1.02 at the top).
    ratio = 1.0 + (ratio - 1.0) * np.clip(1.6 - goods / 1.1e6, 0.15, 1.0)
    credit = round_to(goods * ratio, 0.5)

    # Term grows with the amount; yearly rate priced on risk.
    z_size = (np.log(goods) - 12.9) / 0.75  # log goods price, about standard
    term_u = ndtr(latent(rng, n, (0.35, z_size), (0.15, g)))
    term = _CASH_TERMS[categorical_from_uniform(term_u, _CASH_TERM_SHARES)]
    rate = np.clip(0.16 + 0.035 * latent(rng, n, (0.6, g)), 0.05, 0.35) / 12.0
    annuity = credit * rate / (1.0 - (1.0 + rate) ** -term)

    # Revolving loans: a round limit tied to income, annuity 5 % (sometimes 10 %) of it.
    limit_u = ndtr(latent(rng, n, (0.5, z_inc)))
    limit = _REVOLVING_LIMITS[
        np.minimum(
            (limit_u * len(_REVOLVING_LIMITS) * 0.75).astype(int), len(_REVOLVING_LIMITS) - 1
        )
    ]
    limit_annuity = limit * np.where(rng.random(n) < 0.9, 0.05, 0.1)

    col["AMT_GOODS_PRICE"] = np.where(revolving, limit, goods)
    # Missing goods prices are revolving loans.
    goods_missing = missing_rate(APP, "AMT_GOODS_PRICE") / max(revolving_share, 1e-9)
    col["AMT_GOODS_PRICE"][revolving & (rng.random(n) < goods_missing)] = np.nan
    col["AMT_CREDIT"] = np.where(revolving, limit, credit)
    annuity_all = np.where(revolving, limit_annuity, round_to(annuity, 0.5))
    annuity_all[rng.random(n) < missing_rate(APP, "AMT_ANNUITY") * 0.2] = np.nan
    col["AMT_ANNUITY"] = annuity_all

    burden = np.nan_to_num(annuity_all, nan=0.0) * 12.0 / np.maximum(income, 1.0)
    effect = (
        np.where(revolving, -0.3, 0.0)
        + np.where(revolving, 0.0, 1.1 * (ratio - 1.1))
        + np.where(revolving, 0.0, 0.004 * (term - 24.0))
        + 0.35 * np.clip(burden - 0.2, -0.2, 0.6)
    )
    return effect


def _beta_from_normal(z: FloatArray, a: float, b: float) -> FloatArray:
    u = np.clip(ndtr(z), 1e-9, 1 - 1e-9)
    return np.asarray(betaincinv(a, b, u), dtype=np.float64)


_EXT = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")
#: Loadings of each score's latent on age and on the region (EXT_SOURCE_1 follows age
#: closely in the real data, EXT_SOURCE_2 the region rating).
_EXT_AGE = (0.5, 0.08, 0.2)
_EXT_REGION = (0.0, 0.25, 0.0)


def _ext_scores(
    rng: np.random.Generator,
    r_ext: FloatArray,
    age_std: FloatArray,
    z_region: FloatArray,
    col: dict[str, Column],
    risk: RiskModel,
    ref: BoolArray,
) -> None:
    n = r_ext.shape[1]
    age_z = standardise(age_std, ref)
    lam = risk.ext_loading
    for k, name in enumerate(_EXT):
        a, r = _EXT_AGE[k], _EXT_REGION[k]
        own = np.sqrt(max(1.0 - a * a - r * r, 0.0))
        # Higher score = lower risk: the latent is minus the risk component.
        z = latent(rng, n, (own * lam, -r_ext[k]), (a, age_z), (r, z_region))
        values = quantile_function(APP, name).of_normal(z)
        if name == "EXT_SOURCE_3":
            values = _snap(values, quantile_function(APP, name), 814)
        rate = missing_rate(APP, name)
        # Younger clients lack EXT_SOURCE_1 more often.
        p_missing = sigmoid(logit(rate) - (0.5 * age_z if k == 0 else 0.0))
        missing = rng.random(n) < p_missing
        col[name] = np.where(missing, np.nan, values)


def _snap(values: FloatArray, qf: QuantileFunction, points: int) -> FloatArray:
    """Snap to a grid of ``points`` values over the column's range (EXT_SOURCE_3 has only
    ~800 distinct values)."""
    grid = np.linspace(float(qf(0.0)[()]), float(qf(1.0)[()]), points)
    idx = np.clip(np.searchsorted(grid, values), 0, points - 1)
    return grid[idx]


_BUILDING = (
    "APARTMENTS",
    "BASEMENTAREA",
    "YEARS_BEGINEXPLUATATION",
    "YEARS_BUILD",
    "COMMONAREA",
    "ELEVATORS",
    "ENTRANCES",
    "FLOORSMAX",
    "FLOORSMIN",
    "LANDAREA",
    "LIVINGAPARTMENTS",
    "LIVINGAREA",
    "NONLIVINGAPARTMENTS",
    "NONLIVINGAREA",
)
#: Quantities that grow with the size of the building share one latent.
_BUILDING_SIZE = {
    "APARTMENTS": 0.9,
    "LIVINGAPARTMENTS": 0.85,
    "LIVINGAREA": 0.88,
    "ELEVATORS": 0.6,
    "ENTRANCES": 0.5,
    "FLOORSMAX": 0.6,
    "FLOORSMIN": 0.55,
    "BASEMENTAREA": 0.4,
    "COMMONAREA": 0.4,
    "NONLIVINGAREA": 0.35,
    "NONLIVINGAPARTMENTS": 0.3,
    "LANDAREA": 0.3,
    "YEARS_BUILD": 0.2,
    "YEARS_BEGINEXPLUATATION": 0.1,
}


def _building(
    rng: np.random.Generator, z_region: FloatArray, ses: FloatArray, col: dict[str, Column]
) -> FloatArray:
    """The building block: present for about half of the clients, missing together.

    One draw decides whether the client has building information (its share is one minus
    the smallest missing rate of the block); every column then loses a nested extra share
    (the same per-client uniform) to reach its own missing rate. _AVG, _MODE and _MEDI of
    one quantity share the latent and the missingness, so they stay close.
    """
    n = len(z_region)
    names = [f"{q}_{s}" for q in _BUILDING for s in ("AVG", "MODE", "MEDI")]
    cats = ("FONDKAPREMONT_MODE", "HOUSETYPE_MODE", "WALLSMATERIAL_MODE", "EMERGENCYSTATE_MODE")
    rates = {c: missing_rate(APP, c) for c in (*names, "TOTALAREA_MODE", *cats)}
    base_missing = min(rates.values())
    z_has = latent(rng, n, (0.35, z_region), (0.2, ses))
    has = z_has > _threshold(1.0 - base_missing)
    info = rng.random(n)  # low = less information: nested missingness

    def mask(rate: float) -> BoolArray:
        extra = (rate - base_missing) / (1.0 - base_missing)
        return ~has | (info < extra)

    size = rng.standard_normal(n)
    for q in _BUILDING:
        w = _BUILDING_SIZE[q]
        z = latent(rng, n, (w, size))
        miss = mask(max(rates[f"{q}_{s}"] for s in ("AVG", "MODE", "MEDI")))
        for s in ("AVG", "MODE", "MEDI"):
            zs = z + 0.08 * rng.standard_normal(n)
            values = np.round(quantile_function(APP, f"{q}_{s}").of_normal(zs), 4)
            col[f"{q}_{s}"] = np.where(miss, np.nan, np.clip(values, 0.0, 1.0))
    total = quantile_function(APP, "TOTALAREA_MODE").of_normal(latent(rng, n, (0.92, size)))
    col["TOTALAREA_MODE"] = np.where(mask(rates["TOTALAREA_MODE"]), np.nan, np.round(total, 4))
    for c in cats:
        cat = sample_categorical(rng, level_shares(APP, c), n)
        codes = cat.codes.copy()
        codes[mask(rates[c])] = -1
        col[c] = Cat(codes, cat.levels)
    return np.where(has, -0.08, 0.08)


def _social_circle(rng: np.random.Generator, g: FloatArray, col: dict[str, Column]) -> None:
    """Observed / defaulted acquaintances: DEF <= OBS, 60-day counts <= 30-day ones."""
    n = len(g)
    obs = np.round(quantile_function(APP, "OBS_30_CNT_SOCIAL_CIRCLE")(rng.random(n)))
    q = sigmoid(logit(0.085) + 0.35 * g)
    def30 = rng.binomial(obs.astype(np.int64), q).astype(np.float64)
    obs60 = np.where(rng.random(n) < 0.03, np.maximum(obs - 1, def30), obs)
    def60 = rng.binomial(def30.astype(np.int64), 0.72).astype(np.float64)
    missing = rng.random(n) < missing_rate(APP, "OBS_30_CNT_SOCIAL_CIRCLE")
    for name, v in (
        ("OBS_30_CNT_SOCIAL_CIRCLE", obs),
        ("DEF_30_CNT_SOCIAL_CIRCLE", def30),
        ("OBS_60_CNT_SOCIAL_CIRCLE", obs60),
        ("DEF_60_CNT_SOCIAL_CIRCLE", def60),
    ):
        col[name] = np.where(missing, np.nan, v)


def _documents(
    rng: np.random.Generator, not_employed: BoolArray, col: dict[str, Column]
) -> FloatArray:
    """Most clients hand in exactly one document: a single draw picks which."""
    n = len(not_employed)
    docs = [f"FLAG_DOCUMENT_{i}" for i in range(2, 22)]
    shares = [level_shares(APP, d).get("1", 0.0) for d in docs]
    none = max(1.0 - sum(shares), 0.0)
    pick = categorical_from_uniform(rng.random(n), [*shares, none])
    for i, d in enumerate(docs):
        col[d] = (pick == i).astype(np.int64)
    doc3 = col["FLAG_DOCUMENT_3"]
    return np.where(doc3 == 1, 0.12, -0.12) * np.where(not_employed, 0.5, 1.0)


def _history_counts(
    rng: np.random.Generator, age_years: FloatArray, ref: BoolArray
) -> tuple[BoolArray, IntArray, BoolArray, IntArray]:
    """How many bureau records and previous applications each client has.

    Means follow the real row counts per client (schema ``kaggle_rows``), older clients
    having more history; bureau_balance is reported for about half the clients with a
    bureau record.
    """
    n = len(age_years)
    per_client_bureau = TABLES["bureau"].kaggle_rows / KAGGLE_CLIENTS
    per_client_prev = TABLES["previous_application"].kaggle_rows / KAGGLE_CLIENTS
    age_z = (age_years - 43.0) / 12.0
    p_bureau = sigmoid(logit(BUREAU_CLIENT_SHARE) + 0.35 * age_z)
    has_bureau = rng.random(n) < p_bureau
    mean_b = per_client_bureau / BUREAU_CLIENT_SHARE - 1.0
    scale_b = np.exp(0.25 * age_z)
    scale_b /= scale_b[ref].mean()
    n_bureau = np.where(has_bureau, 1 + _negative_binomial(rng, mean_b * scale_b, 1.4), 0)
    bureau_monthly = has_bureau & (rng.random(n) < 0.45)

    has_prev = rng.random(n) < PREVIOUS_CLIENT_SHARE
    mean_p = per_client_prev / PREVIOUS_CLIENT_SHARE - 1.0
    n_prev = np.where(has_prev, 1 + _negative_binomial(rng, np.full(n, mean_p), 1.2), 0)
    return has_bureau, n_bureau.astype(np.int64), bureau_monthly, n_prev.astype(np.int64)


def _negative_binomial(rng: np.random.Generator, mean: FloatArray, shape: float) -> IntArray:
    """Over-dispersed counts (a gamma-Poisson mixture) by inversion of one uniform each:
    rejection samplers use a data-dependent number of draws, which would let the drifted
    test clients shift the stream of the training clients."""
    m = np.asarray(mean, dtype=np.float64)
    u = rng.random(len(m))
    q = m / (shape + m)  # pmf(k + 1) = pmf(k) * (k + shape) / (k + 1) * q
    pmf = (1.0 - q) ** shape
    cdf = pmf.copy()
    count = np.zeros(len(m), dtype=np.int64)
    for k in range(400):  # far beyond any count drawn here (means of a few units)
        below = cdf < u
        if not below.any():
            break
        count += below
        pmf = pmf * (k + shape) / (k + 1) * q
        cdf += pmf
    return count


def _enquiries(
    rng: np.random.Generator,
    g: FloatArray,
    has_bureau: BoolArray,
    col: dict[str, Column],
    ref: BoolArray,
) -> FloatArray:
    """Credit-bureau enquiries: missing mostly for clients without bureau records."""
    n = len(g)
    rate = missing_rate(APP, "AMT_REQ_CREDIT_BUREAU_YEAR")
    p_no = 1.0 - has_bureau[ref].mean()
    in_no = min(rate / max(p_no, 1e-9) * 0.88, 0.95)
    in_has = max(rate - p_no * in_no, 0.0) / max(1.0 - p_no, 1e-9)
    missing = np.where(has_bureau, rng.random(n) < in_has, rng.random(n) < in_no)
    hunger = latent(rng, n, (0.3, g))
    for period in ("HOUR", "DAY", "WEEK", "MON", "QRT", "YEAR"):
        name = f"AMT_REQ_CREDIT_BUREAU_{period}"
        z = latent(rng, n, (0.6, hunger))
        entry = column_profile(APP, name)
        if "values" in entry:
            shares = level_shares(APP, name)
            order = tuple(sorted(shares, key=float))
            cat = _ordered(ndtr(z), shares, order)
            values = np.array([float(v) for v in cat.levels])[cat.codes]
        else:
            values = np.round(quantile_function(APP, name).of_normal(z))
        col[name] = np.where(missing, np.nan, values)
    return np.where(missing, 0.1, 0.0)


def _calibrate(eta: FloatArray, rate: float) -> float:
    """The intercept b0 with mean(sigmoid(b0 + eta)) = rate (bisection)."""
    lo, hi = -15.0, 5.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if sigmoid(mid + eta).mean() > rate:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
