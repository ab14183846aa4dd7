"""The decision contract, implemented once: probability -> risk score -> decision.

Every consumer (API, dashboard, site, batch scoring) goes through this module:

- ``probability_default``: the calibrated probability of default from the champion model;
- ``threshold``: the probability at which refusing becomes cheaper than granting, chosen on
  out-of-fold predictions to minimise ``cost_fn * FN + cost_fp * FP``;
- ``risk_score`` (0-100): :func:`risk_score`, the log-odds scale of credit scoring with the
  threshold at exactly 50: every ``points_to_double_odds`` points (10 by default), the odds
  of default double, so the review band 45-55 runs from the threshold's odds divided by
  ``2 ** 0.5`` to the same odds multiplied by it;
- ``decision``: :func:`decision`, ``grant`` below the review band, ``review`` inside it
  (bounds included: the advisor decides), ``refuse`` above;
- ``reasons``: filled by ``credit_scoring.explain`` (empty here);
- ``model_version``: the registry version that answered.

Examples
--------
>>> s = risk_score(0.12, threshold=0.1)
>>> round(s, 2), decision(s)
(52.95, 'review')
>>> round(probability_from_score(45, 0.1), 4), round(probability_from_score(55, 0.1), 4)
(0.0728, 0.1358)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from credit_scoring.features.serving import FeatureRows

Decision = Literal["grant", "review", "refuse"]
DECISIONS: tuple[Decision, ...] = ("grant", "review", "refuse")
DECISION_LABELS_FR: dict[str, str] = {
    "grant": "Accordé",
    "review": "À étudier par le conseiller",
    "refuse": "Refusé",
}
DEFAULT_MODEL_NAME = "credit-scoring"
DEFAULT_ALIAS = "champion"
DEFAULT_REVIEW_BAND: tuple[float, float] = (45.0, 55.0)
#: Score points over which the odds of default double (the scale of :func:`risk_score`).
DEFAULT_POINTS_TO_DOUBLE_ODDS = 10.0
CLIENT_ID = "SK_ID_CURR"


def check_points_to_double_odds(points_to_double_odds: float) -> float:
    """Validate the scale's "points to double the odds": a finite number of points above 0.

    Examples
    --------
    >>> check_points_to_double_odds(20)
    20.0
    >>> check_points_to_double_odds(0)
    Traceback (most recent call last):
    ...
    ValueError: points_to_double_odds must be a finite number of points above 0, got 0
    """
    pdo = float(points_to_double_odds)
    if not (np.isfinite(pdo) and pdo > 0.0):
        raise ValueError(
            f"points_to_double_odds must be a finite number of points above 0, "
            f"got {points_to_double_odds!r}"
        )
    return pdo


def _check_threshold(threshold: float) -> float:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return float(threshold)


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # log(p) - log1p(-p) is exact near both ends and gives -inf at 0 and +inf at 1, which
    # the clip of the score turns into 0 and 100 whatever the points to double the odds.
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


@overload
def risk_score(
    probability: float,
    threshold: float,
    points_to_double_odds: float = DEFAULT_POINTS_TO_DOUBLE_ODDS,
) -> float: ...
@overload
def risk_score(
    probability: npt.ArrayLike,
    threshold: float,
    points_to_double_odds: float = DEFAULT_POINTS_TO_DOUBLE_ODDS,
) -> npt.NDArray[np.float64]: ...
def risk_score(
    probability: Any,
    threshold: float,
    points_to_double_odds: float = DEFAULT_POINTS_TO_DOUBLE_ODDS,
) -> Any:
    """Map a probability of default to a 0-100 risk score, the threshold landing on 50.

    The scale is the one of credit scoring: points proportional to the log-odds
    ``logit(p) = ln(p / (1 - p))``, so that every ``pdo`` points the odds of default
    double, whatever the starting point::

        score = clip(50 + pdo / ln(2) * (logit(p) - logit(t)), 0, 100)

    It is increasing (strictly between 0 and 100), so ranking by score is ranking by
    probability, and "score above 50" is exactly "probability above the cost-optimal
    threshold". A band ``[50 - w, 50 + w]`` is symmetric in odds: its edges are the odds of
    the threshold divided and multiplied by ``2 ** (w / pdo)``.

    Parameters
    ----------
    probability
        One probability or an array of them; values outside [0, 1] are clipped. 0 scores 0
        and 1 scores 100.
    threshold
        The decision threshold, in (0, 1]. At 1 (refuse nobody), ``logit(1)`` is infinite:
        every probability below 1 scores 0 and 1 itself scores 50, so nobody is refused.
    points_to_double_odds
        ``pdo``: the score points over which the odds of default double; the larger, the
        more spread the scores are around 50.

    Returns
    -------
    float or ndarray
        The score(s), in [0, 100].

    Raises
    ------
    ValueError
        When the threshold is outside (0, 1] or ``points_to_double_odds`` is not above 0.

    Examples
    --------
    >>> risk_score(0.0, 0.2), risk_score(0.2, 0.2), risk_score(1.0, 0.2)
    (0.0, 50.0, 100.0)

    Odds of 1/2 at the threshold: odds of 1 (p = 0.5) are one doubling, 10 points, above it.

    >>> round(risk_score(0.5, 1 / 3), 6), round(risk_score(0.2, 1 / 3), 6)
    (60.0, 40.0)
    >>> risk_score([0.05, 0.5], 0.1).round(2).tolist()
    [39.22, 81.7]
    >>> round(risk_score(0.5, 1 / 3, points_to_double_odds=20), 6)
    70.0
    >>> risk_score([0.5, 1.0], 1.0).tolist()
    [0.0, 50.0]
    """
    t = _check_threshold(threshold)
    pdo = check_points_to_double_odds(points_to_double_odds)
    p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    logit_p = _logit(p)
    logit_t = float(_logit(np.asarray(t)))
    with np.errstate(invalid="ignore"):
        gap = logit_p - logit_t
    # Only p = 1 at t = 1 gives inf - inf: that probability is the threshold, hence 50.
    gap = np.where(np.isnan(gap), 0.0, gap)
    score = np.clip(50.0 + pdo / np.log(2.0) * gap, 0.0, 100.0)
    return float(score) if score.ndim == 0 else score


def probability_from_score(
    score: float,
    threshold: float,
    points_to_double_odds: float = DEFAULT_POINTS_TO_DOUBLE_ODDS,
) -> float:
    """The inverse of :func:`risk_score`: the probability that maps to ``score``.

    Exact on (0, 100). At 0 and 100, where :func:`risk_score` clips, the probability at the
    edge of the clip: the highest probability scoring 0, the lowest scoring 100. At
    threshold 1, every score maps to probability 1 (see :func:`risk_score`). Useful to
    show which probabilities the review band covers.

    Examples
    --------
    >>> probability_from_score(50, 0.25), round(probability_from_score(60, 0.25), 6)
    (0.25, 0.4)
    >>> round(probability_from_score(40, 0.25), 6), round(probability_from_score(0, 0.25), 6)
    (0.142857, 0.010309)
    """
    if not 0.0 <= score <= 100.0:
        raise ValueError(f"score must be in [0, 100], got {score}")
    t = _check_threshold(threshold)
    pdo = check_points_to_double_odds(points_to_double_odds)
    if score == 50.0:
        return t
    logit_p = float(_logit(np.asarray(t))) + (score - 50.0) * np.log(2.0) / pdo
    # expit without scipy, written for both signs so that neither side overflows.
    if logit_p >= 0.0:
        return float(1.0 / (1.0 + np.exp(-logit_p)))
    z = float(np.exp(logit_p))
    return z / (1.0 + z)


def check_band(band: Sequence[float]) -> tuple[float, float]:
    """Validate a review band ``(low, high)`` on the 0-100 score scale.

    Examples
    --------
    >>> check_band([45, 55])
    (45.0, 55.0)
    """
    if len(band) != 2:
        raise ValueError(f"the review band is (low, high), got {band!r}")
    low, high = float(band[0]), float(band[1])
    if not 0.0 <= low <= high <= 100.0:
        raise ValueError(f"the review band needs 0 <= low <= high <= 100, got {band!r}")
    return low, high


def decision(score: float, band: Sequence[float] = DEFAULT_REVIEW_BAND) -> Decision:
    """The decision for a risk score: ``grant`` below the band, ``review`` inside it (bounds
    included), ``refuse`` above.

    Examples
    --------
    >>> [decision(s) for s in (44.99, 45, 50, 55, 55.01)]
    ['grant', 'review', 'review', 'review', 'refuse']
    >>> decision(50, band=(50, 50)), decision(49.9, band=(50, 50))
    ('review', 'grant')
    """
    low, high = check_band(band)
    if score < low:
        return "grant"
    if score > high:
        return "refuse"
    return "review"


@dataclass
class ScoreResult:
    """One client's answer, in the decision contract's words.

    Attributes
    ----------
    client_id
        ``SK_ID_CURR``, or ``None`` for an anonymous application.
    probability_default
        Calibrated probability of default.
    risk_score
        0-100, the threshold at 50, on the scale of :func:`risk_score`.
    decision
        ``grant``, ``review`` or ``refuse`` (:func:`decision`).
    threshold
        The model's cost-optimal probability threshold.
    review_band
        The score interval, bounds included, where the advisor decides.
    model_version
        The registry model and version that answered, e.g. ``credit-scoring/3``.
    reasons
        The features that pushed the score most, in French, with direction; filled by
        ``credit_scoring.explain``.

    Examples
    --------
    >>> r = ScoreResult(7, 0.05, 25.0, "grant", 0.1, (45.0, 55.0), "credit-scoring/1")
    >>> r.to_dict()["review_band"], r.to_dict()["reasons"]
    ([45.0, 55.0], [])
    """

    client_id: int | None
    probability_default: float
    risk_score: float
    decision: Decision
    threshold: float
    review_band: tuple[float, float]
    model_version: str
    reasons: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the band as a list)."""
        out = asdict(self)
        out["review_band"] = list(self.review_band)
        return out


def client_ids(features: pd.DataFrame) -> list[int | None]:
    """Client ids from the SK_ID_CURR column, else an index named SK_ID_CURR, else none."""
    if CLIENT_ID in features.columns:
        return [int(i) for i in features[CLIENT_ID]]
    if features.index.name == CLIENT_ID:
        return [int(i) for i in features.index]
    return [None] * len(features)


class Scorer:
    """The champion model with its decision settings: features in, :class:`ScoreResult` out.

    Parameters
    ----------
    model
        Anything with ``predict_proba`` on a features frame (the registered
        ``CalibratedClassifierCV``).
    threshold
        Probability threshold (from the registry, chosen at training).
    review_band
        Score band of the ``review`` decision.
    points_to_double_odds
        The scale of the score (:func:`risk_score`): points over which the odds double.
    features
        The model's feature columns, in order; other columns of an input are ignored.
    model_version
        Shown in every result.

    Examples
    --------
    >>> class Constant:
    ...     def predict_proba(self, X):
    ...         return np.column_stack([1 - X["p"], X["p"]])
    >>> scorer = Scorer(Constant(), threshold=0.1, review_band=(45, 55), features=["p"])
    >>> frame = pd.DataFrame({"SK_ID_CURR": [1, 2], "p": [0.02, 0.5]})
    >>> [(r.client_id, round(r.risk_score, 2), r.decision) for r in scorer.score_features(frame)]
    [(1, 25.55, 'grant'), (2, 81.7, 'refuse')]
    >>> scorer.risk_score([0.1, 0.2]).round(2).tolist()
    [50.0, 61.7]
    """

    def __init__(
        self,
        model: Any,
        *,
        threshold: float,
        review_band: Sequence[float] = DEFAULT_REVIEW_BAND,
        points_to_double_odds: float = DEFAULT_POINTS_TO_DOUBLE_ODDS,
        features: Sequence[str],
        model_version: str = "unregistered",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.threshold = _check_threshold(threshold)
        self.review_band = check_band(review_band)
        self.points_to_double_odds = check_points_to_double_odds(points_to_double_odds)
        self.features = [str(f) for f in features]
        self.model_version = model_version
        self.metadata = dict(metadata or {})
        self._matrix: tuple[Any, Any] | None = None

    @classmethod
    def from_registry(
        cls,
        name: str = DEFAULT_MODEL_NAME,
        alias: str = DEFAULT_ALIAS,
        tracking_uri: str | None = None,
    ) -> Scorer:
        """Load ``models:/<name>@<alias>`` and the threshold, band, scale and features stored
        with it (a contract registered before the scale was a setting gets the default).

        Parameters
        ----------
        name, alias
            The registered model and its alias.
        tracking_uri
            MLflow store; default: the project's SQLite store under ``data/mlflow/``.
        """
        from credit_scoring.modelling.registry import load_registered

        loaded = load_registered(name, alias, tracking_uri=tracking_uri)
        contract = loaded.contract
        return cls(
            loaded.model,
            threshold=contract["threshold"],
            review_band=contract["review_band"],
            points_to_double_odds=contract.get(
                "points_to_double_odds", DEFAULT_POINTS_TO_DOUBLE_ODDS
            ),
            features=contract["features"],
            model_version=f"{name}/{loaded.version}",
            metadata=contract,
        )

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """The model's columns of ``features``, in training order.

        Raises
        ------
        KeyError
            When a feature is absent: the scorer never fills one in.
        """
        missing = [f for f in self.features if f not in features.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise KeyError(f"{len(missing)} feature(s) missing from the input: {shown}")
        return features[self.features]

    def predict_proba(self, features: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Calibrated probabilities of default, one per row."""
        proba = np.asarray(self.model.predict_proba(self.prepare(features)), dtype=float)
        return proba[:, 1] if proba.ndim == 2 else proba

    def predict_proba_rows(self, rows: FeatureRows) -> npt.NDArray[np.float64]:
        """Calibrated probabilities of served feature rows (see
        :mod:`credit_scoring.features.serving`): a blend reads the array directly
        (:class:`~credit_scoring.modelling.blend.MatrixBlend`), any other model gets the rows
        as a data frame. The same probabilities either way."""
        key = (rows.names, tuple(sorted(rows.levels.items())))
        if self._matrix is None or self._matrix[0] != key:
            self._matrix = (key, _matrix_model(self.model, rows))
        matrix = self._matrix[1]
        if matrix is None:
            return self.predict_proba(rows.to_frame())
        return matrix.predict_proba(rows.values)

    @overload
    def risk_score(self, probability: float) -> float: ...
    @overload
    def risk_score(self, probability: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
    def risk_score(self, probability: Any) -> Any:
        """The risk score(s) of probabilities on this model's scale: its threshold at 50, its
        points to double the odds (:func:`risk_score`)."""
        return risk_score(probability, self.threshold, self.points_to_double_odds)

    def result(self, probability: float, client_id: int | None = None) -> ScoreResult:
        """The contract's answer for one probability."""
        score = self.risk_score(float(probability))
        return ScoreResult(
            client_id=client_id,
            probability_default=float(probability),
            risk_score=score,
            decision=decision(score, self.review_band),
            threshold=self.threshold,
            review_band=self.review_band,
            model_version=self.model_version,
        )

    def score_features(self, features: pd.DataFrame) -> list[ScoreResult]:
        """Score rows of the feature table (client ids from ``SK_ID_CURR`` or the index)."""
        ids = client_ids(features)
        proba = self.predict_proba(features)
        return [self.result(p, i) for p, i in zip(proba, ids, strict=True)]

    def score_clients(self, client_ids: Sequence[int]) -> list[ScoreResult]:
        """Score known clients: features rebuilt from their stored application and history
        by the same code as training (``credit_scoring.features.features_for_clients``).

        Raises
        ------
        KeyError
            When a client has no stored application.
        """
        from credit_scoring.features import features_for_clients

        ids = [int(i) for i in client_ids]
        frame = features_for_clients(ids)
        results = self.score_features(frame)
        if all(r.client_id is None for r in results):  # ids come back in the asked order
            for r, i in zip(results, ids, strict=True):
                r.client_id = i
        return results

    def score_application(
        self, application: pd.DataFrame, client_id: int | None = None
    ) -> ScoreResult:
        """Score one posted application (the application columns, one row).

        The client's stored history, if any, is joined by ``SK_ID_CURR``; a new client has
        none, and the model sees missing history features as it did in training.

        Parameters
        ----------
        application
            One row with the columns of application_test (missing columns count as missing
            values); its ``SK_ID_CURR`` is replaced by ``client_id`` when given.
        client_id
            The client; required when the row has no ``SK_ID_CURR``.
        """
        from credit_scoring.features import features_for_clients

        if len(application) != 1:
            raise ValueError(f"score_application takes one application row, got {len(application)}")
        row = application.copy()
        if client_id is not None:
            row[CLIENT_ID] = int(client_id)
        if CLIENT_ID not in row.columns or row[CLIENT_ID].isna().any():
            raise ValueError(f"the application needs a {CLIENT_ID} or a client_id")
        cid = int(row[CLIENT_ID].iloc[0])
        frame = features_for_clients([cid], applications=row)
        result = self.score_features(frame)[0]
        result.client_id = cid
        return result


def _matrix_model(model: Any, rows: FeatureRows) -> Any:
    """The model's matrix path for rows of this layout, or None (the data-frame path)."""
    from credit_scoring.modelling.blend import MarginBlend, MatrixBlend

    if not isinstance(model, MarginBlend):
        return None
    try:
        return MatrixBlend(model, rows.names, rows.levels)
    except (TypeError, KeyError):
        return None
