"""Global explanations: mean |SHAP| beside the booster's gain, the beeswarm, and how stable the
top features are from one cross-validation fold to the next.

Stability uses the champion's own fitted copies when it has several (``CalibratedClassifierCV``
with ``ensemble=True`` holds one model per fold, each fitted without that fold); a single-copy
champion is refitted on K folds of the training features with the same pipeline and
hyperparameters (:func:`refit_fold_engines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_scoring.explain._model import FloatArray, ShapEngine, fitted_copies

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from credit_scoring.explain.text import Phrasebook


def importance_table(
    values: FloatArray,
    features: Sequence[str],
    gain: pd.Series | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Mean |SHAP| (and mean SHAP) per feature on a sample, beside the gain share.

    Returns
    -------
    DataFrame
        Indexed by feature, largest mean |SHAP| first: ``label``, ``mean_abs_shap``,
        ``share`` (of the total mean |SHAP|), ``mean_shap``, ``gain_share``, ``rank``,
        ``gain_rank``.

    Examples
    --------
    >>> t = importance_table(np.array([[1.0, -0.1], [-3.0, 0.3]]), ["a", "b"])
    >>> t["mean_abs_shap"].round(2).tolist(), t["rank"].tolist()
    ([2.0, 0.2], [1, 2])
    """
    features = list(features)
    mean_abs = np.abs(values).mean(axis=0)
    total = mean_abs.sum()
    table = pd.DataFrame(
        {
            "label": [(labels or {}).get(f, f) for f in features],
            "mean_abs_shap": mean_abs,
            "share": mean_abs / total if total > 0 else mean_abs,
            "mean_shap": values.mean(axis=0),
        },
        index=pd.Index(features, name="feature"),
    )
    gain = gain if gain is not None and len(gain) else pd.Series(np.nan, index=features)
    table["gain_share"] = gain.reindex(features).to_numpy()
    table = table.sort_values("mean_abs_shap", ascending=False, kind="stable")
    table["rank"] = np.arange(1, len(table) + 1)
    table["gain_rank"] = table["gain_share"].rank(ascending=False, method="min")
    return table


def fold_importance(
    engines: Sequence[ShapEngine] | ShapEngine, sample: pd.DataFrame
) -> pd.DataFrame:
    """Mean |SHAP| of each feature for each fold's model on the same sample.

    ``engines`` is either one engine whose copies are the fold models (an ensemble
    champion), or one engine per fold model (:func:`refit_fold_engines`).

    Returns
    -------
    DataFrame
        Features in rows, one column per fold (``pli 1``...).
    """
    if isinstance(engines, ShapEngine):
        parts = [v for v, _ in engines.per_copy(sample)]
        features = engines.features
    else:
        parts = [e.contributions(sample)[0] for e in engines]
        features = engines[0].features
    return folds_table(parts, features)


def folds_table(values: Sequence[FloatArray], features: Sequence[str]) -> pd.DataFrame:
    """Mean |SHAP| per feature (rows) of each fold model's SHAP values (columns ``pli k``).

    Examples
    --------
    >>> folds_table([np.array([[1.0, -2.0]]), np.array([[0.5, 0.0]])], ["a", "b"])["pli 2"].tolist()
    [0.5, 0.0]
    """
    return pd.DataFrame(
        {f"pli {k + 1}": np.abs(v).mean(axis=0) for k, v in enumerate(values)},
        index=pd.Index(list(features), name="feature"),
    )


def refit_fold_engines(
    model: Any,
    features: Sequence[str],
    X: pd.DataFrame,
    y: Any,
    *,
    folds: int = 5,
    seed: int = 0,
) -> list[ShapEngine]:
    """Refit the champion's pipeline on K folds of the training features (each model without
    one fold); one engine per fold model. For champions holding a single fitted copy."""
    from sklearn.base import clone

    from credit_scoring.modelling.evaluate import stratified_folds

    template = fitted_copies(model)[0]
    y = np.asarray(y)
    engines = []
    for train_idx, _ in stratified_folds(folds, seed).split(X, y):
        fitted = clone(template).fit(X.iloc[train_idx][list(features)], y[train_idx])
        engines.append(ShapEngine(fitted, features))
    return engines


def stability(
    folds: pd.DataFrame, top_k: int = 10, reference: pd.Series | None = None
) -> dict[str, Any]:
    """How much the top features move between fold models.

    Parameters
    ----------
    folds
        :func:`fold_importance`: mean |SHAP| per feature and fold.
    top_k
        Size of the top compared.
    reference
        The overall importance (default: the mean over folds).

    Returns
    -------
    dict
        ``top_k``; ``folds``; ``overlap_mean`` / ``overlap_min``: share of the overall top-k
        found in each fold's top-k; ``jaccard_mean``: mean pairwise Jaccard index of the folds'
        top-k sets; ``rank_correlation_mean``: mean pairwise Spearman correlation of the
        folds' importances over the overall top-k features... and ``always_top``: features in
        every fold's top-k.

    Examples
    --------
    >>> f = pd.DataFrame({"pli 1": [3.0, 2.0, 1.0, 0.1], "pli 2": [2.0, 3.0, 0.1, 1.0]},
    ...                  index=["a", "b", "c", "d"])
    >>> s = stability(f, top_k=2)
    >>> s["overlap_mean"], s["jaccard_mean"], s["always_top"]
    (1.0, 1.0, ['a', 'b'])
    """
    reference = folds.mean(axis=1) if reference is None else reference
    overall = list(reference.sort_values(ascending=False, kind="stable").index[:top_k])
    tops = [
        set(folds[c].sort_values(ascending=False, kind="stable").index[:top_k])
        for c in folds.columns
    ]
    overlaps = [len(t & set(overall)) / top_k for t in tops]
    jaccards = [len(a & b) / len(a | b) for a, b in combinations(tops, 2)]
    ranks = folds.loc[overall].rank(ascending=False)
    correlations = [
        float(ranks[a].corr(ranks[b], method="spearman")) for a, b in combinations(ranks, 2)
    ]
    return {
        "top_k": top_k,
        "folds": folds.shape[1],
        "overlap_mean": float(np.mean(overlaps)),
        "overlap_min": float(np.min(overlaps)),
        "jaccard_mean": float(np.mean(jaccards)) if jaccards else 1.0,
        "rank_correlation_mean": float(np.nanmean(correlations)) if correlations else 1.0,
        "always_top": [f for f in overall if all(f in t for t in tops)],
    }


def stability_table(
    folds: pd.DataFrame, top_k: int = 10, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """For each overall top-k feature: its rank in each fold, best and worst rank, and in how
    many folds it is in the top-k.

    Examples
    --------
    >>> f = pd.DataFrame({"pli 1": [3.0, 2.0, 1.0], "pli 2": [2.0, 1.0, 3.0]}, index=list("abc"))
    >>> stability_table(f, top_k=2)["dans le top"].tolist()
    [2, 1]
    """
    ranks = folds.rank(ascending=False, method="min").astype(int)
    overall = folds.mean(axis=1).sort_values(ascending=False, kind="stable").index[:top_k]
    table = ranks.loc[overall].copy()
    table.insert(0, "libellé", [(labels or {}).get(f, f) for f in overall])
    table["meilleur rang"] = ranks.loc[overall].min(axis=1)
    table["pire rang"] = ranks.loc[overall].max(axis=1)
    table["dans le top"] = (ranks.loc[overall] <= top_k).sum(axis=1)
    return table


def plot_importance(table: pd.DataFrame, top: int = 20) -> Figure:
    """Mean |SHAP| (left) beside the share of the boosters' split gain (right), top features."""
    import matplotlib.pyplot as plt

    shown = table.head(top).iloc[::-1]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 0.32 * len(shown) + 1.5), sharey=True, layout="constrained"
    )
    y = np.arange(len(shown))
    left.barh(y, shown["mean_abs_shap"], color="#2471a3")
    left.set_yticks(y, shown["label"], fontsize=8)
    left.set_xlabel("Impact moyen sur la log-cote (|SHAP| moyen)")
    right.barh(y, shown["gain_share"].fillna(0.0), color="#7f8c8d")
    right.set_xlabel("Part du gain des arbres")
    right.xaxis.set_major_formatter(
        plt.FuncFormatter(lambda v, _: f"{100 * v:.1f}\u202f%".replace(".", ","))
    )
    fig.suptitle("Importance globale des variables", fontsize=11)
    return fig


def plot_beeswarm(
    values: FloatArray,
    data: pd.DataFrame,
    features: Sequence[str],
    phrasebook: Phrasebook,
    top: int = 15,
    seed: int = 0,
) -> Figure:
    """SHAP values of a sample, one row per top feature, coloured by the feature's value
    (its rank within the sample: blue low, red high, grey missing or a category)."""
    import matplotlib.pyplot as plt

    features = list(features)
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:top][::-1]
    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(order) + 1.5), layout="constrained")
    cmap = plt.get_cmap("coolwarm")
    for y, j in enumerate(order):
        column = data[features[j]]
        shap_j = values[:, j]
        if pd.api.types.is_numeric_dtype(column):
            colour_value = column.rank(pct=True).to_numpy(dtype=float)
        else:
            colour_value = np.full(len(column), np.nan)
        # Jitter in proportion to the local density, so crowded values spread out.
        density, edges = np.histogram(shap_j, bins=50)
        bin_of = np.clip(np.digitize(shap_j, edges[1:-1]), 0, len(density) - 1)
        spread = 0.4 * density[bin_of] / max(density.max(), 1)
        jitter = rng.uniform(-1, 1, len(shap_j)) * spread
        missing = np.isnan(colour_value)
        ax.scatter(shap_j[missing], y + jitter[missing], s=4, color="#bbbbbb", alpha=0.6)
        ax.scatter(
            shap_j[~missing],
            y + jitter[~missing],
            s=4,
            c=colour_value[~missing],
            cmap=cmap,
            vmin=0,
            vmax=1,
            alpha=0.8,
        )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(order)), [phrasebook.label(features[j]) for j in order], fontsize=8)
    ax.set_xlabel("Effet sur la log-cote du risque (valeur SHAP) : à droite, plus de risque")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    bar = fig.colorbar(sm, ax=ax, pad=0.01, aspect=40)
    bar.set_ticks([0, 1], labels=["faible", "élevée"])
    bar.set_label("Valeur de la variable (rang)")
    return fig


def plot_stability(folds: pd.DataFrame, labels: dict[str, str], top_k: int = 10) -> Figure:
    """Rank of each overall top-k feature in each fold model (1 = most important)."""
    import matplotlib.pyplot as plt

    table = stability_table(folds, top_k)
    rank_columns = list(folds.columns)
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    for column in rank_columns:
        ax.scatter(table[column], y, s=18, alpha=0.7, label=column)
    ax.hlines(y, table["meilleur rang"], table["pire rang"], color="grey", lw=1)
    ax.set_yticks(y, [labels.get(f, f) for f in table.index], fontsize=8)
    ax.axvline(top_k + 0.5, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("Rang de la variable dans le modèle de chaque pli (1 = la plus importante)")
    worst = int(table["pire rang"].max())
    ax.set_xticks(range(1, worst + 1, max(1, worst // 15)))
    ax.set_xlim(0.5, worst + 0.5)
    ax.legend(
        fontsize=7,
        ncol=len(rank_columns),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
    )
    fig.tight_layout()
    return fig
