"""One client's explanation: SHAP values on the log-odds, reasons in French, a waterfall.

:class:`Explainer` is what the API and the dashboard call: built once from the served
:class:`~credit_scoring.scoring.Scorer`, it explains rows of the feature table in a few
milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from credit_scoring import paths
from credit_scoring.explain._model import FloatArray, ShapEngine
from credit_scoring.explain.text import Phrasebook, is_missing
from credit_scoring.labels import number
from credit_scoring.scoring import client_ids

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from credit_scoring.scoring import Scorer

#: Value texts kept with an explanation beyond its reasons (the waterfall's labels).
VALUE_TEXTS_KEPT = 15
RISK_UP = "#c0392b"
RISK_DOWN = "#2471a3"


def jsonable(value: Any) -> Any:
    """A feature value as JSON: numbers as floats, missing as None, levels as strings.

    >>> jsonable(np.float32(0.5)), jsonable(float("nan")), jsonable(np.int64(3)), jsonable("F")
    (0.5, None, 3, 'F')
    """
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)


@dataclass
class Reason:
    """A feature that pushed this client's score, said in French.

    Attributes
    ----------
    feature
        The feature's name (for systems, never shown to a client).
    label
        Its French label.
    value
        The client's value (None when missing).
    value_text
        The value with its unit, in French (« 38 % », « 12 ans », « aucun historique »).
    contribution
        SHAP value on the model's log-odds: positive raises the risk.
    direction
        ``augmente`` or ``diminue`` (the risk).
    sentence
        The reason as a client reads it.
    """

    feature: str
    label: str
    value: Any
    value_text: str
    contribution: float
    direction: Literal["augmente", "diminue"]
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["value"] = jsonable(self.value)
        out["contribution"] = float(self.contribution)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        """The inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass
class Explanation:
    """Why the model scored one client as it did.

    Attributes
    ----------
    client_id
        ``SK_ID_CURR``, or None for an anonymous row.
    base_value
        The model's average log-odds (the starting point of the waterfall).
    contributions
        SHAP value of every feature on the log-odds; with ``base_value`` they add up to the
        model's raw log-odds for this client (:attr:`log_odds`).
    reasons
        The features that pushed most, largest absolute contribution first.
    value_texts
        Formatted values of the most contributing features (the waterfall's labels).
    """

    client_id: int | None
    base_value: float
    contributions: dict[str, float]
    reasons: list[Reason]
    value_texts: dict[str, str] = field(default_factory=dict)

    @property
    def log_odds(self) -> float:
        """The explained raw score: base value plus every contribution."""
        return self.base_value + math.fsum(self.contributions.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "client_id": self.client_id,
            "base_value": float(self.base_value),
            "log_odds": float(self.log_odds),
            "contributions": {k: float(v) for k, v in self.contributions.items()},
            "reasons": [r.to_dict() for r in self.reasons],
            "value_texts": dict(self.value_texts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        """The inverse of :meth:`to_dict`."""
        return cls(
            client_id=data["client_id"],
            base_value=float(data["base_value"]),
            contributions={k: float(v) for k, v in data["contributions"].items()},
            reasons=[Reason.from_dict(r) for r in data["reasons"]],
            value_texts=dict(data.get("value_texts", {})),
        )


class Explainer:
    """SHAP explanations of the served model, in French.

    Parameters
    ----------
    engine
        SHAP values of the model (:class:`~credit_scoring.explain._model.ShapEngine`).
    phrasebook
        Labels, units and sentences of the features.

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> from credit_scoring.scoring import Scorer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"AMT_CREDIT": rng.uniform(1e5, 1e6, 400),
    ...                   "EXT_SOURCE_2": rng.uniform(0, 1, 400)})
    >>> y = (rng.random(400) < 0.5 - 0.4 * X["EXT_SOURCE_2"]).astype(int)
    >>> model = LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
    >>> scorer = Scorer(model, threshold=0.2, features=list(X.columns))
    >>> dictionary = pd.DataFrame({"name": ["AMT_CREDIT", "EXT_SOURCE_2"],
    ...     "label_fr": ["Montant du crédit", "Score externe 2"], "unit": ["€", ""]})
    >>> explanation = Explainer.from_scorer(scorer, dictionary).explain(X.head(1), top=2)[0]
    >>> [r.feature for r in explanation.reasons] == sorted(
    ...     explanation.contributions, key=lambda f: -abs(explanation.contributions[f]))
    True
    """

    def __init__(self, engine: ShapEngine, phrasebook: Phrasebook) -> None:
        self.engine = engine
        self.phrasebook = phrasebook
        self.features = engine.features

    @classmethod
    def from_scorer(
        cls,
        scorer: Scorer,
        dictionary: pd.DataFrame | None = None,
        *,
        background: pd.DataFrame | None = None,
    ) -> Explainer:
        """The explainer of a scorer's model.

        Parameters
        ----------
        scorer
            The served scorer (its ``model`` and ``features``).
        dictionary
            The feature dictionary; default
            :func:`credit_scoring.features.feature_dictionary`.
        background
            Feature rows; only a linear model needs them (its SHAP values are taken against
            their mean).
        """
        if dictionary is None:
            from credit_scoring.features import feature_dictionary

            dictionary = feature_dictionary()
        engine = ShapEngine(scorer.model, scorer.features, background)
        categorical = _categorical_features(scorer.model)
        return cls(engine, Phrasebook.from_dictionary(dictionary, categorical))

    def contributions(self, features: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        """SHAP values (n, p) on the log-odds, in :attr:`features` order, and base values."""
        return self.engine.contributions(features)

    def log_odds(self, features: pd.DataFrame) -> FloatArray:
        """The model's raw log-odds (its members' weighted log-odds), what SHAP explains."""
        return self.engine.margin(features)

    def build(
        self,
        client_id: int | None,
        values: Sequence[Any],
        contributions: FloatArray,
        base_value: float,
        top: int = 5,
    ) -> Explanation:
        """An explanation from one row's feature values and SHAP values."""
        order = np.argsort(-np.abs(contributions), kind="stable")
        reasons = []
        for i in order[:top]:
            feature = self.features[i]
            c = float(contributions[i])
            direction: Literal["augmente", "diminue"] = "augmente" if c > 0 else "diminue"
            value = values[i]
            reasons.append(
                Reason(
                    feature=feature,
                    label=self.phrasebook.label(feature),
                    value=jsonable(value),
                    value_text=self.phrasebook.value_text(feature, value),
                    contribution=c,
                    direction=direction,
                    sentence=self.phrasebook.sentence(feature, value, direction),
                )
            )
        kept = order[: max(top, VALUE_TEXTS_KEPT)]
        return Explanation(
            client_id=client_id,
            base_value=float(base_value),
            contributions={f: float(c) for f, c in zip(self.features, contributions, strict=True)},
            reasons=reasons,
            value_texts={
                self.features[i]: self.phrasebook.value_text(self.features[i], values[i])
                for i in kept
            },
        )

    def explain(self, features: pd.DataFrame, top: int = 5) -> list[Explanation]:
        """Explain rows of the feature table (client ids from ``SK_ID_CURR`` or the index).

        Parameters
        ----------
        features
            Rows with at least the model's features.
        top
            Reasons kept per client (features with a zero contribution included only when
            fewer features moved the score).
        """
        return self.explain_with_values(features, top)[0]

    def explain_with_values(
        self, features: pd.DataFrame, top: int = 5
    ) -> tuple[list[Explanation], FloatArray]:
        """:meth:`explain`, and the SHAP values (n, p) it was built from."""
        values, base = self.contributions(features)
        rows = features[self.features].to_numpy(dtype=object)
        explanations = [
            self.build(cid, rows[k], values[k], float(base[k]), top)
            for k, cid in enumerate(client_ids(features))
        ]
        return explanations, values

    def waterfall(self, explanation: Explanation, max_display: int = 10) -> Figure:
        """The waterfall of one explanation, in French: from the average log-odds to this
        client's, one bar per feature (red raises the risk, blue lowers it), the smallest
        contributions grouped in one bar."""
        return waterfall(explanation, self.phrasebook, max_display)


def _categorical_features(model: Any) -> set[str]:
    from credit_scoring.explain._model import fitted_copies

    out: set[str] = set()
    for estimator in fitted_copies(model):
        for _, step in getattr(estimator, "steps", [])[:1]:
            out |= set(getattr(step, "categories_", {}))
    return out


def waterfall(explanation: Explanation, phrasebook: Phrasebook, max_display: int = 10) -> Figure:
    """Draw :meth:`Explainer.waterfall` (a module function so stored explanations can be
    drawn with any phrasebook).

    The figure lays itself out (constrained layout, the x-axis label on two lines): every
    label fits within its own size, saved with or without ``bbox_inches="tight"``.

    Parameters
    ----------
    explanation
        The client's explanation.
    phrasebook
        French labels of the features.
    max_display
        Bars drawn, the smallest contributions grouped in the last one.

    Returns
    -------
    matplotlib.figure.Figure
        The waterfall, to save or show.
    """
    import matplotlib.pyplot as plt

    items = sorted(explanation.contributions.items(), key=lambda kv: -abs(kv[1]))
    shown = items[: max(max_display - 1, 1)]
    rest = items[len(shown) :]
    rows = []
    for feature, c in shown:
        name = phrasebook.label(feature)
        text = explanation.value_texts.get(feature)
        rows.append((f"{name} = {text}" if text else name, c))
    if rest:
        rows.append((f"{len(rest)} autres variables", math.fsum(c for _, c in rest)))
    rows = rows[::-1]  # matplotlib draws the first bar at the bottom

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.8), layout="constrained")
    # From the average log-odds at the bottom, through the grouped rest, up to this client's.
    position = explanation.base_value
    lefts = []
    for _, c in rows:
        lefts.append(position)
        position += c
    ends = [*lefts, position]
    pad = 0.01 * max(max(ends) - min(ends), 1e-6)
    for y, ((_, c), left) in enumerate(zip(rows, lefts, strict=True)):
        ax.barh(y, c, left=left, color=RISK_UP if c > 0 else RISK_DOWN, height=0.6)
        ax.text(
            left + c + (pad if c > 0 else -pad),
            y,
            f"{'+' if c > 0 else '−'}{number(abs(c), 2)}",
            va="center",
            ha="left" if c > 0 else "right",
            fontsize=8,
        )
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    ax.axvline(explanation.base_value, color="grey", lw=0.8, ls="--")
    ax.axvline(explanation.log_odds, color="black", lw=0.8)
    ax.set_xlabel(
        "Contribution au risque (log-cote)\n"
        f"moyenne {number(explanation.base_value, 2)}, ce client {number(explanation.log_odds, 2)}"
    )
    title = "Pourquoi ce score"
    if explanation.client_id is not None:
        title += f" (client {explanation.client_id})"
    ax.set_title(title)
    # Room for the value labels on both sides of the bars.
    low, high = min(ends), max(ends)
    ax.set_xlim(low - 0.18 * (high - low + 1e-6), high + 0.12 * (high - low + 1e-6))
    return fig


def training_background(
    features_dir: Path = paths.FEATURES_DIR, rows: int = 1000
) -> pd.DataFrame | None:
    """The first ``rows`` clients of ``train.parquet``: what a linear model's SHAP values are
    taken against, the same in the ``explain`` stage and in the API (cheap to read: one
    record batch). ``None`` when the table is missing.
    """
    import pyarrow.parquet as pq

    path = Path(features_dir) / "train.parquet"
    if not path.exists():
        return None
    first = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
    return None if first is None else first.to_pandas()
