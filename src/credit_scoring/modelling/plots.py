"""Figures of the ``train`` report, French labels, drawn from the saved training outputs.

Each function takes data frames written by :func:`credit_scoring.modelling.train_pipeline`
and returns a matplotlib ``Figure``: the pipeline logs them to MLflow, the notebook shows them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from sklearn.metrics import roc_curve

from credit_scoring.modelling.zoo import MODEL_LABELS_FR, STRATEGY_LABELS_FR

# Okabe-Ito, colour-blind safe.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
STRATEGY_COLOURS = dict(zip(STRATEGY_LABELS_FR, COLOURS, strict=False))


def _tidy(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def plot_comparison(results: pd.DataFrame) -> Figure:
    """Cost per client and ROC AUC of every model x strategy, mean +/- std over folds."""
    models = [m for m in MODEL_LABELS_FR if m in set(results["model"])]
    strategies = [s for s in STRATEGY_LABELS_FR if s in set(results["strategy"])]
    height = 0.8 / len(strategies)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(results) + 1.8), sharey=True)
    table = results.set_index(["model", "strategy"])
    labelled: set[str] = set()
    for i, model in enumerate(models):
        present = [s for s in strategies if (model, s) in table.index]
        for j, strategy in enumerate(present):
            row = table.loc[(model, strategy)]
            pos = i + (j - (len(present) - 1) / 2) * height  # the bars of a model centred on it
            label = None if strategy in labelled else STRATEGY_LABELS_FR[strategy]
            labelled.add(strategy)
            for ax, metric in zip(axes, ("cost_per_client", "roc_auc"), strict=True):
                ax.barh(
                    pos,
                    row[f"{metric}_mean"],
                    height=height,
                    xerr=row[f"{metric}_std"],
                    color=STRATEGY_COLOURS[strategy],
                    label=label if ax is axes[0] else None,
                    error_kw={"elinewidth": 0.8},
                )
    axes[0].set_yticks(np.arange(len(models)), [MODEL_LABELS_FR[m] for m in models])
    axes[0].invert_yaxis()
    axes[0].set_xlabel("Coût métier par client (plus bas = mieux)")
    axes[1].set_xlabel("AUC ROC (plus haut = mieux)")
    contenders = results[results["model"] != "dummy"]
    if len(contenders):
        low = (contenders["roc_auc_mean"] - contenders["roc_auc_std"]).min()
        high = (contenders["roc_auc_mean"] + contenders["roc_auc_std"]).max()
        axes[1].set_xlim(max(0.5, low - 0.02), min(1.0, high + 0.01))
    for ax in axes:
        _tidy(ax)
    fig.legend(
        title="Rééquilibrage",
        loc="lower center",
        ncol=len(strategies),
        fontsize=8,
        title_fontsize=8,
        frameon=False,
    )
    fig.suptitle("Comparaison des modèles et des stratégies de rééquilibrage (validation croisée)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_cost_curve(
    curve: pd.DataFrame,
    threshold: float,
    *,
    theoretical: float | None = None,
) -> Figure:
    """Cost per client against the threshold, with the chosen, theoretical and 0.5 thresholds.

    ``curve`` has columns ``threshold`` and ``cost_per_client`` (and optionally ``series``
    for several curves, e.g. out-of-fold and test).
    """
    fig, ax = plt.subplots(figsize=(7.5, 4))
    groups = curve.groupby("series", sort=False) if "series" in curve else [("", curve)]
    for i, (name, part) in enumerate(groups):
        ax.plot(part["threshold"], part["cost_per_client"], color=COLOURS[i], label=name or None)
    ax.axvline(threshold, color="#D55E00", ls="--", lw=1.2, label=f"seuil retenu ({threshold:.3f})")
    if theoretical is not None:
        ax.axvline(
            theoretical,
            color="#009E73",
            ls=":",
            lw=1.2,
            label=f"seuil théorique ({theoretical:.3f})",
        )
    ax.axvline(0.5, color="grey", ls="-.", lw=1, label="seuil 0,5")
    ax.set_xlabel("Seuil de probabilité de défaut (refus au-delà)")
    ax.set_ylabel("Coût métier par client")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Coût métier selon le seuil de décision")
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_reliability(table: pd.DataFrame) -> Figure:
    """Reliability diagram: observed default rate against mean predicted probability.

    ``table`` comes from :func:`credit_scoring.modelling.calibration.reliability_table`.
    """
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = float(max(table["predicted"].max(), table["observed"].max()) * 1.05)
    ax.plot([0, top], [0, top], color="grey", lw=1, ls="--", label="calibration parfaite")
    for i, (name, part) in enumerate(table.groupby("series", sort=False)):
        ax.plot(part["predicted"], part["observed"], marker="o", color=COLOURS[i], label=name)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("Probabilité de défaut prédite (moyenne du groupe)")
    ax.set_ylabel("Taux de défaut observé")
    ax.set_title("Diagramme de fiabilité (jeu de test)")
    ax.legend(fontsize=8)
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_roc(y: npt.ArrayLike, probabilities: dict[str, npt.ArrayLike]) -> Figure:
    """ROC curves of several probability series on the same clients (e.g. model and oracle)."""
    from sklearn.metrics import roc_auc_score

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, (name, p) in enumerate(probabilities.items()):
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, color=COLOURS[i], label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.set_xlabel("Taux de faux positifs (bons clients refusés)")
    ax.set_ylabel("Taux de vrais positifs (défauts détectés)")
    ax.set_title("Courbes ROC sur le jeu de test")
    ax.legend(fontsize=8, loc="lower right")
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_early_stopping(curves: pd.DataFrame, members: pd.DataFrame) -> Figure:
    """Out-of-fold AUC of each blend member against its number of trees, with the number
    chosen by early stopping."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, (name, curve) in enumerate(curves.groupby("member", sort=False)):
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(curve["trees"], curve["oof_auc"], color=colour, label=name)
        chosen = members.loc[members["member"] == name, "trees"]
        if len(chosen):
            best = curve.loc[curve["trees"] == int(chosen.iloc[0]), "oof_auc"]
            ax.scatter([int(chosen.iloc[0])], best, color=colour, zorder=3, s=30)
    ax.set_xlabel("Nombre d'arbres")
    ax.set_ylabel("AUC ROC hors échantillon")
    ax.set_title("Arrêt précoce : AUC hors échantillon selon le nombre d'arbres (point : retenu)")
    ax.legend(fontsize=8)
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_tuning(
    trials: pd.DataFrame, objective_label: str = "AUC ROC moyenne (validation croisée)"
) -> Figure:
    """Objective of each Optuna trial and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if trials.empty:
        ax.text(0.5, 0.5, "Aucun essai (budget nul)", ha="center", va="center")
        ax.set_axis_off()
        return fig
    done = trials[trials["state"] == "complete"]
    pruned = trials[trials["state"] == "pruned"]
    ax.scatter(done["number"], done["value"], color=COLOURS[0], s=18, label="essai terminé")
    if len(pruned):
        ax.scatter(
            pruned["number"],
            [done["value"].min()] * len(pruned),
            marker="x",
            color="grey",
            s=18,
            label="essai interrompu (élagué)",
        )
    if len(done):
        ax.step(
            done["number"],
            done["value"].cummax(),
            where="post",
            color=COLOURS[1],
            label="meilleur à ce stade",
        )
    ax.set_xlabel("Essai")
    ax.set_ylabel(objective_label)
    ax.set_title("Recherche d'hyperparamètres (Optuna)")
    ax.legend(fontsize=8)
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_score_distribution(
    scores: npt.ArrayLike, y: npt.ArrayLike, band: tuple[float, float]
) -> Figure:
    """Histogram of risk scores by outcome, with the review band shaded."""
    scores, y = np.asarray(scores), np.asarray(y)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    bins = np.linspace(0, 100, 51)
    ax.hist(scores[y == 0], bins=bins, density=True, alpha=0.6, color=COLOURS[0], label="remboursé")
    ax.hist(scores[y == 1], bins=bins, density=True, alpha=0.6, color=COLOURS[1], label="défaut")
    ax.axvspan(band[0], band[1], color="#E69F00", alpha=0.25, label="zone d'étude (conseiller)")
    ax.axvline(50, color="black", lw=1, ls="--")
    ax.set_xlabel("Score de risque (0-100, seuil à 50)")
    ax.set_ylabel("Densité")
    ax.set_title("Scores de risque du jeu de test selon l'issue")
    ax.legend(fontsize=8)
    _tidy(ax)
    fig.tight_layout()
    return fig
