"""The client against others: all clients, defaulters, non-defaulters, similar clients.

Drawn from aggregates only (:mod:`credit_scoring.api.population`): the quantiles of each key
feature over the reference clients (the training table, whose outcome is known), those who
repaid and those who defaulted, and over the client's most similar reference clients, with the
client's rank. Both backends give the same aggregates: the scoring API
(``/v1/population/...``, ``/v1/clients/{id}/neighbours``) or the same code in process. Box
plots: the box spans the quartiles, the whiskers the 5 % and 95 % quantiles (no extreme is
ever shown: it would be one client's value).

Global importance comes from the ``explain`` stage (``importance.csv``), else from the mean
absolute SHAP value of the precomputed production batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_scoring.api.population import (
    ALL,
    DEFAULTED,
    REPAID,
    FeatureDistribution,
    GroupStats,
    Neighbours,
    global_importance,
)
from credit_scoring.dashboard.style import BLUE, INK, MUTED, ORANGE, VERMILLION

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from credit_scoring.explain import Explanation
    from credit_scoring.explain.text import Phrasebook

__all__ = ["GROUPS", "Comparison", "Reference", "global_importance"]

GROUPS = ("Tous les clients", "Clients ayant remboursé", "Clients en défaut", "Clients similaires")


@dataclass(frozen=True)
class Reference:
    """The reference population as the dashboard knows it: aggregates only.

    Attributes
    ----------
    key_features
        Features compared, most important first.
    k
        Similar clients described per client.
    distributions
        Each key feature over all, repaid and defaulted reference clients.
    """

    key_features: list[str]
    k: int
    distributions: dict[str, FeatureDistribution]


class Comparison:
    """One client against the four groups, on every key feature.

    Parameters
    ----------
    reference
        The reference population's aggregates.
    neighbours
        The client's similar clients (aggregates) with the client's values and ranks.
    phrasebook
        French labels and value texts.
    """

    def __init__(self, reference: Reference, neighbours: Neighbours, phrasebook: Phrasebook):
        self.reference = reference
        self.neighbours = neighbours
        self.phrasebook = phrasebook

    @property
    def key_features(self) -> list[str]:
        """Features compared."""
        return self.reference.key_features

    @property
    def k(self) -> int:
        """Similar clients described."""
        return self.neighbours.k

    @property
    def default_rate(self) -> float:
        """Share of defaulters among the similar clients."""
        return self.neighbours.default_rate

    def groups(self, feature: str) -> dict[str, GroupStats]:
        """The four groups' aggregates of ``feature``, by French name."""
        found = self.reference.distributions[feature].groups
        empty = GroupStats(0, 0)
        return {
            GROUPS[0]: found.get(ALL, empty),
            GROUPS[1]: found.get(REPAID, empty),
            GROUPS[2]: found.get(DEFAULTED, empty),
            GROUPS[3]: self.neighbours.features.get(feature, empty),
        }

    def client_value(self, feature: str) -> float | None:
        """The client's value (None when missing)."""
        return self.neighbours.client_values.get(feature)

    def summary(self) -> pd.DataFrame:
        """One line per key feature: label, the client's value, its rank among all clients,
        and the median of each group, as French texts."""
        from credit_scoring.labels import percent

        lines = []
        for feature in self.key_features:
            groups = self.groups(feature)
            rank = self.neighbours.ranks.get(feature)
            line = {
                "Caractéristique": self.phrasebook.label(feature),
                "Ce client": self.phrasebook.value_text(feature, self.client_value(feature)),
                "Rang parmi tous": "—" if rank is None else f"au-dessus de {percent(rank, 0)}",
            }
            for group in GROUPS[1:]:
                median = groups[group].median
                line[f"Médiane : {group.lower()}"] = (
                    "—" if median is None else self.phrasebook.value_text(feature, median)
                )
            lines.append(line)
        return pd.DataFrame(lines)

    def plot(self, feature: str) -> Figure:
        """Four box plots (all, repaid, defaulted, similar) with the client marked on each."""
        import matplotlib.pyplot as plt

        label = self.phrasebook.label(feature)
        groups = self.groups(feature)
        names = list(GROUPS)[::-1]
        fig, ax = plt.subplots(figsize=(8.6, 3.4), layout="constrained")
        stats = []
        for name in names:
            box = groups[name].box()
            low, q1, med, q3, high = box if box is not None else (np.nan,) * 5
            stats.append(
                {
                    "whislo": low,
                    "q1": q1,
                    "med": med,
                    "q3": q3,
                    "whishi": high,
                    "fliers": [],
                    "label": f"{name} ({groups[name].count})",
                }
            )
        colours = [SKY_LIGHT, VERMILLION_LIGHT, BLUE_LIGHT, GREY_LIGHT]
        parts = ax.bxp(
            stats,
            orientation="horizontal",
            widths=0.55,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": INK, "linewidth": 2},
        )
        for patch, colour in zip(parts["boxes"], colours, strict=True):
            patch.set_facecolor(colour)
            patch.set_edgecolor(INK)
        ax.tick_params(axis="y", labelsize=10)
        value = self.client_value(feature)
        if value is not None and np.isfinite(value):
            text = self.phrasebook.value_text(feature, value)
            ax.axvline(value, color=ORANGE, lw=3, zorder=3)
            for y in range(1, len(names) + 1):
                ax.plot(value, y, marker="D", color=INK, markersize=8, zorder=4, ls="none")
            ax.set_title(f"{label} : ce client {text} (losange noir)", fontsize=11)
        else:
            ax.set_title(f"{label} : valeur non renseignée pour ce client", fontsize=11)
        ax.set_xlabel(f"{label} (boîtes : quartiles ; traits : 5 % et 95 % des clients)")
        ax.xaxis.label.set_color(MUTED)
        ax.grid(axis="x", alpha=0.3)
        return fig


SKY_LIGHT = "#cfe8f7"
VERMILLION_LIGHT = "#f5c9a8"
BLUE_LIGHT = "#a9cfe8"
GREY_LIGHT = "#e0e0e0"


def plot_importance(importance: pd.Series, phrasebook: Phrasebook, top: int = 15) -> Figure:
    """The model's global importance: share of the total mean |SHAP|, French labels."""
    import matplotlib.pyplot as plt

    shown = importance.head(top)[::-1]
    fig, ax = plt.subplots(figsize=(8.6, 0.32 * len(shown) + 1.2), layout="constrained")
    ax.barh([phrasebook.label(f) for f in shown.index], shown.to_numpy() * 100, color=BLUE)
    ax.set_xlabel("Part de l'influence totale sur le score (%)")
    ax.set_title("Ce qui compte le plus pour le modèle, tous clients confondus", fontsize=11)
    ax.tick_params(axis="y", labelsize=9)
    return fig


def plot_reasons(explanation: Explanation, phrasebook: Phrasebook, top: int = 6) -> Figure:
    """The client's main reasons as bars without any number (the « vue client »): length is
    the weight, colour and hatching the direction, and the direction written beside."""
    import matplotlib.pyplot as plt

    items = sorted(explanation.contributions.items(), key=lambda kv: -abs(kv[1]))[:top][::-1]
    fig, ax = plt.subplots(figsize=(8.6, 0.45 * len(items) + 1.0), layout="constrained")
    for y, (_, c) in enumerate(items):
        up = c > 0
        ax.barh(
            y,
            abs(c),
            color=VERMILLION if up else BLUE,
            hatch="//" if up else "",
            edgecolor=INK,
        )
        ax.text(
            abs(c),
            y,
            "  augmente le risque" if up else "  diminue le risque",
            va="center",
            fontsize=9,
            color=INK,
        )
    ax.set_yticks(range(len(items)), [phrasebook.label(f) for f, _ in items], fontsize=9)
    ax.set_xticks([])
    ax.set_xlim(0, 1.6 * max((abs(c) for _, c in items), default=1.0))
    ax.set_title("Ce qui a le plus pesé dans ce dossier", fontsize=11)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return fig


def figure_png(fig: Any) -> bytes:
    """A figure as PNG bytes, at the figure's own size (closed afterwards: no figure piles
    up in the kernel). Every figure of the dashboard lays itself out to fit its size."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()
