"""What the API serves, loaded once per process: the scorer, the production batch, explanations.

:class:`ScoringService` holds

- the :class:`~credit_scoring.scoring.Scorer` (``models:/credit-scoring@champion``, or one
  injected by the caller);
- the production batch's feature table in memory, indexed by ``SK_ID_CURR`` (the known
  clients), and, once a background thread has run the model over it, every known client's
  probability: scoring a known client is then a look-up;
- the in-memory serving path of posted applications and what-ifs
  (:class:`~credit_scoring.features.serving.FeatureServer`): the feature code of the batch on
  the request's fields, the production batch's history rows, the empty history of a new
  client, the batch's SQL in memory for posted history records; the scorer then reads the
  feature array directly. ``history_cache=False`` sends every application without posted
  history through ``features_for_clients`` instead (the batch's route, for comparison);
- the :class:`~credit_scoring.explain.Explainer` and the precomputed explanations;
- the scorecard challenger of the train stage (``scorecard.json``), read on first use: a
  second reading of a known client, points per attribute, that decides nothing
  (:meth:`ScoringService.scorecard_reading`).

Nothing is read on construction; :meth:`ScoringService.load` does the loading (the API calls
it at startup, and on first use when started without its lifespan, as a test client does).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_scoring.api.schemas import WHAT_IF_FIELDS
from credit_scoring.data.schema import CLIENT_ID, TABLES
from credit_scoring.decision_log import inputs_sha256
from credit_scoring.scoring import (
    DECISION_LABELS_FR,
    Scorer,
    ScoreResult,
    check_points_to_double_odds,
)
from credit_scoring.scoring import decision as band_decision

if TYPE_CHECKING:
    from credit_scoring.api.population import FeatureDistribution, Neighbours, Population
    from credit_scoring.api.settings import ApiSettings
    from credit_scoring.explain import Counterfactual, Explainer, Explanation
    from credit_scoring.features.serving import FeatureRows, FeatureServer, History
    from credit_scoring.modelling.scorecard import Scorecard

log = logging.getLogger("credit_scoring.api")

#: Rows scored at a time by the background pass over the production batch.
PRECOMPUTE_CHUNK = 5000
#: Seconds before a failed model load is tried again.
RETRY_SECONDS = 30.0
#: The id a posted application without client gets: no table holds it (ids are > 0).
ANONYMOUS_ID = 0
_APPLICATION_COLUMNS = TABLES["application_test"].column_names
#: The fields of a stored application served to advisors (what the dashboard shows; GDPR
#: minimisation: nothing on family, gender, contact or identity). A what-if may change the
#: amounts of :data:`~credit_scoring.api.schemas.WHAT_IF_FIELDS`.
APPLICATION_FIELDS = (
    "NAME_CONTRACT_TYPE",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "AMT_INCOME_TOTAL",
)

_DTYPES = TABLES["application_test"].dtypes


class ServiceUnavailableError(RuntimeError):
    """The model, or data it needs, is not available: the API answers 503."""


def clean_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A stored application row as JSON fields: missing values left out, numpy scalars as
    Python ones.

    >>> clean_fields({"A": np.float64(2.0), "B": float("nan"), "C": None, "D": pd.NA})
    {'A': 2.0}
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value is pd.NA or value is pd.NaT:
            continue
        if isinstance(value, float | np.floating) and not np.isfinite(value):
            continue
        out[str(key)] = value.item() if hasattr(value, "item") else value
    return out


def json_value(value: Any) -> bool | int | float | str | None:
    """A feature value as JSON: None when missing, numpy scalars as Python ones, categories
    as text.

    >>> [json_value(v) for v in (np.float64(2.5), np.int64(3), np.bool_(True), "Working")]
    [2.5, 3, True, 'Working']
    >>> [json_value(v) for v in (float("nan"), float("inf"), pd.NA, None)]
    [None, None, None, None]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


#: What the scorecard reading says of itself, with every answer: a second opinion only.
SCORECARD_NOTE = (
    "Deuxième lecture : grille de score (modèle challenger). Elle ne décide pas ; la "
    "décision vient du modèle retenu."
)


class ScorecardUnavailableError(LookupError):
    """The train stage wrote no scorecard (an older pipeline run): the API answers 404."""


@dataclass(frozen=True)
class ScorecardAttribute:
    """One feature of the scorecard for one client: the client's bin and its points.

    Attributes
    ----------
    feature
        The feature's code.
    label
        Its French label.
    bin
        The client's bin, in French (« [0,35 ; 0,52[ », « manquant »).
    value
        The client's value (None when missing).
    points
        The points of that bin: above 0 they raise the risk, below 0 they lower it.
    """

    feature: str
    label: str
    bin: str
    value: bool | int | float | str | None
    points: float


@dataclass(frozen=True)
class ScorecardReading:
    """A known client read by the scorecard challenger: points, score and what it would say.

    ``base_points`` plus the points of every attribute make ``total_points``; the score is
    the total clipped to 0-100, on the risk score's scale (50 at the scorecard's threshold),
    and ``decision`` applies the served model's review band to it. It decides nothing.

    Attributes
    ----------
    client_id
        SK_ID_CURR.
    total_points, score, decision, review_band
        The total, the score (clipped), what the band says of it, and the band.
    threshold, points_to_double_odds
        The scorecard's probability threshold (50 points) and its scale.
    base_points
        The points every client starts from.
    attributes
        One per feature of the scorecard, largest absolute points first.

    Examples
    --------
    >>> reading = ScorecardReading(7, 52.0, 52.0, "review", (45.0, 55.0), 0.1, 10.0, 47.0,
    ...     (ScorecardAttribute("AGE_YEARS", "Âge", "< 30", 25.0, 5.0),))
    >>> data = reading.to_dict()
    >>> data["challenger"], data["decision_label"], data["attributes"][0]["bin"]
    (True, 'À étudier par le conseiller', '< 30')
    >>> ScorecardReading.from_dict(data) == reading
    True
    """

    client_id: int
    total_points: float
    score: float
    decision: str
    review_band: tuple[float, float]
    threshold: float
    points_to_double_odds: float
    base_points: float
    attributes: tuple[ScorecardAttribute, ...]

    def to_dict(self) -> dict[str, Any]:
        """The API's answer (``ScorecardOut``)."""
        return {
            "client_id": self.client_id,
            "challenger": True,
            "note": SCORECARD_NOTE,
            "total_points": self.total_points,
            "score": self.score,
            "decision": self.decision,
            "decision_label": DECISION_LABELS_FR[self.decision],
            "review_band": list(self.review_band),
            "threshold": self.threshold,
            "points_to_double_odds": self.points_to_double_odds,
            "base_points": self.base_points,
            "attributes": [
                {
                    "feature": a.feature,
                    "label": a.label,
                    "bin": a.bin,
                    "value": a.value,
                    "points": a.points,
                }
                for a in self.attributes
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScorecardReading:
        """The reading :meth:`to_dict` (or the API) gave."""
        low, high = data["review_band"]
        return cls(
            client_id=int(data["client_id"]),
            total_points=float(data["total_points"]),
            score=float(data["score"]),
            decision=str(data["decision"]),
            review_band=(float(low), float(high)),
            threshold=float(data["threshold"]),
            points_to_double_odds=float(data["points_to_double_odds"]),
            base_points=float(data["base_points"]),
            attributes=tuple(
                ScorecardAttribute(
                    feature=str(a["feature"]),
                    label=str(a["label"]),
                    bin=str(a["bin"]),
                    value=a.get("value"),
                    points=float(a["points"]),
                )
                for a in data["attributes"]
            ),
        )


@dataclass(frozen=True)
class LoadedScorecard:
    """``scorecard.json``: the scorecard, its probability threshold and its scale."""

    scorecard: Scorecard
    threshold: float
    points_to_double_odds: float


def read_scorecard(path: Path) -> LoadedScorecard:
    """The scorecard challenger the train stage wrote.

    Raises
    ------
    ScorecardUnavailableError
        When the file does not exist (a run older than the challenger).
    ServiceUnavailableError
        When it exists but cannot be read as a scorecard.
    """
    path = Path(path)
    if not path.is_file():
        raise ScorecardUnavailableError(
            f"no scorecard challenger: {path.name} is missing from {path.parent}; run the "
            "train stage (dvc repro train) to write it"
        )
    from credit_scoring.modelling.scorecard import Scorecard

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        threshold = float(data["threshold"])
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        loaded = LoadedScorecard(
            scorecard=Scorecard.from_dict(data["scorecard"]),
            threshold=threshold,
            points_to_double_odds=check_points_to_double_odds(data["points_to_double_odds"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ServiceUnavailableError(
            f"{path.name} cannot be read ({error}): run the train stage (dvc repro train) again"
        ) from error
    return loaded


class UnknownClientError(LookupError):
    """Not a client of the production batch: the API answers 404."""

    def __init__(self, client_ids: Sequence[int]) -> None:
        self.client_ids = [int(i) for i in client_ids]
        shown = ", ".join(str(i) for i in self.client_ids[:20])
        more = f" (and {len(self.client_ids) - 20} more)" if len(self.client_ids) > 20 else ""
        super().__init__(f"unknown client(s) {shown}{more}: not in the production batch")


@dataclass
class Scored:
    """One answer: the contract's result, the fingerprint of the model's inputs, and the
    explanation when asked for."""

    result: ScoreResult
    inputs_sha256: str
    explanation: Explanation | None = None


def application_frame(
    applications: Sequence[dict[str, Any]], client_ids: Sequence[int]
) -> pd.DataFrame:
    """Application rows with the declared columns and dtypes (absent or null: missing).

    Examples
    --------
    >>> frame = application_frame([{"AMT_CREDIT": 1e5, "CODE_GENDER": "F"}], [7])
    >>> frame.shape, frame["SK_ID_CURR"].tolist(), frame["AMT_CREDIT"].dtype.name
    ((1, 121), [7], 'float64')
    >>> bool(frame["EXT_SOURCE_1"].isna().all()), frame["CODE_GENDER"].tolist()
    (True, ['F'])
    """
    columns: dict[str, Any] = {}
    for name in _APPLICATION_COLUMNS:
        if name == CLIENT_ID:
            columns[name] = np.asarray(client_ids, dtype=np.int64)
            continue
        values = [a.get(name) for a in applications]
        dtype = _DTYPES[name]
        if dtype == "float64":
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif dtype == "int64" and all(v is not None for v in values):
            columns[name] = np.asarray(values, dtype=np.int64)
        elif dtype == "int64":  # only in hand-made rows: the API requires every integer
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            columns[name] = np.array(values, dtype=object)
    return pd.DataFrame(columns)


class ScoringService:
    """The scorer and its data, for the API's threads (see the module docstring).

    Parameters
    ----------
    settings
        Paths and switches.
    scorer
        The scorer to serve, or a function returning it (called once, by :meth:`load`);
        default: loaded from the registry by :meth:`load`.
    explainer
        Its explainer; default: built from the scorer on first use.
    """

    def __init__(
        self,
        settings: ApiSettings,
        scorer: Scorer | Callable[[], Scorer] | None = None,
        explainer: Explainer | None = None,
    ) -> None:
        self.settings = settings
        self._scorer: Scorer | None = None
        self._scorer_factory: Callable[[], Scorer] | None = None
        if scorer is not None and not hasattr(scorer, "predict_proba") and callable(scorer):
            self._scorer_factory = scorer
        else:
            self._scorer = scorer  # type: ignore[assignment]
        self._explainer = explainer
        self._lock = threading.RLock()
        self._loaded = False
        self._error: str | None = None
        self._failed_at = 0.0
        # production batch
        self.features: pd.DataFrame | None = None
        self._position: dict[int, int] = {}
        self._sorted_ids: np.ndarray | None = None
        self._applications: pd.DataFrame | None = None
        self._population: Population | None = None
        self._importance: pd.Series | None = None
        self._production_error: str | None = None
        self._feature_code_error: str | None = None
        self._proba: np.ndarray | None = None
        self._hashes: dict[int, str] = {}
        self._serving_warm = False
        # An advisor's what-ifs re-read one client's application: the last few thousand kept.
        self._stored_fields = lru_cache(maxsize=4096)(self._read_stored_application)
        # posted applications
        self._feature_server: FeatureServer | None = None
        # explanations
        self._explanations_ok: bool | None = None
        # the scorecard challenger
        self._scorecard: LoadedScorecard | None = None
        self._labels: dict[str, str] | None = None
        self._background: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ loading

    @property
    def loaded(self) -> bool:
        """Whether the scorer is ready."""
        return self._loaded

    @property
    def error(self) -> str | None:
        """Why the scorer could not be loaded, if it could not."""
        return self._error

    @property
    def scorer(self) -> Scorer:
        """The served scorer (loading it on first use).

        Raises
        ------
        ServiceUnavailableError
            When no model can be loaded.
        """
        self.load()
        assert self._scorer is not None
        return self._scorer

    def load(self) -> None:
        """Load the scorer and the production batch, once; start the background work.

        Raises
        ------
        ServiceUnavailableError
            When the model cannot be loaded (tried again after :data:`RETRY_SECONDS`).
        """
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            if self._error and time.monotonic() - self._failed_at < RETRY_SECONDS:
                raise ServiceUnavailableError(self._error)
            try:
                if self._scorer is None and self._scorer_factory is not None:
                    self._scorer = self._scorer_factory()
                elif self._scorer is None:
                    self._scorer = self._from_registry()
            except Exception as error:  # the registry's errors are many; all mean "no model"
                self._error = f"no model to serve: {error}"
                self._failed_at = time.monotonic()
                log.error("%s", self._error)
                raise ServiceUnavailableError(self._error) from error
            self._error = None
            self._load_production()
            self._loaded = True
            log.info("serving %s", self._scorer.model_version)
        self._start_background()

    def _from_registry(self) -> Scorer:
        from credit_scoring.modelling.registry import DB_FILE, tracking_uri

        store = Path(self.settings.mlflow_dir)
        # Opening a missing store would create an empty one: say what is missing instead.
        if not (store / DB_FILE).is_file():
            raise LookupError(
                f"no MLflow store at {store}: run the train stage (dvc repro train) first"
            )
        return Scorer.from_registry(
            self.settings.model_name, self.settings.model_alias, tracking_uri=tracking_uri(store)
        )

    def _load_production(self) -> None:
        from credit_scoring.features import all_features

        assert self._scorer is not None
        produced = {f.name for f in all_features()}
        unknown = [f for f in self._scorer.features if f not in produced]
        if unknown:
            self._feature_code_error = (
                f"the model uses {len(unknown)} feature(s) the feature code no longer builds "
                f"(e.g. {unknown[0]}): retrain it (dvc repro train) to score posted applications"
            )
            log.error("%s", self._feature_code_error)
        path = self.settings.production_file
        if not path.is_file():
            self._production_error = (
                f"{path} is missing: run the features stage (dvc repro features) to serve "
                "known clients"
            )
            log.warning("%s", self._production_error)
            return
        frame = pd.read_parquet(path)
        frame = frame.set_index(CLIENT_ID) if CLIENT_ID in frame.columns else frame
        missing = [f for f in self._scorer.features if f not in frame.columns]
        if missing:
            self._production_error = (
                f"{path} lacks {len(missing)} of the model's features (e.g. {missing[0]}): "
                "the feature table and the model come from different runs"
            )
            log.error("%s", self._production_error)
            return
        self.features = frame
        self._position = {int(i): k for k, i in enumerate(frame.index)}
        self._sorted_ids = np.sort(np.asarray(frame.index, dtype=np.int64))

    def _start_background(self) -> None:
        with self._lock:
            if self._background is not None:
                return
            self._background = threading.Thread(
                target=self._warm_up, name="credit-scoring-warm-up", daemon=True
            )
            self._background.start()

    def _warm_up(self) -> None:
        """Work that makes requests faster, none of it needed for correct answers."""
        steps: list[tuple[str, Any]] = []
        if self.settings.precompute_scores:
            steps.append(("production scores", self._precompute_scores))
        if self.settings.history_cache:
            steps.append(("feature server", self._warm_feature_server))
        steps.append(("precomputed explanations", self._check_precomputed_explanations))
        for name, step in steps:
            if self._stop.is_set():
                return
            started = time.perf_counter()
            try:
                step()
            except Exception:  # a failed optimisation leaves the slow, correct path
                log.exception("warm-up step %s failed; serving without it", name)
            else:
                log.info("warm-up: %s in %.1f s", name, time.perf_counter() - started)

    def wait_warm(self, timeout: float | None = None) -> bool:
        """Wait for the background warm-up (tests and benchmarks); True when it has ended."""
        thread = self._background
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def close(self) -> None:
        """Stop the background work at its next step."""
        self._stop.set()

    def _precompute_scores(self) -> None:
        """Every known client's probability and input hash, a chunk at a time."""
        frame = self.features
        if frame is None:
            return
        scorer = self.scorer
        proba = np.empty(len(frame))
        ids = [int(i) for i in frame.index]
        for start in range(0, len(frame), PRECOMPUTE_CHUNK):
            if self._stop.is_set():
                return
            chunk = frame.iloc[start : start + PRECOMPUTE_CHUNK][scorer.features]
            proba[start : start + len(chunk)] = scorer.predict_proba(chunk)
            records = chunk.to_dict(orient="records")
            for cid, record in zip(ids[start : start + len(chunk)], records, strict=True):
                self._hashes.setdefault(cid, inputs_sha256(record))
        self._proba = proba

    def _warm_feature_server(self) -> None:
        server = self.feature_server
        server.ids_with_history  # noqa: B018 (read once, before the first request needs it)
        if self._scorer is not None:  # its matrix path is built on first use: now
            self._scorer.predict_proba_rows(server.rows([{}], [None]))
        self._serving_warm = True

    @property
    def serving_warm(self) -> bool:
        """Whether posted applications are scored in memory, every lazy part built: a few
        milliseconds per application, with no file to read."""
        return self._serving_warm

    @property
    def scores_precomputed(self) -> bool:
        """Whether every known client's probability is already computed."""
        return self._proba is not None

    @property
    def production_clients(self) -> int | None:
        """Size of the production batch, None when it is not loaded."""
        return None if self.features is None else len(self.features)

    def _production(self) -> pd.DataFrame:
        self.load()
        if self.features is None:
            raise ServiceUnavailableError(self._production_error or "no production batch")
        return self.features

    # ------------------------------------------------------------------ known clients

    def is_known(self, client_id: int) -> bool:
        """Whether the client belongs to the production batch."""
        self._production()
        return int(client_id) in self._position

    def _positions(self, client_ids: Sequence[int]) -> list[int]:
        self._production()
        unknown = [i for i in client_ids if int(i) not in self._position]
        if unknown:
            raise UnknownClientError(unknown)
        return [self._position[int(i)] for i in client_ids]

    def client_features(self, client_ids: Sequence[int]) -> pd.DataFrame:
        """Rows of the production feature table (raises :class:`UnknownClientError`)."""
        positions = self._positions(client_ids)
        return self._production().iloc[positions]

    def score_clients(self, client_ids: Sequence[int], *, explain: int = 0) -> list[Scored]:
        """Score known clients, in order; ``explain``: reasons per client (0: none).

        Once the background pass has run, this is look-ups only (no model, no pandas).

        Raises
        ------
        UnknownClientError
            When a client is not in the production batch.
        """
        scorer = self.scorer
        ids = [int(i) for i in client_ids]
        positions = self._positions(ids)
        frame = self._production()
        proba = self._proba
        rows: pd.DataFrame | None = None
        if proba is not None:
            probabilities = proba[positions]
        else:  # before the background pass has scored the batch: the model runs now
            rows = frame.iloc[positions][scorer.features]
            probabilities = scorer.predict_proba(rows)
        out = []
        for k, (cid, p) in enumerate(zip(ids, probabilities, strict=True)):
            digest = self._hashes.get(cid)
            if digest is None:
                if rows is None:
                    rows = frame.iloc[positions][scorer.features]
                digest = self._hashes.setdefault(cid, inputs_sha256(rows.iloc[k].to_dict()))
            out.append(Scored(scorer.result(float(p), cid), digest))
        if explain:
            explanations = self.explain_clients(ids, top=explain, rows=frame.iloc[positions])
            for scored, (explanation, _) in zip(out, explanations, strict=True):
                scored.explanation = explanation
                scored.result.reasons = [r.to_dict() for r in explanation.reasons]
        return out

    def client_ids(
        self, prefix: str = "", offset: int = 0, limit: int = 100
    ) -> tuple[int, list[int]]:
        """Ids of the production batch whose decimal form starts with ``prefix``, in
        increasing order: how many match, and those from ``offset`` to ``offset + limit``.

        Raises
        ------
        ValueError
            When ``prefix`` holds anything but digits.
        """
        self._production()
        if prefix and not prefix.isdigit():
            raise ValueError("the prefix must be digits")
        ids = self._sorted_ids
        assert ids is not None
        if prefix and ids.size:
            if prefix.startswith("0"):
                ids = ids[:0]  # ids are > 0: no leading zero
            else:
                head, top = int(prefix), int(ids[-1])
                parts = []
                width = 1
                while head * width <= top:  # ids of len(prefix) + k digits, k = 0, 1, ...
                    low, high = head * width, min((head + 1) * width, top + 1)
                    parts.append(ids[np.searchsorted(ids, low) : np.searchsorted(ids, high)])
                    width *= 10
                ids = np.sort(np.concatenate(parts)) if parts else ids[:0]
        return int(ids.size), [int(i) for i in ids[offset : offset + limit]]

    def _application_table(self) -> pd.DataFrame:
        if self._applications is None:
            with self._lock:
                if self._applications is None:
                    path = Path(self.settings.interim_dir) / "application_test.parquet"
                    if not path.is_file():
                        raise ServiceUnavailableError(
                            f"{path} is missing: run the data stage (dvc repro data) to serve "
                            "the clients' applications"
                        )
                    frame = pd.read_parquet(path)
                    frame = frame[~frame[CLIENT_ID].duplicated()]
                    self._applications = frame.set_index(CLIENT_ID)
        return self._applications

    def stored_application(self, client_id: int) -> dict[str, Any]:
        """Every field of a known client's stored application (missing fields left out).

        Raises
        ------
        UnknownClientError
            When the client is not in the production batch or has no stored application.
        """
        self._positions([int(client_id)])
        return dict(self._stored_fields(int(client_id)))

    def _read_stored_application(self, client_id: int) -> dict[str, Any]:
        try:
            row = self._application_table().loc[client_id]
        except KeyError:
            raise UnknownClientError([client_id]) from None
        return clean_fields(row.to_dict())

    def application(self, client_id: int) -> dict[str, Any]:
        """The fields of :data:`APPLICATION_FIELDS` of a known client's stored application
        (None when missing)."""
        stored = self.stored_application(client_id)
        return {name: stored.get(name) for name in APPLICATION_FIELDS}

    def what_if(self, client_id: int, changes: dict[str, Any]) -> Scored:
        """The score of a known client's stored application with some of
        :data:`WHAT_IF_FIELDS` changed (None: the field becomes missing).

        Raises
        ------
        ValueError
            When a change is not one of :data:`WHAT_IF_FIELDS`.
        """
        unknown = sorted(set(changes) - set(WHAT_IF_FIELDS))
        if unknown:
            raise ValueError(f"fields that cannot be changed: {', '.join(unknown)}")
        fields = {**self.stored_application(client_id), **changes}
        [scored] = self.score_applications(
            [{k: v for k, v in fields.items() if v is not None}], [int(client_id)]
        )
        return scored

    # ------------------------------------------------------------------ the scorecard challenger

    @property
    def scorecard(self) -> LoadedScorecard:
        """The scorecard challenger (``scorecard.json`` of the models folder, read once).

        Raises
        ------
        ScorecardUnavailableError
            When the train stage wrote none; looked for again at the next call, since a run
            of the train stage may add it.
        ServiceUnavailableError
            When the file cannot be read as a scorecard.
        """
        if self._scorecard is None:
            with self._lock:
                if self._scorecard is None:
                    self._scorecard = read_scorecard(self.settings.scorecard_file)
        return self._scorecard

    def _feature_labels(self) -> dict[str, str]:
        if self._labels is None:
            from credit_scoring.features import feature_dictionary

            names = feature_dictionary()[["name", "label_fr"]]
            self._labels = dict(names.itertuples(index=False))
        return self._labels

    def scorecard_reading(self, client_id: int) -> ScorecardReading:
        """A known client read by the scorecard challenger, from the same features as its
        score (the production batch).

        Raises
        ------
        UnknownClientError
            When the client is not in the production batch.
        ScorecardUnavailableError
            When the train stage wrote no scorecard.
        ServiceUnavailableError
            When the scorecard cannot be read or needs features the batch lacks.
        """
        row = self.client_features([int(client_id)])
        loaded = self.scorecard
        card = loaded.scorecard
        missing = [name for name in card.names if name not in row.columns]
        if missing:
            raise ServiceUnavailableError(
                f"the scorecard uses {len(missing)} feature(s) the production table lacks "
                f"(e.g. {missing[0]}): they come from different runs (dvc repro train)"
            )
        from credit_scoring.modelling.scorecard import BASE_POINTS

        points = card.points(
            row, threshold=loaded.threshold, points_to_double_odds=loaded.points_to_double_odds
        ).iloc[0]
        total = float(points.sum())
        # Clipping the total itself keeps score and total_points consistent to the last bit
        # (the scorecard's score() reaches the same number by another sum).
        score = min(max(total, 0.0), 100.0)
        band = self.scorer.review_band
        labels = self._feature_labels()
        attributes = []
        for feature in card.features:
            column = row[feature.name]
            [index] = feature.bin_index(column)
            attributes.append(
                ScorecardAttribute(
                    feature=feature.name,
                    label=labels.get(feature.name, feature.name),
                    bin=feature.labels()[int(index)],
                    value=json_value(column.iloc[0]),
                    points=float(points[feature.name]),
                )
            )
        # sorted() is stable: equal points keep the scorecard's order (information value).
        attributes.sort(key=lambda a: -abs(a.points))
        return ScorecardReading(
            client_id=int(client_id),
            total_points=total,
            score=score,
            decision=band_decision(score, band),
            review_band=band,
            threshold=loaded.threshold,
            points_to_double_odds=loaded.points_to_double_odds,
            base_points=float(points[BASE_POINTS]),
            attributes=tuple(attributes),
        )

    # ------------------------------------------------------------------ comparisons

    @property
    def importance(self) -> pd.Series:
        """The model's global importance from the explain stage (share of the total mean
        |SHAP| per feature, largest first; empty when unknown)."""
        if self._importance is None:
            from credit_scoring.api.population import global_importance

            explanations = self.settings.explanations_file
            csv = None if explanations is None else Path(explanations).parent / "importance.csv"
            self._importance = global_importance(csv, explanations)
        return self._importance

    @property
    def population(self) -> Population:
        """The reference population of the comparisons (read on first use).

        Raises
        ------
        ServiceUnavailableError
            When the training table is missing.
        """
        if self._population is None:
            from credit_scoring.api.population import Population

            importance = self.importance
            with self._lock:
                if self._population is None:
                    path = Path(self.settings.features_dir) / "train.parquet"
                    try:
                        self._population = Population.from_file(
                            path, importance if not importance.empty else None
                        )
                    except (FileNotFoundError, ValueError) as error:
                        raise ServiceUnavailableError(
                            f"comparisons unavailable: {error}"
                        ) from error
        return self._population

    def distribution(self, feature: str) -> FeatureDistribution:
        """A feature over all, repaid and defaulted reference clients (aggregates).

        Raises
        ------
        credit_scoring.api.population.UnknownFeatureError
            When the reference has no such numeric feature.
        """
        return self.population.distribution(feature)

    def neighbours(self, client_id: int) -> Neighbours:
        """The known client's similar reference clients, as aggregates."""
        population = self.population
        [row] = [r for _, r in self.client_features([int(client_id)]).iterrows()]
        return population.neighbours(row, int(client_id))

    # ------------------------------------------------------------------ posted applications

    @property
    def feature_server(self) -> FeatureServer:
        """The in-memory serving path of posted applications, over the production batch's
        history rows (built once)."""
        if self._feature_server is None:
            self.load()
            with self._lock:
                if self._feature_server is None:
                    from credit_scoring.features.serving import FeatureServer

                    self._feature_server = FeatureServer(
                        Path(self.settings.interim_dir), self.features
                    )
        return self._feature_server

    def feature_rows(
        self,
        applications: Sequence[dict[str, Any]],
        client_ids: Sequence[int | None],
        histories: Sequence[History | None] | None = None,
    ) -> FeatureRows:
        """Features of posted applications, by the feature code of training.

        Row ``k`` is application ``k`` of client ``client_ids[k]`` (None: a new client
        without history, id 0), with the history records ``histories[k]`` when posted (they
        replace the stored history).
        """
        from credit_scoring.features import features_for_clients
        from credit_scoring.features.serving import FeatureRows

        self.load()
        if self._feature_code_error:
            raise ServiceUnavailableError(self._feature_code_error)
        server = self.feature_server
        if self.settings.history_cache or histories is not None:
            return server.rows(applications, client_ids, histories)
        ids = [ANONYMOUS_ID if c is None else int(c) for c in client_ids]
        frame = pd.concat(
            [
                features_for_clients(
                    [i], self.settings.interim_dir, applications=application_frame([a], [i])
                )
                for a, i in zip(applications, ids, strict=True)
            ]
        )
        return FeatureRows.from_frame(frame, server.levels)

    def application_features(
        self, applications: Sequence[dict[str, Any]], client_ids: Sequence[int | None]
    ) -> pd.DataFrame:
        """:meth:`feature_rows` as the batch's data frame (index: client id, 0 for a new one)."""
        return self.feature_rows(applications, client_ids).to_frame()

    def score_applications(
        self,
        applications: Sequence[dict[str, Any]],
        client_ids: Sequence[int | None],
        *,
        explain: int = 0,
        histories: Sequence[History | None] | None = None,
    ) -> list[Scored]:
        """Score posted applications (see :meth:`feature_rows`)."""
        scorer = self.scorer
        rows = self.feature_rows(applications, client_ids, histories)
        proba = scorer.predict_proba_rows(rows)
        out = [
            Scored(
                scorer.result(float(p), None if cid is None else int(cid)),
                inputs_sha256(rows.record(k, scorer.features)),
            )
            for k, (cid, p) in enumerate(zip(client_ids, proba, strict=True))
        ]
        if explain:
            explanations = self.explainer.explain(rows.to_frame(), top=explain)
            for scored, explanation in zip(out, explanations, strict=True):
                explanation.client_id = scored.result.client_id
                scored.explanation = explanation
                scored.result.reasons = [r.to_dict() for r in explanation.reasons]
        return out

    # ------------------------------------------------------------------ explanations

    @property
    def explainer(self) -> Explainer:
        """The served model's explainer (built on first use).

        Raises
        ------
        ServiceUnavailableError
            When the model cannot be explained.
        """
        if self._explainer is None:
            scorer = self.scorer
            with self._lock:
                if self._explainer is None:
                    from credit_scoring.explain import Explainer
                    from credit_scoring.explain.local import training_background

                    background = training_background(self.settings.features_dir)
                    try:
                        self._explainer = Explainer.from_scorer(scorer, background=background)
                    except (TypeError, ValueError) as error:
                        raise ServiceUnavailableError(
                            f"explanations unavailable: {error}"
                        ) from error
        return self._explainer

    def _precomputed(self, client_id: int, top: int) -> Explanation | None:
        path = self.settings.explanations_file
        if path is None or self._explanations_ok is False or not Path(path).is_file():
            return None
        from credit_scoring.explain import load_explanation

        if self._explanations_ok is None:
            self._check_precomputed_explanations()
            if not self._explanations_ok:
                return None
        return load_explanation(int(client_id), Path(path), top=top)

    def _check_precomputed_explanations(self) -> None:
        """Use the precomputed explanations only if they explain the served model: for a few
        clients, their base value plus SHAP values must give the model's log-odds."""
        path = self.settings.explanations_file
        if self._explanations_ok is not None or path is None or not Path(path).is_file():
            return
        if self.features is None:
            self._explanations_ok = False
            return
        from credit_scoring.explain import load_explanation

        sample = [int(i) for i in self.features.index[:: max(1, len(self.features) // 3)][:3]]
        stored = [load_explanation(i, Path(path)) for i in sample]
        pairs = [(i, e) for i, e in zip(sample, stored, strict=True) if e is not None]
        if not pairs:
            self._explanations_ok = False
            log.warning("%s holds none of the production clients: explaining on demand", path)
            return
        rows = self.client_features([i for i, _ in pairs])
        expected = self.explainer.log_odds(rows)
        found = np.array([e.log_odds for _, e in pairs])
        ok = bool(np.allclose(found, expected, rtol=1e-3, atol=1e-3))
        if not ok:
            log.warning("%s does not explain the served model: explaining on demand", path)
        self._explanations_ok = ok

    @property
    def precomputed_explanations(self) -> bool | None:
        """True when the precomputed explanations are used, None before they are checked."""
        path = self.settings.explanations_file
        if path is None or not Path(path).is_file():
            return False
        return self._explanations_ok

    def explain_clients(
        self, client_ids: Sequence[int], *, top: int = 5, rows: pd.DataFrame | None = None
    ) -> list[tuple[Explanation, str]]:
        """Explanations of known clients, each with its source (``precomputed``/``computed``)."""
        ids = [int(i) for i in client_ids]
        found: dict[int, Explanation] = {}
        for cid in ids:
            explanation = self._precomputed(cid, top)
            if explanation is not None:
                found[cid] = explanation
        todo = [i for i in ids if i not in found]
        computed: dict[int, Explanation] = {}
        if todo:
            frame = rows if rows is not None else self.client_features(ids)
            frame = frame[frame.index.isin(todo)]
            frame = frame[~frame.index.duplicated()]
            for explanation in self.explainer.explain(frame, top=top):
                assert explanation.client_id is not None
                computed[int(explanation.client_id)] = explanation
        return [(found[i], "precomputed") if i in found else (computed[i], "computed") for i in ids]

    def counterfactual(
        self, client_id: int, bounds: dict[str, Any] | None = None
    ) -> Counterfactual:
        """The counterfactual of a known client's stored application."""
        from credit_scoring.explain import CounterfactualBounds, counterfactual

        self._positions([int(client_id)])
        try:
            limits = CounterfactualBounds.from_dict(bounds)
        except (TypeError, ValueError) as error:  # the server's settings, not the request
            raise ServiceUnavailableError(
                f"params.yaml explain.counterfactual is invalid: {error}"
            ) from error
        return counterfactual(
            self.scorer,
            client_id=int(client_id),
            bounds=limits,
            interim_dir=Path(self.settings.interim_dir),
        )
