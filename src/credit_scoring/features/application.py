"""Features of the application itself: cleaned raw columns, ratios, external scores.

Row-wise arithmetic in NumPy on the columns of a pandas frame (the edge: a served application
arrives as a data frame). Every operation is element-wise, so a row's features do not depend on
the other rows of the frame.
Categorical columns keep a pandas ``category`` dtype whose levels come from application_train
(sorted, XNA excluded): the same levels for the training table, the production batch and a single
served client. Encoding them (one-hot, target encoding) belongs to each model's pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL, TABLES
from credit_scoring.features.catalog import Feature
from credit_scoring.features.rates import REFERENCE_YEARLY_RATE, implied_term
from credit_scoring.labels import label

_COLUMNS = [c for c in TABLES["application_test"].columns if c.name != CLIENT_ID]
#: Raw string columns, kept as ``category``.
CATEGORICAL: tuple[str, ...] = tuple(c.name for c in _COLUMNS if c.dtype == "object")
#: Day offsets (negative, before the application) shown as positive years instead.
DAYS_TO_YEARS: dict[str, str] = {
    "DAYS_BIRTH": "AGE_YEARS",
    "DAYS_EMPLOYED": "YEARS_EMPLOYED",
    "DAYS_REGISTRATION": "YEARS_REGISTRATION",
    "DAYS_ID_PUBLISH": "YEARS_ID_PUBLISH",
    "DAYS_LAST_PHONE_CHANGE": "YEARS_LAST_PHONE_CHANGE",
}
DAYS_PER_YEAR = 365.25
EXT_SOURCES = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")
# Weights of the weighted external score, those of a popular public kernel; the weighted mean is
# taken over the scores present, so one missing score does not blank it.
EXT_WEIGHTS = {"EXT_SOURCE_1": 2.0, "EXT_SOURCE_2": 1.0, "EXT_SOURCE_3": 3.0}
# The block describing the client's building (normalised scores, mostly missing together).
_BUILDING = tuple(c.name for c in _COLUMNS if c.name.endswith(("_AVG", "_MODE", "_MEDI")))
_DOCUMENTS = tuple(c.name for c in _COLUMNS if c.name.startswith("FLAG_DOCUMENT_"))
_CONTACTS = ("FLAG_MOBIL", "FLAG_EMP_PHONE", "FLAG_WORK_PHONE", "FLAG_PHONE", "FLAG_EMAIL")
_ADDRESS_MISMATCHES = (
    "REG_REGION_NOT_LIVE_REGION",
    "REG_REGION_NOT_WORK_REGION",
    "LIVE_REGION_NOT_WORK_REGION",
    "REG_CITY_NOT_LIVE_CITY",
    "REG_CITY_NOT_WORK_CITY",
    "LIVE_CITY_NOT_WORK_CITY",
)
_BUREAU_REQUESTS = tuple(c.name for c in _COLUMNS if c.name.startswith("AMT_REQ_CREDIT_BUREAU_"))

# --- labels of the raw columns labels.py does not name ------------------------------------------

_BUILDING_FR = {
    "APARTMENTS": "surface des appartements",
    "BASEMENTAREA": "surface du sous-sol",
    "YEARS_BEGINEXPLUATATION": "ancienneté d'exploitation",
    "YEARS_BUILD": "année de construction",
    "COMMONAREA": "surface des parties communes",
    "ELEVATORS": "nombre d'ascenseurs",
    "ENTRANCES": "nombre d'entrées",
    "FLOORSMAX": "nombre d'étages (le plus haut)",
    "FLOORSMIN": "nombre d'étages (le plus bas)",
    "LANDAREA": "surface du terrain",
    "LIVINGAPARTMENTS": "nombre de logements habités",
    "LIVINGAREA": "surface habitable",
    "NONLIVINGAPARTMENTS": "nombre de locaux non habités",
    "NONLIVINGAREA": "surface non habitable",
    "TOTALAREA": "surface totale",
    "FONDKAPREMONT": "fonds de travaux",
    "HOUSETYPE": "type de bâtiment",
    "WALLSMATERIAL": "matériau des murs",
    "EMERGENCYSTATE": "état d'urgence déclaré",
}
_STAT_FR = {"AVG": "moyenne", "MODE": "valeur la plus fréquente", "MEDI": "médiane"}
_REQUEST_FR = {
    "HOUR": "dans l'heure",
    "DAY": "dans la journée",
    "WEEK": "dans la semaine",
    "MON": "dans le mois",
    "QRT": "dans le trimestre",
    "YEAR": "dans l'année",
}
_RAW_FR = {
    "FLAG_MOBIL": "A donné un numéro de portable",
    "FLAG_EMP_PHONE": "A donné un téléphone professionnel",
    "FLAG_WORK_PHONE": "A donné un téléphone fixe",
    "FLAG_CONT_MOBILE": "Portable joignable",
    "FLAG_PHONE": "A donné un téléphone fixe personnel",
    "FLAG_EMAIL": "A donné une adresse électronique",
    "WEEKDAY_APPR_PROCESS_START": "Jour de la semaine de la demande",
    "HOUR_APPR_PROCESS_START": "Heure de la demande",
    "REG_REGION_NOT_LIVE_REGION": "Adresse officielle dans une autre région que celle de contact",
    "REG_REGION_NOT_WORK_REGION": "Adresse officielle dans une autre région que le travail",
    "LIVE_REGION_NOT_WORK_REGION": "Adresse de contact dans une autre région que le travail",
    "REG_CITY_NOT_LIVE_CITY": "Adresse officielle dans une autre ville que celle de contact",
    "REG_CITY_NOT_WORK_CITY": "Adresse officielle dans une autre ville que le travail",
    "LIVE_CITY_NOT_WORK_CITY": "Adresse de contact dans une autre ville que le travail",
    "OBS_60_CNT_SOCIAL_CIRCLE": "Proches observés avec un retard de 60 jours",
    "DEF_60_CNT_SOCIAL_CIRCLE": "Proches en défaut à 60 jours",
    "DAYS_EMPLOYED": "Ancienneté dans l'emploi actuel",
}
_YEARS_FR = {
    "AGE_YEARS": "Âge du client",
    "YEARS_EMPLOYED": "Ancienneté dans l'emploi actuel",
    "YEARS_REGISTRATION": "Ancienneté de l'adresse officielle",
    "YEARS_ID_PUBLISH": "Ancienneté de la pièce d'identité",
    "YEARS_LAST_PHONE_CHANGE": "Ancienneté du numéro de téléphone",
}
_ACTIONABLE_RAW = frozenset({"AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"})
_RAW_DIRECTION = {"EXT_SOURCE_1": "-", "EXT_SOURCE_2": "-", "EXT_SOURCE_3": "-"}


def raw_label(column: str) -> str:
    """The French label of a raw application column kept as a feature.

    >>> raw_label("LIVINGAREA_MEDI")
    'Immeuble : surface habitable (médiane)'
    >>> raw_label("FLAG_DOCUMENT_6")
    'Document 6 fourni'
    >>> raw_label("AMT_REQ_CREDIT_BUREAU_QRT").startswith("Consultations du bureau de crédit")
    True
    """
    if column in _YEARS_FR:
        return _YEARS_FR[column]
    if column in _RAW_FR:
        return _RAW_FR[column]
    if label(column) != column:
        return label(column)
    if column in _BUILDING:
        thing, stat = column.rsplit("_", 1)
        return f"Immeuble : {_BUILDING_FR[thing]} ({_STAT_FR[stat]})"
    if column.startswith("FLAG_DOCUMENT_"):
        return f"Document {column.rsplit('_', 1)[1]} fourni"
    if column.startswith("AMT_REQ_CREDIT_BUREAU_"):
        period = _REQUEST_FR[column.rsplit("_", 1)[1]]
        return f"Consultations du bureau de crédit {period} avant la demande"
    raise KeyError(f"no French label for application column {column!r}")


def _raw_unit(column: str) -> str:
    if column in _YEARS_FR or column == "OWN_CAR_AGE":
        return "années"
    if column.startswith("AMT_") and not column.startswith("AMT_REQ_"):
        return "€"
    return ""


def _feature(
    name: str,
    label: str,
    unit: str,
    aggregation: str,
    actionable: bool = False,
    direction="",
    group: str = "",
) -> Feature:
    return Feature(
        name=name,
        source="application",
        aggregation=aggregation,
        label_fr=label,
        unit=unit,
        actionable=actionable,
        direction=direction,
        group=group,
    )


def raw_features() -> list[Feature]:
    """The application's own columns, cleaned, in schema order (day offsets as years)."""
    features = []
    for column in _COLUMNS:
        name = DAYS_TO_YEARS.get(column.name, column.name)
        if name in DAYS_TO_YEARS.values():
            aggregation = f"-{column.name} / 365.25"
        elif column.name in CATEGORICAL:
            aggregation = "category (levels of application_train, XNA as missing)"
        else:
            aggregation = "raw value"
        features.append(
            _feature(
                name,
                raw_label(name),
                _raw_unit(name),
                aggregation,
                name in _ACTIONABLE_RAW,
                _RAW_DIRECTION.get(name, ""),
            )
        )
    return features


def derived_features() -> list[Feature]:
    """Ratios and combinations computed from one application row."""
    f = _feature
    return [
        f(
            "DAYS_EMPLOYED_ANOM",
            "Aucun emploi déclaré (retraité ou sans activité)",
            "",
            f"1 when DAYS_EMPLOYED is the {DAYS_SENTINEL} code",
        ),
        f(
            "EMPLOYED_TO_AGE",
            "Part de la vie passée dans l'emploi actuel",
            "ratio",
            "DAYS_EMPLOYED / DAYS_BIRTH",
            direction="-",
        ),
        f(
            "CREDIT_INCOME_RATIO",
            "Montant du crédit rapporté au revenu annuel",
            "ratio",
            "AMT_CREDIT / AMT_INCOME_TOTAL",
            True,
            "+",
        ),
        f(
            "ANNUITY_INCOME_RATIO",
            "Part du revenu consacrée aux remboursements",
            "ratio",
            "AMT_ANNUITY / AMT_INCOME_TOTAL",
            True,
            "+",
        ),
        f(
            "PAYMENT_RATE",
            "Annuité rapportée au montant du crédit",
            "ratio",
            "AMT_ANNUITY / AMT_CREDIT",
            True,
        ),
        f(
            "CREDIT_TERM",
            "Durée du crédit en nombre d'annuités",
            "",
            "AMT_CREDIT / AMT_ANNUITY",
            True,
        ),
        f(
            "CREDIT_GOODS_RATIO",
            "Montant du crédit rapporté au prix du bien",
            "ratio",
            "AMT_CREDIT / AMT_GOODS_PRICE",
            True,
            "+",
        ),
        f(
            "GOODS_CREDIT_DIFF",
            "Montant du bien payé sans crédit (apport)",
            "€",
            "AMT_GOODS_PRICE - AMT_CREDIT",
            True,
        ),
        f(
            "INCOME_PER_PERSON",
            "Revenu par membre du foyer",
            "€",
            "AMT_INCOME_TOTAL / CNT_FAM_MEMBERS",
            direction="-",
        ),
        f(
            "INCOME_AFTER_ANNUITY_PER_PERSON",
            "Revenu restant par membre du foyer après l'annuité",
            "€",
            "(AMT_INCOME_TOTAL - AMT_ANNUITY) / CNT_FAM_MEMBERS",
            True,
            "-",
        ),
        f(
            "CHILDREN_RATIO",
            "Part des enfants dans le foyer",
            "ratio",
            "CNT_CHILDREN / CNT_FAM_MEMBERS",
        ),
        f(
            "CAR_TO_AGE",
            "Âge de la voiture rapporté à l'âge du client",
            "ratio",
            "OWN_CAR_AGE / age in years",
        ),
        f(
            "EXT_SOURCES_MEAN",
            "Moyenne des scores externes",
            "",
            "mean of the EXT_SOURCE_* present",
            direction="-",
        ),
        f("EXT_SOURCES_MIN", "Plus faible des scores externes", "", "minimum", direction="-"),
        f("EXT_SOURCES_MAX", "Meilleur des scores externes", "", "maximum", direction="-"),
        f(
            "EXT_SOURCES_STD",
            "Écart entre les scores externes",
            "",
            "population standard deviation of the scores present",
        ),
        f(
            "EXT_SOURCES_PROD",
            "Produit des trois scores externes",
            "",
            "EXT_SOURCE_1 * EXT_SOURCE_2 * EXT_SOURCE_3 (missing if one is)",
            direction="-",
        ),
        f(
            "EXT_SOURCES_WEIGHTED",
            "Moyenne pondérée des scores externes",
            "",
            "weights 2, 1, 3 over the scores present",
            direction="-",
        ),
        f(
            "EXT_SOURCES_MISSING",
            "Nombre de scores externes manquants",
            "",
            "count of missing EXT_SOURCE_*",
        ),
        f("DOCUMENT_COUNT", "Nombre de documents fournis", "", "sum of FLAG_DOCUMENT_*"),
        f(
            "CONTACT_COUNT",
            "Nombre de moyens de contact donnés",
            "",
            "sum of phone and email flags",
        ),
        f(
            "ADDRESS_MISMATCH_COUNT",
            "Nombre d'écarts entre adresses officielle, de contact et de travail",
            "",
            "sum of REG_*/LIVE_*_NOT_* flags",
        ),
        f(
            "BUREAU_REQUESTS_TOTAL",
            "Consultations du bureau de crédit dans l'année avant la demande (total)",
            "",
            "sum of AMT_REQ_CREDIT_BUREAU_*",
        ),
        f(
            "SOCIAL_DEFAULT_RATE_30",
            "Part des proches en défaut à 30 jours",
            "ratio",
            "DEF_30_CNT_SOCIAL_CIRCLE / OBS_30_CNT_SOCIAL_CIRCLE",
            direction="+",
        ),
        f(
            "BUILDING_INFO_MISSING",
            "Part des informations sur l'immeuble non renseignées",
            "part",
            "share of missing building columns (*_AVG, *_MODE, *_MEDI)",
        ),
        f(
            "APP_IMPLIED_TERM",
            "Durée implicite du crédit demandé",
            "mois",
            f"standard term whose implied yearly rate is closest to {REFERENCE_YEARLY_RATE:.0%}"
            " (features.rates); missing for revolving loans",
            True,
            group="taux_implicite",
        ),
        f(
            "APP_IMPLIED_RATE",
            "Taux annuel implicite du crédit demandé",
            "part",
            "yearly rate implied by AMT_CREDIT, AMT_ANNUITY and APP_IMPLIED_TERM",
            True,
            "+",
            group="taux_implicite",
        ),
    ]


def application_features() -> list[Feature]:
    """Dictionary entries of the application features, in output order."""
    return raw_features() + derived_features()


# --- computation ---------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _levels_cached(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    from credit_scoring.features.engine import category_levels_from

    levels = category_levels_from(Path(path), CATEGORICAL)
    return tuple((c, tuple(levels[c])) for c in CATEGORICAL)


def category_levels(interim_dir: Path) -> dict[str, list[str]]:
    """Levels of each categorical column: sorted, as observed in application_train, XNA excluded.

    Cached per file version, so serving pays the read once.
    """
    from credit_scoring.features.engine import table_path

    path = table_path(interim_dir, "application_train")
    stat = os.stat(path)
    return {c: list(v) for c, v in _levels_cached(str(path), stat.st_mtime_ns, stat.st_size)}


Array = np.ndarray


#: Application rows: a data frame, or columns by name (arrays of equal length), the form a
#: served request takes without the cost of a pandas frame.
Rows = pd.DataFrame | Mapping[str, Any]


def _numeric(frame: Rows, column: str, length: int) -> Array:
    """A column as float64 (missing, or not a number: NaN)."""
    if column not in frame:
        return np.full(length, np.nan)
    values = frame[column]
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    if not isinstance(values, pd.Series):
        values = pd.Series(np.asarray(values, dtype=object))
    if values.dtype != "float64":
        values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype="float64", na_value=np.nan)


class Coded(NamedTuple):
    """A categorical feature as the codes of its levels (-1: missing).

    What :func:`columns` gives, so a served row costs no pandas object; :meth:`categorical`
    is the column the batch writes.

    >>> Coded(np.array([1, -1], dtype=np.int16), ("F", "M")).categorical().tolist()
    ['M', nan]
    """

    codes: npt.NDArray[np.int16]
    categories: tuple[str, ...]

    def categorical(self) -> pd.Categorical:
        """The column as a pandas ``category`` of :attr:`categories`."""
        return pd.Categorical.from_codes(self.codes, dtype=_coding(self.categories)[0])


def _nan_to_zero(values: Array) -> Array:
    """``np.nan_to_num(values, nan=0.0)``, without its overhead on the common finite input.

    >>> _nan_to_zero(np.array([1.5, np.nan])).tolist()
    [1.5, 0.0]
    >>> bool(_nan_to_zero(np.array([np.inf]))[0] == np.finfo(float).max)
    True
    """
    out = np.where(np.isnan(values), 0.0, values)
    if np.isinf(out).any():  # infinities become the largest finite floats, as nan_to_num does
        return np.nan_to_num(values, nan=0.0)
    return out


def _divide(a: Array, b: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    out[~np.isfinite(out)] = np.nan
    return out


@lru_cache(maxsize=64)
def _coding(levels: tuple[str, ...]) -> tuple[pd.CategoricalDtype, dict[Any, int]]:
    return pd.CategoricalDtype(list(levels)), {level: k for k, level in enumerate(levels)}


def _category(frame: Rows, column: str, levels: list[str], length: int) -> Coded:
    """The column coded on ``levels``: XNA, unseen levels and missing values are missing.

    Codes by dictionary look-up rather than ``pd.Categorical(values)``: the same codes, and a
    served row pays microseconds instead of a pandas factorisation.
    """
    categories = tuple(levels)
    _, code = _coding(categories)
    if column not in frame:
        codes = np.full(length, -1, dtype=np.int16)
    else:
        values = frame[column]
        values = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
        codes = np.fromiter((code.get(v, -1) for v in values), dtype=np.int16, count=length)
    return Coded(codes, categories)


def compute(applications: pd.DataFrame, levels: dict[str, list[str]]) -> pd.DataFrame:
    """Application features of each row, indexed by SK_ID_CURR, in input order.

    Columns missing from ``applications`` count as missing values; extra columns (TARGET
    included) are ignored.

    Examples
    --------
    >>> row = pd.DataFrame({"SK_ID_CURR": [1], "AMT_INCOME_TOTAL": [100.0], "AMT_CREDIT": [250.0],
    ...                     "DAYS_EMPLOYED": [365243], "CODE_GENDER": ["XNA"]})
    >>> out = compute(row, {c: ["F", "M"] if c == "CODE_GENDER" else [] for c in CATEGORICAL})
    >>> out.loc[1, ["CREDIT_INCOME_RATIO", "DAYS_EMPLOYED_ANOM"]].astype(float).tolist()
    [2.5, 1.0]
    >>> bool(pd.isna(out.loc[1, "CODE_GENDER"])), bool(pd.isna(out.loc[1, "YEARS_EMPLOYED"]))
    (True, True)
    """
    index = pd.Index(applications[CLIENT_ID].to_numpy(dtype="int64"), name=CLIENT_ID)
    found = columns(applications, levels)
    return pd.DataFrame(
        {k: v.categorical() if isinstance(v, Coded) else v for k, v in found.items()},
        index=index,
    )


def columns(applications: Rows, levels: dict[str, list[str]]) -> dict[str, Array | Coded]:
    """Application features as arrays, in output order (see :func:`compute`).

    ``applications`` is a frame, or its columns by name: the serving path passes arrays of
    one row. NumPy arrays rather than pandas series: a served row costs microseconds, and
    element-wise operations give a row the same bits whatever the other rows.
    """
    frame = applications
    length = len(frame[CLIENT_ID])
    out: dict[str, Array | Coded] = {}
    raw: dict[str, Array] = {}
    for column in _COLUMNS:
        name = column.name
        if name in CATEGORICAL:
            out[name] = _category(frame, name, levels[name], length)
            continue
        values = raw[name] = _numeric(frame, name, length)
        if name.startswith("DAYS_"):
            values = np.where(values == DAYS_SENTINEL, np.nan, values)
        if name in DAYS_TO_YEARS:
            # 0.0 - x, not -x: 0 days gives +0.0 years, never -0.0.
            values = (0.0 - values) / DAYS_PER_YEAR
            name = DAYS_TO_YEARS[name]
        out[name] = values

    income, credit, annuity = raw["AMT_INCOME_TOTAL"], raw["AMT_CREDIT"], raw["AMT_ANNUITY"]
    goods, members = raw["AMT_GOODS_PRICE"], raw["CNT_FAM_MEMBERS"]
    days_employed = raw["DAYS_EMPLOYED"]
    out["DAYS_EMPLOYED_ANOM"] = (days_employed == DAYS_SENTINEL).astype("float64")
    out["EMPLOYED_TO_AGE"] = _divide(
        np.where(days_employed == DAYS_SENTINEL, np.nan, days_employed), raw["DAYS_BIRTH"]
    )
    out["CREDIT_INCOME_RATIO"] = _divide(credit, income)
    out["ANNUITY_INCOME_RATIO"] = _divide(annuity, income)
    out["PAYMENT_RATE"] = _divide(annuity, credit)
    out["CREDIT_TERM"] = _divide(credit, annuity)
    out["CREDIT_GOODS_RATIO"] = _divide(credit, goods)
    out["GOODS_CREDIT_DIFF"] = goods - credit
    out["INCOME_PER_PERSON"] = _divide(income, members)
    out["INCOME_AFTER_ANNUITY_PER_PERSON"] = _divide(income - annuity, members)
    out["CHILDREN_RATIO"] = _divide(raw["CNT_CHILDREN"], members)
    out["CAR_TO_AGE"] = _divide(raw["OWN_CAR_AGE"], out["AGE_YEARS"])

    ext = [raw[c] for c in EXT_SOURCES]
    present = [(~np.isnan(e)).astype("float64") for e in ext]
    filled = [_nan_to_zero(e) for e in ext]
    count = present[0] + present[1] + present[2]
    mean = _divide(filled[0] + filled[1] + filled[2], count)
    deviations = [
        np.where(p > 0, (e - mean) * (e - mean), 0.0) for e, p in zip(ext, present, strict=True)
    ]
    weights = [EXT_WEIGHTS[c] * p for c, p in zip(EXT_SOURCES, present, strict=True)]
    with np.errstate(invalid="ignore"):
        out["EXT_SOURCES_MEAN"] = mean
        out["EXT_SOURCES_MIN"] = np.fmin(np.fmin(ext[0], ext[1]), ext[2])
        out["EXT_SOURCES_MAX"] = np.fmax(np.fmax(ext[0], ext[1]), ext[2])
        out["EXT_SOURCES_STD"] = np.sqrt(
            _divide(deviations[0] + deviations[1] + deviations[2], count)
        )
    out["EXT_SOURCES_PROD"] = ext[0] * ext[1] * ext[2]
    out["EXT_SOURCES_WEIGHTED"] = _divide(
        filled[0] * weights[0] + filled[1] * weights[1] + filled[2] * weights[2],
        weights[0] + weights[1] + weights[2],
    )
    out["EXT_SOURCES_MISSING"] = 3.0 - count

    out["DOCUMENT_COUNT"] = _row_sum(raw, _DOCUMENTS)
    out["CONTACT_COUNT"] = _row_sum(raw, _CONTACTS)
    out["ADDRESS_MISMATCH_COUNT"] = _row_sum(raw, _ADDRESS_MISMATCHES)
    out["BUREAU_REQUESTS_TOTAL"] = _row_sum(raw, _BUREAU_REQUESTS, keep_missing=True)
    out["SOCIAL_DEFAULT_RATE_30"] = _divide(
        raw["DEF_30_CNT_SOCIAL_CIRCLE"], raw["OBS_30_CNT_SOCIAL_CIRCLE"]
    )
    missing = np.zeros(length)
    for column in _BUILDING:
        if column in CATEGORICAL:
            missing += out[column].codes < 0
        else:
            missing += np.isnan(raw[column])
    out["BUILDING_INFO_MISSING"] = missing / len(_BUILDING)

    # A revolving loan has no term: its annuity is a share of the card's limit.
    contract = out["NAME_CONTRACT_TYPE"]
    revolving = np.asarray(contract.codes) == _code_of(contract, "Revolving loans")
    term, rate = implied_term(credit, annuity)
    out["APP_IMPLIED_TERM"] = np.where(revolving, np.nan, term)
    out["APP_IMPLIED_RATE"] = np.where(revolving, np.nan, rate)
    return out


def _code_of(category: Coded, level: str) -> int:
    """The code of ``level`` in ``category`` (-2, matching no code, when it is not a level)."""
    return _coding(category.categories)[1].get(level, -2)


def _row_sum(
    raw: dict[str, Array], columns: tuple[str, ...], *, keep_missing: bool = False
) -> Array:
    """Sum across columns in a fixed order, so a row's result does not depend on the frame."""
    total = np.zeros_like(raw[columns[0]])
    seen = np.zeros(len(total), dtype=bool)
    for column in columns:
        values = raw[column]
        seen |= ~np.isnan(values)
        total = total + _nan_to_zero(values)
    return np.where(seen, total, np.nan) if keep_missing else total
