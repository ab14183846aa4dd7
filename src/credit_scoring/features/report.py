"""Tables and figures of the ``features`` report (``notebooks/02_features.ipynb``).

Pure functions of the feature tables and their dictionary; the notebook only calls them.

Examples
--------
>>> d = pd.DataFrame({"name": ["A", "B", "C"], "source": ["application", "bureau", "bureau"],
...                   "label_fr": ["a", "b", "c"]})
>>> count_by_source(d)["variables"].tolist()
[1, 2]
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_scoring import paths
from credit_scoring.data.schema import CLIENT_ID, TARGET

#: The sources in French, in the order of the tables.
SOURCE_FR: dict[str, str] = {
    "application": "Demande de crédit",
    "bureau": "Bureau de crédit : crédits déclarés",
    "bureau_balance": "Bureau de crédit : historique mensuel",
    "previous_application": "Demandes précédentes",
    "POS_CASH_balance": "Crédits précédents : historique mensuel",
    "installments_payments": "Crédits précédents : échéances payées",
    "credit_card_balance": "Cartes de crédit précédentes",
}
#: A feature per source whose non-zero value says the client has rows in that table.
_HAS_HISTORY = {
    "bureau": "BURO_COUNT",
    "bureau_balance": "BURO_BB_MONTHS_SUM",
    "previous_application": "PREV_COUNT",
    "POS_CASH_balance": "POS_COUNT",
    "installments_payments": "INST_COUNT",
    "credit_card_balance": "CC_COUNT",
}
BAR_COLOUR = "#0072B2"


def origin_note() -> str:
    """The sentence saying which data the pipeline ran on (twin or real), or "" before any run."""
    from credit_scoring.data.prepare import data_origin
    from credit_scoring.eda import origin_statement

    try:
        return origin_statement(data_origin())
    except FileNotFoundError:
        return ""


def features_dir_or_default(features_dir: str | Path = "") -> Path:
    """The folder of the feature tables: ``features_dir``, or ``data/features`` when empty."""
    return Path(features_dir) if str(features_dir) else paths.FEATURES_DIR


def load(features_dir: str | Path = "") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The training table, the production table and the dictionary written by the stage."""
    folder = features_dir_or_default(features_dir)
    train = pd.read_parquet(folder / "train.parquet").set_index(CLIENT_ID)
    production = pd.read_parquet(folder / "production.parquet").set_index(CLIENT_ID)
    dictionary = pd.read_csv(folder / "dictionary.csv", keep_default_na=False)
    dictionary["actionable"] = dictionary["actionable"].astype(str).eq("True")
    return train, production, dictionary


def count_by_source(dictionary: pd.DataFrame) -> pd.DataFrame:
    """Number of features per source table, with one example label."""
    rows = []
    for source, group in dictionary.groupby("source", sort=False):
        rows.append(
            {
                "source": SOURCE_FR.get(source, source),
                "table": source,
                "variables": len(group),
                "exemple": group["label_fr"].iloc[len(group) // 2],
            }
        )
    return pd.DataFrame(rows).set_index("source")


def coverage(train: pd.DataFrame, dictionary: pd.DataFrame) -> pd.Series:
    """Share of training clients with a non-missing value, per feature."""
    return train[dictionary["name"]].notna().mean()


def coverage_by_source(train: pd.DataFrame, dictionary: pd.DataFrame) -> pd.DataFrame:
    """Per source: share of clients with any row in it, and the median coverage of its features."""
    shares = coverage(train, dictionary)
    rows = []
    for source, group in dictionary.groupby("source", sort=False):
        marker = _HAS_HISTORY.get(source)
        rows.append(
            {
                "source": SOURCE_FR.get(source, source),
                "clients avec historique": (
                    float(train[marker].gt(0).mean()) if marker in train else 1.0
                ),
                "couverture médiane": float(shares[group["name"]].median()),
                "couverture minimale": float(shares[group["name"]].min()),
            }
        )
    return pd.DataFrame(rows).set_index("source")


def auc_alone(values: np.ndarray, target: np.ndarray) -> float:
    """AUC of one feature used alone as a score, on the rows where it is known (ties: half).

    >>> round(auc_alone(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])), 2)
    0.75
    """
    known = ~np.isnan(values)
    x, y = values[known], target[known]
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(x).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def univariate_power(
    train: pd.DataFrame,
    dictionary: pd.DataFrame,
    *,
    sample_rows: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """AUC of each numeric feature alone, its distance to 0.5, and its coverage; strongest first.

    Descriptive only: computed in-sample, and categorical features (encoded inside the model
    pipelines) are left out.
    """
    frame = train
    if sample_rows is not None and len(train) > sample_rows:
        frame = train.sample(sample_rows, random_state=seed)
    target = frame[TARGET].to_numpy()
    known = dictionary.set_index("name")
    rows = []
    for name in dictionary["name"]:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            continue
        auc = auc_alone(column.to_numpy(dtype="float64"), target)
        rows.append(
            {
                "variable": name,
                "libellé": known.loc[name, "label_fr"],
                "source": SOURCE_FR.get(known.loc[name, "source"], known.loc[name, "source"]),
                "AUC seule": auc,
                "pouvoir": abs(auc - 0.5),
                "couverture": float(column.notna().mean()),
            }
        )
    table = pd.DataFrame(rows).dropna(subset=["AUC seule"])
    return table.sort_values("pouvoir", ascending=False).set_index("variable")


def plot_count_by_source(counts: pd.DataFrame) -> Figure:
    """Horizontal bars: features per source table."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ordered = counts.sort_values("variables")
    ax.barh(ordered.index, ordered["variables"], color=BAR_COLOUR)
    for y, value in enumerate(ordered["variables"]):
        ax.text(value, y, f" {value}", va="center", fontsize=8)
    ax.set_xlabel("nombre de variables")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_univariate_power(power: pd.DataFrame, top: int) -> Figure:
    """Horizontal bars: the ``top`` features by AUC alone, labelled in French."""
    best = power.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(best) + 1))
    ax.barh(best["libellé"].str.slice(0, 70), best["AUC seule"] - 0.5, left=0.5, color=BAR_COLOUR)
    ax.axvline(0.5, color="grey", linewidth=0.8)
    ax.set_xlabel("AUC de la variable seule (0,5 = aucun pouvoir ; < 0,5 : le risque baisse)")
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_coverage(cover: pd.DataFrame) -> Figure:
    """Bars: share of clients with history in each source, median coverage of its features."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    y = np.arange(len(cover))
    ax.barh(
        y - 0.2,
        cover["clients avec historique"],
        height=0.4,
        color=BAR_COLOUR,
        label="clients avec historique",
    )
    ax.barh(
        y + 0.2,
        cover["couverture médiane"],
        height=0.4,
        color="#E69F00",
        label="couverture médiane des variables",
    )
    ax.set_yticks(y, cover.index, fontsize=8)
    ax.invert_yaxis()  # the order of the table, top down
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}".replace("%", " %"))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.4, -0.12), ncol=2, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
