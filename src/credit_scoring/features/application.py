"""Features of the application itself: cleaned raw columns, ratios, external scores.

Row-wise arithmetic in pandas (the edge: a served application arrives as a data frame). Every
operation is element-wise, so a row's features do not depend on the other rows of the frame.
Categorical columns keep a pandas ``category`` dtype whose levels come from application_train
(sorted, XNA excluded): the same levels for the training table, the production batch and a single
served client. Encoding them (one-hot, target encoding) belongs to each model's pipeline.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL, TABLES
from credit_scoring.features.catalog import Feature
from credit_scoring.labels import COLUMN_LABELS_FR

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
# Weights of the weighted external score: the second and third scores carry more signal in the
# public kernels; the weighted mean is taken over the scores that are present.
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
    >>> raw_label("AMT_REQ_CREDIT_BUREAU_QRT")
    'Consultations du bureau de crédit dans le trimestre avant la demande'
    """
    if column in _YEARS_FR:
        return _YEARS_FR[column]
    if column in _RAW_FR:
        return _RAW_FR[column]
    if column in COLUMN_LABELS_FR:
        return COLUMN_LABELS_FR[column]
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
    name: str, label: str, unit: str, aggregation: str, actionable: bool = False, direction=""
) -> Feature:
    return Feature(
        name=name,
        source="application",
        aggregation=aggregation,
        label_fr=label,
        unit=unit,
        actionable=actionable,
        direction=direction,
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
            "Part du bien payée sans crédit (apport)",
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


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _divide(a: pd.Series, b: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    return out.where(np.isfinite(out))


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
    index = pd.Index(applications[CLIENT_ID].astype("int64").to_numpy(), name=CLIENT_ID)
    frame = applications.set_axis(index, axis=0)
    out: dict[str, pd.Series] = {}
    for column in _COLUMNS:
        name = column.name
        if name in CATEGORICAL:
            values = frame[name] if name in frame else pd.Series(np.nan, index=index)
            values = values.astype("object").where(values.astype("object") != "XNA")
            out[name] = pd.Series(
                pd.Categorical(values, categories=levels[name]), index=index, name=name
            )
            continue
        values = _numeric(frame, name)
        if name.startswith("DAYS_"):
            values = values.where(values != DAYS_SENTINEL)
        if name in DAYS_TO_YEARS:
            # 0.0 - x, not -x: keeps 0 days as +0.0 years, identical whatever the frame.
            values = (0.0 - values) / DAYS_PER_YEAR
            name = DAYS_TO_YEARS[name]
        out[name] = values

    n = {c: _numeric(frame, c) for c in ("AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY")}
    goods, members = _numeric(frame, "AMT_GOODS_PRICE"), _numeric(frame, "CNT_FAM_MEMBERS")
    days_employed = _numeric(frame, "DAYS_EMPLOYED")
    out["DAYS_EMPLOYED_ANOM"] = (days_employed == DAYS_SENTINEL).astype("float64")
    out["EMPLOYED_TO_AGE"] = _divide(
        days_employed.where(days_employed != DAYS_SENTINEL), _numeric(frame, "DAYS_BIRTH")
    )
    out["CREDIT_INCOME_RATIO"] = _divide(n["AMT_CREDIT"], n["AMT_INCOME_TOTAL"])
    out["ANNUITY_INCOME_RATIO"] = _divide(n["AMT_ANNUITY"], n["AMT_INCOME_TOTAL"])
    out["PAYMENT_RATE"] = _divide(n["AMT_ANNUITY"], n["AMT_CREDIT"])
    out["CREDIT_TERM"] = _divide(n["AMT_CREDIT"], n["AMT_ANNUITY"])
    out["CREDIT_GOODS_RATIO"] = _divide(n["AMT_CREDIT"], goods)
    out["GOODS_CREDIT_DIFF"] = goods - n["AMT_CREDIT"]
    out["INCOME_PER_PERSON"] = _divide(n["AMT_INCOME_TOTAL"], members)
    out["INCOME_AFTER_ANNUITY_PER_PERSON"] = _divide(
        n["AMT_INCOME_TOTAL"] - n["AMT_ANNUITY"], members
    )
    out["CHILDREN_RATIO"] = _divide(_numeric(frame, "CNT_CHILDREN"), members)
    out["CAR_TO_AGE"] = _divide(_numeric(frame, "OWN_CAR_AGE"), out["AGE_YEARS"])

    ext = [_numeric(frame, c) for c in EXT_SOURCES]
    present = [e.notna().astype("float64") for e in ext]
    count = present[0] + present[1] + present[2]
    total = ext[0].fillna(0.0) + ext[1].fillna(0.0) + ext[2].fillna(0.0)
    mean = _divide(total, count)
    squares = sum(((e - mean) * (e - mean)).fillna(0.0) for e in ext)
    weights = [EXT_WEIGHTS[c] * p for c, p in zip(EXT_SOURCES, present, strict=True)]
    weighted = sum(
        (e.fillna(0.0) * w for e, w in zip(ext, weights, strict=True)), start=pd.Series(0.0, index)
    )
    out["EXT_SOURCES_MEAN"] = mean
    out["EXT_SOURCES_MIN"] = pd.concat(ext, axis=1).min(axis=1, skipna=True)
    out["EXT_SOURCES_MAX"] = pd.concat(ext, axis=1).max(axis=1, skipna=True)
    out["EXT_SOURCES_STD"] = np.sqrt(_divide(squares, count))
    out["EXT_SOURCES_PROD"] = ext[0] * ext[1] * ext[2]
    out["EXT_SOURCES_WEIGHTED"] = _divide(weighted, weights[0] + weights[1] + weights[2])
    out["EXT_SOURCES_MISSING"] = 3.0 - count

    out["DOCUMENT_COUNT"] = _row_sum(frame, _DOCUMENTS, index)
    out["CONTACT_COUNT"] = _row_sum(frame, _CONTACTS, index)
    out["ADDRESS_MISMATCH_COUNT"] = _row_sum(frame, _ADDRESS_MISMATCHES, index)
    out["BUREAU_REQUESTS_TOTAL"] = _row_sum(frame, _BUREAU_REQUESTS, index, keep_missing=True)
    out["SOCIAL_DEFAULT_RATE_30"] = _divide(
        _numeric(frame, "DEF_30_CNT_SOCIAL_CIRCLE"), _numeric(frame, "OBS_30_CNT_SOCIAL_CIRCLE")
    )
    missing = sum((_raw_missing(frame, c) for c in _BUILDING), start=pd.Series(0.0, index=index))
    out["BUILDING_INFO_MISSING"] = missing / len(_BUILDING)
    return pd.DataFrame(out, index=index)


def _raw_missing(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(1.0, index=frame.index)
    return frame[column].isna().astype("float64")


def _row_sum(
    frame: pd.DataFrame, columns: tuple[str, ...], index: pd.Index, *, keep_missing: bool = False
) -> pd.Series:
    """Sum across columns in a fixed order, so a row's result does not depend on the frame."""
    total = pd.Series(0.0, index=index)
    seen = pd.Series(False, index=index)
    for column in columns:
        values = _numeric(frame, column)
        seen |= values.notna()
        total = total + values.fillna(0.0)
    return total.where(seen) if keep_missing else total
