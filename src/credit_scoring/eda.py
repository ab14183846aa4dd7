"""Exploratory analysis of the application tables: the tables and figures of the ``eda`` report.

Pure functions of data frames; the notebook ``notebooks/01_eda.ipynb`` loads the data and shows
their results. Figures are matplotlib ``Figure`` objects with French labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_scoring import paths
from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL, TABLES, TARGET
from credit_scoring.labels import label, number

# Colour-blind-safe pair (Okabe-Ito): repaid / defaulted.
REPAID_COLOUR, DEFAULT_COLOUR = "#0072B2", "#D55E00"
SIDE_TABLES = [name for name in TABLES if not name.startswith("application")]
BUILDING_BLOCK = "BUILDING_BLOCK"


def read_interim(table: str, interim_dir: Path = paths.INTERIM_DIR, **kwargs: Any) -> pd.DataFrame:
    """Read one ingested table from ``data/interim``."""
    return pd.read_parquet(interim_dir / f"{table}.parquet", **kwargs)


def origin_statement(data_summary: dict[str, Any]) -> str:
    """One French sentence saying which data a report ran on, and which history tables, if
    any, came with no rows (their features are missing for every client).

    >>> origin_statement({"origin": "real", "tables": {}})
    'Données : fichiers Kaggle réels « Home Credit Default Risk ».'
    >>> origin_statement({"origin": "real", "empty_tables": ["bureau"]}).split(". ")[1][:34]
    'Table sans aucune ligne : `bureau`'
    >>> print(origin_statement({"origin": "twin", "twin": {"config": {"seed": 1, "clients": 3000,
    ...     "drift": 1.0}}}))  # doctest: +ELLIPSIS
    Données : **jumeau de données**, des clients synthétiques (graine 1, 3 000 demandes...
    """
    if data_summary["origin"] == "real":
        text = "Données : fichiers Kaggle réels « Home Credit Default Risk »."
    else:
        config = data_summary["twin"]["config"]
        text = (
            "Données : **jumeau de données**, des clients synthétiques (graine "
            f"{config['seed']}, {number(config['clients'])} demandes d'entraînement, dérive de "
            f"production {number(config['drift'], 1)}) générés par le projet. Aucune ligne "
            "réelle : les chiffres ci-dessous décrivent ce jumeau, pas une clientèle réelle."
        )
    empty = data_summary.get("empty_tables", [])
    if empty:
        names = ", ".join(f"`{t}`" for t in empty)
        text += (
            f" Table{'s' if len(empty) > 1 else ''} sans aucune ligne : {names} (aucun client "
            "n'a cet historique : ses variables manquent pour tous)."
        )
    return text


def target_summary(train: pd.DataFrame) -> pd.DataFrame:
    """Clients and share per outcome.

    >>> target_summary(pd.DataFrame({"TARGET": [0, 0, 0, 1]}))["part"].to_dict()
    {'Remboursé': 0.75, 'Défaut': 0.25}
    """
    counts = train[TARGET].value_counts().reindex([0, 1], fill_value=0)
    table = pd.DataFrame({"clients": counts, "part": counts / counts.sum()})
    table.index = pd.Index(["Remboursé", "Défaut"], name="issue")
    return table


BUILDING_SUFFIXES = ("_AVG", "_MODE", "_MEDI")


def building_columns(columns: Iterable[str]) -> list[str]:
    """The building-information block (``*_AVG``, ``*_MODE``, ``*_MEDI``), missing together.

    >>> building_columns(["APARTMENTS_AVG", "EXT_SOURCE_1", "FLOORSMAX_MEDI"])
    ['APARTMENTS_AVG', 'FLOORSMAX_MEDI']
    """
    return [c for c in columns if c.endswith(BUILDING_SUFFIXES)]


def missing_summary(frame: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Missing share of each column with missing values, most missing first.

    The building-information block counts as one row (its mean share), so that its dozens of
    columns do not hide the others. With ``TARGET`` present, also the default rate when the
    value is missing and when it is not.

    >>> df = pd.DataFrame({"A": [1.0, None, None, 4.0], "TARGET": [0, 1, 1, 0]})
    >>> missing_summary(df).loc["A"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'libellé': 'A', 'manquant': 0.5, 'défaut si manquant': 1.0, 'défaut si renseigné': 0.0}
    """
    building = building_columns(frame.columns)
    missing = frame.drop(columns=building).isna()
    if building:
        # A client "misses" the block when most of it is missing.
        missing[BUILDING_BLOCK] = frame[building].isna().mean(axis=1) > 0.5
    share = missing.mean()
    share = share[share > 0].sort_values(ascending=False)
    if top is not None:
        share = share.head(top)
    names = {BUILDING_BLOCK: f"Informations sur l'immeuble ({len(building)} colonnes)"}
    table = pd.DataFrame(
        {"libellé": [names.get(c, label(c)) for c in share.index], "manquant": share}
    )
    if TARGET in frame:
        flags = missing[share.index]
        target = frame[TARGET].to_numpy()[:, None]
        table["défaut si manquant"] = (flags * target).sum() / flags.sum()
        table["défaut si renseigné"] = (~flags * target).sum() / (~flags).sum()
    return table


def anomaly_summary(train: pd.DataFrame) -> pd.DataFrame:
    """The known quirks of the application table, with their size and default rate."""
    income_cap = train["AMT_INCOME_TOTAL"].quantile(0.999)
    checks = {
        f"DAYS_EMPLOYED = {DAYS_SENTINEL} (pas d'emploi : retraités, sans emploi)": train[
            "DAYS_EMPLOYED"
        ]
        == DAYS_SENTINEL,
        "ORGANIZATION_TYPE = XNA (employeur non renseigné)": train["ORGANIZATION_TYPE"] == "XNA",
        "CODE_GENDER = XNA (genre non renseigné)": train["CODE_GENDER"] == "XNA",
        f"Revenu au-delà du 99,9e centile ({income_cap:,.0f})".replace(",", "\u202f"): train[
            "AMT_INCOME_TOTAL"
        ]
        > income_cap,
        "Score externe 1 manquant": train["EXT_SOURCE_1"].isna(),
        "Informations sur l'immeuble manquantes (APARTMENTS_AVG)": train["APARTMENTS_AVG"].isna(),
    }
    rows = []
    for name, mask in checks.items():
        rows.append(
            {
                "anomalie": name,
                "clients": int(mask.sum()),
                "part": float(mask.mean()),
                "défaut dans le groupe": float(train.loc[mask, TARGET].mean())
                if mask.any()
                else np.nan,
                "défaut hors groupe": float(train.loc[~mask, TARGET].mean()),
            }
        )
    return pd.DataFrame(rows).set_index("anomalie")


def default_rate_by(train: pd.DataFrame, column: str, bins: int = 5) -> pd.DataFrame:
    """Default rate per level (categorical) or per quantile bin (numeric), with missing apart.

    >>> df = pd.DataFrame({"G": ["a", "a", "b", None], "TARGET": [0, 1, 1, 0]})
    >>> default_rate_by(df, "G")["défaut"].to_dict()
    {'a': 0.5, 'b': 1.0, '(manquant)': 0.0}
    """
    values = train[column]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > bins:
        clean = values.where(values != DAYS_SENTINEL) if column.startswith("DAYS") else values
        groups = pd.qcut(clean, bins, duplicates="drop").astype(str)
        groups = groups.where(clean.notna(), "(manquant)")
    else:
        groups = values.astype("object").where(values.notna(), "(manquant)").astype(str)
    table = train.groupby(groups, sort=False)[TARGET].agg(clients="size", défaut="mean")
    order = [g for g in table.index if g != "(manquant)"]
    if not (pd.api.types.is_numeric_dtype(values) and values.nunique() > bins):
        order = sorted(order, key=lambda g: -table.loc[g, "clients"])
    else:
        order = sorted(order, key=lambda g: float(g.split(",")[0].strip("([")))
    if "(manquant)" in table.index:
        order.append("(manquant)")
    return table.loc[order].rename_axis(column)


def target_correlations(train: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Spearman correlation of each numeric column with the default, strongest first."""
    numeric = train.select_dtypes("number").drop(columns=[TARGET, CLIENT_ID])
    numeric = numeric.replace(DAYS_SENTINEL, np.nan)
    corr = numeric.corrwith(train[TARGET], method="spearman").dropna()
    corr = corr.reindex(corr.abs().sort_values(ascending=False).index).head(top)
    return pd.DataFrame({"libellé": [label(c) for c in corr.index], "corrélation": corr})


def side_table_summary(interim_dir: Path = paths.INTERIM_DIR) -> pd.DataFrame:
    """Rows of each side table and how many applicants have any history there."""
    applicants = pd.concat(
        [
            read_interim(t, interim_dir, columns=[CLIENT_ID])
            for t in ("application_train", "application_test")
        ]
    )[CLIENT_ID]
    rows = []
    for table in SIDE_TABLES:
        key = CLIENT_ID if CLIENT_ID in TABLES[table].column_names else "SK_ID_BUREAU"
        ids = read_interim(table, interim_dir, columns=[key])[key]
        if key == CLIENT_ID:
            clients = applicants.isin(ids.unique()).sum()
        else:  # bureau_balance reaches clients through bureau
            bureau = read_interim("bureau", interim_dir, columns=["SK_ID_BUREAU", CLIENT_ID])
            reached = bureau.loc[bureau["SK_ID_BUREAU"].isin(ids.unique()), CLIENT_ID].unique()
            clients = applicants.isin(reached).sum()
        rows.append(
            {
                "table": table,
                "lignes": len(ids),
                "clients avec historique": int(clients),
                "part des clients": clients / len(applicants),
                "lignes par client concerné": len(ids) / max(int(clients), 1),
            }
        )
    return pd.DataFrame(rows).set_index("table")


# --------------------------------------------------------------------------- figures


def plot_target(train: pd.DataFrame) -> Figure:
    """Bar chart of the two outcomes with their shares."""
    summary = target_summary(train)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bars = ax.barh(summary.index, summary["clients"], color=[REPAID_COLOUR, DEFAULT_COLOUR])
    for bar, share in zip(bars, summary["part"], strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {share:.1%}", va="center")
    ax.set_xlabel("Nombre de clients")
    ax.set_title("Issue des crédits d'entraînement")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_missing(summary: pd.DataFrame) -> Figure:
    """Horizontal bars of the missing share per column."""
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(summary) + 1))
    ax.barh(summary.index[::-1], summary["manquant"][::-1], color="#56B4E9")
    ax.set_xlabel("Part de valeurs manquantes")
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("Colonnes les plus incomplètes")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_distributions(
    train: pd.DataFrame, columns: list[str], sample_rows: int = 50_000, seed: int = 0
) -> Figure:
    """Histograms of numeric columns for repaid and defaulted clients (densities)."""
    sample = train.sample(min(sample_rows, len(train)), random_state=seed)
    ncols = 3
    nrows = int(np.ceil(len(columns) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, 3 * nrows), squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=False):
        values = sample[column].replace(DAYS_SENTINEL, np.nan)
        if column.startswith("DAYS"):
            values = -values / 365.25
            ax.set_xlabel("années")
        upper = values.quantile(0.99)
        for outcome, colour, name in (
            (0, REPAID_COLOUR, "remboursé"),
            (1, DEFAULT_COLOUR, "défaut"),
        ):
            part = values[(sample[TARGET] == outcome) & (values <= upper)].dropna()
            ax.hist(part, bins=40, density=True, alpha=0.55, color=colour, label=name)
        ax.set_title(label(column), fontsize=10)
        ax.set_yticks([])
    for ax in axes.flat[len(columns) :]:
        ax.set_visible(False)
    axes.flat[0].legend()
    fig.tight_layout()
    return fig


def plot_default_rates(train: pd.DataFrame, columns: list[str]) -> Figure:
    """Default rate per level or quintile of several columns, against the overall rate."""
    overall = train[TARGET].mean()
    ncols = 2
    nrows = int(np.ceil(len(columns) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, 3.2 * nrows), squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=False):
        rates = default_rate_by(train, column)
        rates = rates[rates["clients"] >= 30]
        ax.barh([str(i)[:32] for i in rates.index[::-1]], rates["défaut"][::-1], color="#E69F00")
        ax.axvline(overall, color="black", linestyle="--", linewidth=1)
        ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
        ax.set_title(label(column), fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
    for ax in axes.flat[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle(f"Taux de défaut par modalité (pointillés : moyenne {overall:.1%})")
    fig.tight_layout()
    return fig


def plot_correlations(correlations: pd.DataFrame) -> Figure:
    """Bars of the Spearman correlation with the default."""
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(correlations) + 1))
    values = correlations["corrélation"][::-1]
    colours = [DEFAULT_COLOUR if v > 0 else REPAID_COLOUR for v in values]
    ax.barh(correlations["libellé"][::-1], values, color=colours)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Corrélation de Spearman avec le défaut")
    ax.set_title("Liens avec le défaut (orange : plus de risque ; bleu : moins)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
