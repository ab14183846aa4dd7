"""The client against others: all clients, defaulters, non-defaulters, similar clients.

The reference population is the training table (clients whose outcome is known), sampled to a
fixed size so that a client switch stays fast at Kaggle scale. Similar clients are the nearest
neighbours on the key features, each scaled by its median and interquartile range of the
reference (robust to the long tails of amounts), a missing value counting as the median.

Global importance comes from the ``explain`` stage (``importance.csv``), else from the mean
absolute SHAP value of the precomputed production batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.types as pa_types

from credit_scoring import paths
from credit_scoring.dashboard.style import BLUE, INK, MUTED, ORANGE, VERMILLION

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from credit_scoring.explain import Explanation
    from credit_scoring.explain.text import Phrasebook

TARGET = "TARGET"
CLIENT_ID = "SK_ID_CURR"
#: Readable features compared when no global importance is known.
DEFAULT_KEY_FEATURES = (
    "EXT_SOURCES_MEAN",
    "ANNUITY_INCOME_RATIO",
    "CREDIT_INCOME_RATIO",
    "CREDIT_TERM",
    "AGE_YEARS",
    "YEARS_EMPLOYED",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
)
GROUPS = ("Tous les clients", "Clients ayant remboursé", "Clients en défaut", "Clients similaires")


def global_importance(
    importance_csv: Path | None = paths.REPORTS_DIR / "explain" / "importance.csv",
    explanations_file: Path | None = paths.REPORTS_DIR / "explain" / "explanations.parquet",
) -> pd.Series:
    """Mean |SHAP| per feature, largest first, as a share of the total (empty when unknown).

    Parameters
    ----------
    importance_csv
        The explain stage's table (``feature`` index, ``mean_abs_shap`` column).
    explanations_file
        The precomputed explanations of the production batch (fallback).
    """
    if importance_csv is not None and Path(importance_csv).is_file():
        table = pd.read_csv(importance_csv, index_col="feature")
        values = table["mean_abs_shap"].astype(float)
    elif explanations_file is not None and Path(explanations_file).is_file():
        frame = pd.read_parquet(explanations_file)
        meta = {CLIENT_ID, "base_value", "reasons_json", "value_texts_json"}
        values = frame[[c for c in frame.columns if c not in meta]].abs().mean().astype(float)
    else:
        return pd.Series(dtype=float)
    total = float(values.sum())
    share = values / total if total > 0 else values
    return share.sort_values(ascending=False, kind="stable")


@dataclass(frozen=True)
class FeatureComparison:
    """One feature: the client's value and each group's values."""

    feature: str
    label: str
    client_value: float
    client_text: str
    groups: dict[str, np.ndarray]

    def percentile(self) -> float | None:
        """Share of all clients with a lower value (None when the client's is missing)."""
        values = self.groups[GROUPS[0]]
        if not np.isfinite(self.client_value) or values.size == 0:
            return None
        return float(np.mean(values < self.client_value))

    def median(self, group: str) -> float | None:
        """The group's median (None when it has no value)."""
        values = self.groups[group]
        return float(np.median(values)) if values.size else None


class Population:
    """The reference clients and the key features the dashboard compares on.

    Parameters
    ----------
    reference
        Feature rows with ``TARGET`` (the training table or a sample of it).
    key_features
        Numeric features compared (the first ones of the global importance).
    phrasebook
        French labels and value texts.
    neighbours
        Similar clients shown.
    """

    def __init__(
        self,
        reference: pd.DataFrame,
        key_features: Sequence[str],
        phrasebook: Phrasebook,
        neighbours: int = 30,
    ) -> None:
        self.key_features = [f for f in key_features if f in reference.columns]
        if not self.key_features:
            raise ValueError("none of the key features is in the reference table")
        self.reference = reference[[*self.key_features, TARGET]].reset_index(drop=True)
        self.phrasebook = phrasebook
        self.k = int(neighbours)
        values = self.reference[self.key_features].to_numpy(dtype=float)
        self._median = np.nanmedian(values, axis=0)
        q75, q25 = np.nanpercentile(values, [75, 25], axis=0)
        spread = q75 - q25
        fallback = np.nanstd(values, axis=0)
        spread = np.where(spread > 0, spread, np.where(fallback > 0, fallback, 1.0))
        self._spread = spread
        self._median = np.where(np.isfinite(self._median), self._median, 0.0)
        self._scaled = self._scale(values)
        self._target = self.reference[TARGET].to_numpy()

    @classmethod
    def from_files(
        cls,
        phrasebook: Phrasebook,
        importance: pd.Series | None = None,
        features_dir: Path = paths.FEATURES_DIR,
        *,
        max_rows: int = 20_000,
        n_features: int = 8,
        seed: int = 42,
    ) -> Population:
        """The training table (sampled to ``max_rows``) and the ``n_features`` most important
        numeric features (or :data:`DEFAULT_KEY_FEATURES`)."""
        import pyarrow.parquet as pq

        path = Path(features_dir) / "train.parquet"
        schema = pq.read_schema(path)
        numeric = [
            f.name
            for f in schema
            if f.name not in (TARGET, CLIENT_ID)
            and (pa_types.is_floating(f.type) or pa_types.is_integer(f.type))
        ]
        ranked = [f for f in (importance.index if importance is not None else []) if f in numeric]
        candidates = ranked[: 3 * n_features] or [f for f in DEFAULT_KEY_FEATURES if f in numeric]
        frame = pd.read_parquet(path, columns=[*candidates, TARGET])
        if len(frame) > max_rows:
            frame = frame.sample(max_rows, random_state=seed)
        # Flags and near-constant columns say little on a box plot.
        keys = [f for f in candidates if frame[f].nunique() > 2][:n_features]
        return cls(frame, keys, phrasebook)

    def _scale(self, values: np.ndarray) -> np.ndarray:
        scaled = (values - self._median) / self._spread
        return np.where(np.isfinite(scaled), scaled, 0.0)

    def _client_values(self, row: pd.Series) -> np.ndarray:
        return np.array(
            [pd.to_numeric(row.get(f), errors="coerce") for f in self.key_features], dtype=float
        )

    def neighbours(self, row: pd.Series) -> np.ndarray:
        """Positions in :attr:`reference` of the ``k`` clients closest to ``row``."""
        point = self._scale(self._client_values(row)[None, :])[0]
        distance = np.sqrt(((self._scaled - point) ** 2).sum(axis=1))
        k = min(self.k, len(distance))
        nearest = np.argpartition(distance, k - 1)[:k]
        return nearest[np.argsort(distance[nearest], kind="stable")]

    def neighbour_default_rate(self, row: pd.Series) -> float:
        """Share of defaulters among the similar clients."""
        return float(np.mean(self._target[self.neighbours(row)]))

    def compare(self, row: pd.Series, feature: str) -> FeatureComparison:
        """The client's value of ``feature`` against the four groups."""
        column = self.reference[feature].to_numpy(dtype=float)
        target = self._target
        near = self.neighbours(row)
        value = float(pd.to_numeric(row.get(feature), errors="coerce"))

        def finite(values: np.ndarray) -> np.ndarray:
            return values[np.isfinite(values)]

        groups = {
            GROUPS[0]: finite(column),
            GROUPS[1]: finite(column[target == 0]),
            GROUPS[2]: finite(column[target == 1]),
            GROUPS[3]: finite(column[near]),
        }
        return FeatureComparison(
            feature=feature,
            label=self.phrasebook.label(feature),
            client_value=value,
            client_text=self.phrasebook.value_text(feature, row.get(feature)),
            groups=groups,
        )

    def summary(self, row: pd.Series) -> pd.DataFrame:
        """One line per key feature: label, the client's value, its rank among all clients,
        and the median of each group, as French texts."""
        from credit_scoring.labels import percent

        lines = []
        for feature in self.key_features:
            c = self.compare(row, feature)
            pct = c.percentile()
            line = {
                "Caractéristique": c.label,
                "Ce client": c.client_text,
                "Rang parmi tous": "—" if pct is None else f"au-dessus de {percent(pct, 0)}",
            }
            for group in GROUPS[1:]:
                med = c.median(group)
                line[f"Médiane : {group.lower()}"] = (
                    "—" if med is None else self.phrasebook.value_text(feature, med)
                )
            lines.append(line)
        return pd.DataFrame(lines)

    def plot(self, row: pd.Series, feature: str) -> Figure:
        """Four box plots (all, repaid, defaulted, similar) with the client marked on each."""
        import matplotlib.pyplot as plt

        c = self.compare(row, feature)
        fig, ax = plt.subplots(figsize=(8.6, 3.2))
        names = list(GROUPS)[::-1]
        data = [c.groups[g] if c.groups[g].size else np.array([np.nan]) for g in names]
        colours = [SKY_LIGHT, VERMILLION_LIGHT, BLUE_LIGHT, GREY_LIGHT]
        parts = ax.boxplot(
            data,
            orientation="horizontal",
            widths=0.55,
            patch_artist=True,
            showfliers=False,
            medianprops={"color": INK, "linewidth": 2},
        )
        for patch, colour in zip(parts["boxes"], colours, strict=True):
            patch.set_facecolor(colour)
            patch.set_edgecolor(INK)
        labels = [f"{g} ({c.groups[g].size})" for g in names]
        ax.set_yticks(range(1, len(names) + 1), labels, fontsize=10)
        if np.isfinite(c.client_value):
            ax.axvline(c.client_value, color=ORANGE, lw=3, zorder=3)
            for y in range(1, len(names) + 1):
                ax.plot(c.client_value, y, marker="D", color=INK, markersize=8, zorder=4, ls="none")
            ax.set_title(f"{c.label} : ce client {c.client_text} (losange noir)", fontsize=11)
        else:
            ax.set_title(f"{c.label} : valeur non renseignée pour ce client", fontsize=11)
        ax.set_xlabel(c.label, color=MUTED)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        return fig


SKY_LIGHT = "#cfe8f7"
VERMILLION_LIGHT = "#f5c9a8"
BLUE_LIGHT = "#a9cfe8"
GREY_LIGHT = "#e0e0e0"


def plot_importance(importance: pd.Series, phrasebook: Phrasebook, top: int = 15) -> Figure:
    """The model's global importance: share of the total mean |SHAP|, French labels."""
    import matplotlib.pyplot as plt

    shown = importance.head(top)[::-1]
    fig, ax = plt.subplots(figsize=(8.6, 0.32 * len(shown) + 1.2))
    ax.barh([phrasebook.label(f) for f in shown.index], shown.to_numpy() * 100, color=BLUE)
    ax.set_xlabel("Part de l'influence totale sur le score (%)")
    ax.set_title("Ce qui compte le plus pour le modèle, tous clients confondus", fontsize=11)
    ax.tick_params(axis="y", labelsize=9)
    fig.tight_layout()
    return fig


def plot_reasons(explanation: Explanation, phrasebook: Phrasebook, top: int = 6) -> Figure:
    """The client's main reasons as bars without any number (the « vue client »): length is
    the weight, colour and hatching the direction, and the direction written beside."""
    import matplotlib.pyplot as plt

    items = sorted(explanation.contributions.items(), key=lambda kv: -abs(kv[1]))[:top][::-1]
    fig, ax = plt.subplots(figsize=(8.6, 0.45 * len(items) + 1.0))
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
    fig.tight_layout()
    return fig


def figure_png(fig: Any) -> bytes:
    """A figure as PNG bytes (closed afterwards: no figure piles up in the kernel)."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
