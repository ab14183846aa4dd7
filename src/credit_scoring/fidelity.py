"""How close the data the pipeline ran on is to the real Home Credit files.

The data twin is built from marginals measured on small real samples
(``credit_scoring/data/homecredit_profile.json``). This module measures the same marginals on
the prepared tables (``data/interim/*.parquet``) and puts them side by side, for the site's
"Données" page. On the real Kaggle files the comparison reads "the full real files against a
small real sample": the gaps are then sampling noise.

Examples
--------
>>> train = pd.DataFrame({"TARGET": [0, 0, 0, 1], "EXT_SOURCE_2": [0.1, 0.5, None, 0.9]})
>>> profile = {"target_rate": 0.08, "columns": {"EXT_SOURCE_2": {"missing_rate": 0.0,
...     "quantiles": {"0.05": 0.1, "0.5": 0.5, "0.95": 0.8}}}}
>>> t = key_columns_table(train, profile, ["EXT_SOURCE_2"])
>>> t.loc["Score externe 2", ["manquants (données)", "manquants (réel)"]].tolist()
[0.25, 0.0]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from credit_scoring import paths
from credit_scoring.labels import label

#: Numerical columns of ``application_train`` compared quantile by quantile.
KEY_COLUMNS: tuple[str, ...] = (
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    "DAYS_BIRTH",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "OWN_CAR_AGE",
)
#: Categorical columns whose most frequent level is compared.
KEY_CATEGORIES: tuple[str, ...] = (
    "CODE_GENDER",
    "NAME_CONTRACT_TYPE",
    "NAME_INCOME_TYPE",
    "NAME_EDUCATION_TYPE",
    "NAME_FAMILY_STATUS",
)
QUANTILES: tuple[str, ...] = ("0.05", "0.5", "0.95")
_DAYS_PER_YEAR = 365.25


def load_profile() -> dict[str, Any]:
    """The measured marginals of the real samples, by table (``tables`` of the JSON file)."""
    text = resources.files("credit_scoring.data").joinpath("homecredit_profile.json").read_text()
    return dict(json.loads(text)["tables"])


def _years(column: str) -> bool:
    return column.startswith("DAYS_")


def _quantile(values: pd.Series, column: str, q: str) -> float:
    """Quantile ``q`` of a column, in years of age for ``DAYS_*`` (day counts are negative)."""
    if _years(column):
        return float(-values.quantile(1 - float(q)) / _DAYS_PER_YEAR)
    return float(values.quantile(float(q)))


def _profile_quantile(spec: dict[str, Any], column: str, q: str) -> float:
    quantiles = spec.get("quantiles", {})
    if _years(column):
        other = f"{1 - float(q):g}"
        value = quantiles.get(other, quantiles.get(f"{1 - float(q):.2f}", np.nan))
        return float(-value / _DAYS_PER_YEAR)
    return float(quantiles.get(q, np.nan))


def key_columns_table(
    train: pd.DataFrame, profile: dict[str, Any], columns: Sequence[str] = KEY_COLUMNS
) -> pd.DataFrame:
    """Missing rate and quantiles of key numerical columns, the data against the real sample.

    Parameters
    ----------
    train
        ``application_train`` as prepared (at least ``columns``).
    profile
        The ``application_train`` entry of :func:`load_profile`.
    columns
        Numerical columns to compare; ``DAYS_*`` columns are shown as years.

    Returns
    -------
    pandas.DataFrame
        Indexed by the French column name: ``manquants`` and each quantile (``médiane``,
        ``5e centile``, ``95e centile``), each as ``(données)`` and ``(réel)``.
    """
    names = {"0.05": "5e centile", "0.5": "médiane", "0.95": "95e centile"}
    rows = []
    for column in columns:
        spec = profile["columns"].get(column)
        if spec is None or column not in train:
            continue
        values = pd.to_numeric(train[column], errors="coerce")
        row: dict[str, Any] = {
            "variable": label(column) + (" (ans)" if _years(column) else ""),
            "manquants (données)": float(values.isna().mean()),
            "manquants (réel)": float(spec.get("missing_rate", np.nan)),
        }
        for q in QUANTILES:
            row[f"{names[q]} (données)"] = _quantile(values.dropna(), column, q)
            row[f"{names[q]} (réel)"] = _profile_quantile(spec, column, q)
        rows.append(row)
    return pd.DataFrame(rows).set_index("variable")


def categories_table(
    train: pd.DataFrame, profile: dict[str, Any], columns: Sequence[str] = KEY_CATEGORIES
) -> pd.DataFrame:
    """Share of the most frequent level (in the real sample) of categorical columns.

    Examples
    --------
    >>> train = pd.DataFrame({"CODE_GENDER": ["F", "F", "M", "F"]})
    >>> spec = {"columns": {"CODE_GENDER": {"values": {"F": 0.65, "M": 0.35}}}}
    >>> categories_table(train, spec, ["CODE_GENDER"])["part (données)"].tolist()
    [0.75]
    """
    rows = []
    for column in columns:
        spec = profile["columns"].get(column)
        if spec is None or column not in train or not spec.get("values"):
            continue
        level, share = max(spec["values"].items(), key=lambda kv: kv[1])
        rows.append(
            {
                "variable": label(column),
                "modalité": level,
                "part (données)": float((train[column].astype("string") == level).mean()),
                "part (réel)": float(share),
            }
        )
    return pd.DataFrame(rows).set_index("variable")


#: Quantile levels of the real samples compared by :func:`quantile_gap` (the 1st and 99th
#: centiles of a 1,000-row sample are too noisy to compare).
GAP_LEVELS: tuple[str, ...] = ("0.05", "0.25", "0.5", "0.75", "0.95")
#: Fewest real non-missing values behind a quantile worth comparing.
MIN_REAL_VALUES = 200
#: Largest gaps the twin may show against the real samples (shares of rows): the twin's tests
#: hold it to them and the site quotes them. The real side tables were sampled 1,000 rows at a
#: time, so their quantiles are looser than the application's.
TOLERANCES: dict[str, float] = {
    "missing": 0.05,
    "shares": 0.10,
    "application_quantiles": 0.10,
    "history_quantiles": 0.20,
}


def quantile_gap(values: np.ndarray, quantiles: dict[str, float]) -> float:
    """How far a column's distribution is from the real one, as a share of rows.

    For each real quantile level ``p`` of :data:`GAP_LEVELS` with value ``q``, the data should
    have a share ``p`` of its values below ``q``; with ties at ``q`` (a mass of zeros) any share
    between the shares strictly below and at or below ``q`` fits. The gap is the largest miss.

    Examples
    --------
    >>> quantile_gap(np.arange(100.0), {"0.25": 24.5, "0.5": 49.5, "0.75": 74.5})
    0.0
    >>> quantile_gap(np.arange(100.0), {"0.5": 89.5})
    0.4
    >>> quantile_gap(np.zeros(10), {"0.25": 0.0, "0.5": 0.0})  # a mass at zero fits any level
    0.0
    """
    if len(values) == 0:
        return float("nan")
    ordered = np.sort(values)
    gaps = [0.0]
    for level, q in quantiles.items():
        if level not in GAP_LEVELS:
            continue
        below = np.searchsorted(ordered, q, side="left") / len(ordered)
        at_or_below = np.searchsorted(ordered, q, side="right") / len(ordered)
        gaps.append(max(below - float(level), float(level) - at_or_below))
    return round(float(max(gaps)), 6)


def share_gap(values: pd.Series, shares: dict[str, float]) -> float:
    """Total variation distance between a categorical column's level shares and the real ones.

    Examples
    --------
    >>> share_gap(pd.Series(["F", "F", "M", None]), {"F": 0.5, "M": 0.5})
    0.166667
    """
    ours = values.dropna().astype(str).value_counts(normalize=True)
    levels = set(ours.index) | set(shares)
    return round(float(0.5 * sum(abs(ours.get(v, 0.0) - shares.get(v, 0.0)) for v in levels)), 6)


def column_gaps(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Every profiled column of one table against the real sample.

    Parameters
    ----------
    frame
        The table, as pandas reads it (the identifier columns are skipped).
    spec
        The table's entry of :func:`load_profile`.

    Returns
    -------
    pandas.DataFrame
        Indexed by column: ``missing`` (absolute gap of the missing rates), ``quantiles``
        (:func:`quantile_gap`, numerical columns) and ``shares`` (:func:`share_gap`, text
        columns), NaN where a measure does not apply; and ``real_values``, the number of
        non-missing values the real figures come from (a quantile of a few dozen values is
        mostly noise).
    """
    sample_rows = float(spec.get("sample_rows") or np.nan)
    rows = {}
    for column, real in spec["columns"].items():
        if column not in frame or column.startswith("SK_ID_"):
            continue
        values = frame[column]
        text = not pd.api.types.is_numeric_dtype(values)
        rows[column] = {
            "missing": abs(float(values.isna().mean()) - real.get("missing_rate", 0.0)),
            "quantiles": (
                quantile_gap(values.dropna().to_numpy(dtype=float), real["quantiles"])
                if not text and "quantiles" in real
                else np.nan
            ),
            "shares": share_gap(values, real["values"]) if text and "values" in real else np.nan,
            "real_values": np.rint(sample_rows * (1 - real.get("missing_rate", 0.0))),
        }
    columns = ["missing", "quantiles", "shares", "real_values"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def tables_table(interim_dir: Path, profile: dict[str, Any]) -> pd.DataFrame:
    """For each table: the mean gap between the data's and the real sample's missing rates,
    the number of columns whose gap exceeds 5 points, and the median and largest
    :func:`quantile_gap` of its numerical columns with at least :data:`MIN_REAL_VALUES` real
    values. Tables are read one column at a time (the side tables have millions of rows)."""
    rows = []
    for table, spec in profile.items():
        path = Path(interim_dir) / f"{table}.parquet"
        if not path.exists():
            continue
        file = pq.ParquetFile(path)
        present = set(file.schema_arrow.names)
        one_column_gaps = [
            column_gaps(
                file.read(columns=[c]).to_pandas(),
                {"sample_rows": spec.get("sample_rows"), "columns": {c: real}},
            )
            for c, real in spec["columns"].items()
            if c in present
        ]
        gaps = pd.concat([g for g in one_column_gaps if len(g)])
        quantiles = gaps.loc[gaps["real_values"] >= MIN_REAL_VALUES, "quantiles"].dropna()
        worst = quantiles.idxmax() if len(quantiles) else "-"
        rows.append(
            {
                "table": table,
                "colonnes comparées": len(gaps),
                "écart moyen des taux de manquants (points)": float(gaps["missing"].mean()),
                "colonnes à plus de 5 points": int((gaps["missing"] > 0.05).sum()),
                "écart médian des quantiles (points)": float(quantiles.median()),
                "écart maximal des quantiles (points)": float(quantiles.max()),
                "colonne la plus éloignée": worst,
            }
        )
    return pd.DataFrame(rows).set_index("table")


def compare(interim_dir: Path = paths.INTERIM_DIR) -> dict[str, Any]:
    """Every comparison of the "Données" page, from the prepared tables.

    Returns
    -------
    dict
        ``default_rate`` (data, real), ``sample_rows`` (of the real sample), ``columns``
        (:func:`key_columns_table`), ``categories`` (:func:`categories_table`) and ``tables``
        (:func:`tables_table`).
    """
    profile = load_profile()
    app = profile["application_train"]
    wanted = ["TARGET", *KEY_COLUMNS, *KEY_CATEGORIES]
    path = Path(interim_dir) / "application_train.parquet"
    present = set(pq.ParquetFile(path).schema_arrow.names)
    train = pd.read_parquet(path, columns=[c for c in wanted if c in present])
    return {
        "default_rate": (float(train["TARGET"].mean()), float(app["target_rate"])),
        "sample_rows": int(app["sample_rows"]),
        "columns": key_columns_table(train, app),
        "categories": categories_table(train, app),
        "tables": tables_table(interim_dir, profile),
    }
