"""Data access of the dashboard: one interface, two backends, and the bank's client files.

- :class:`ApiBackend` calls the scoring API (``CREDIT_SCORING_API_URL``, key in
  ``CREDIT_SCORING_API_KEY``): scores, explanations, counterfactuals, the scorecard
  challenger's second reading, and advisor decisions written to the API's decision log;
- :class:`LocalBackend` runs the same :class:`~credit_scoring.api.service.ScoringService` as
  the API, in process (the champion from the registry), and writes advisor decisions to the
  same decision log (``CREDIT_SCORING_DECISION_LOG``, default ``data/decisions.sqlite``),
  with the same validation of the reason;
- :func:`open_backend` picks one from the environment.

Both return the decision contract's words (:class:`~credit_scoring.scoring.ScoreResult`,
:class:`~credit_scoring.explain.Explanation`), and the same data beside them: the ids of the
production batch (searched by prefix), the few fields of a client's application an advisor
needs (GDPR minimisation: the what-if sends changed amounts, the rest of the application
stays with the service), the reference population of the comparisons and the similar clients
as aggregates only (:mod:`credit_scoring.api.population`), and the global importance. The API
backend reads nothing from the project's data folders: the dashboard can run on another
machine than the API.

Nothing personal is logged: errors name the client id only.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from credit_scoring import paths
from credit_scoring.dashboard.errors import DashboardError
from credit_scoring.scoring import ScoreResult

if TYPE_CHECKING:
    import httpx

    from credit_scoring.api.population import Neighbours
    from credit_scoring.api.service import ScorecardReading, ScoringService
    from credit_scoring.api.settings import ApiSettings
    from credit_scoring.dashboard.compare import Reference
    from credit_scoring.explain import Explanation

ENV_URL = "CREDIT_SCORING_API_URL"
ENV_KEY = "CREDIT_SCORING_API_KEY"
CLIENT_ID = "SK_ID_CURR"
#: The application fields the what-if tab edits.
CREDIT, ANNUITY, GOODS, INCOME = "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "AMT_INCOME_TOTAL"
#: Longest id prefix searched (SK_ID_CURR is an int64: 19 digits).
MAX_PREFIX = 19


@dataclass(frozen=True)
class ModelInfo:
    """What is served.

    Attributes
    ----------
    model_version
        Registry name and version.
    threshold
        Probability threshold (score 50).
    review_band
        Score band where the advisor decides.
    data_origin
        ``twin`` or ``real`` (None when unknown).
    """

    model_version: str
    threshold: float
    review_band: tuple[float, float]
    data_origin: str | None


@dataclass(frozen=True)
class ClientScore:
    """A client's score and, when the backend logged the answer, its decision-log id."""

    result: ScoreResult
    decision_id: int | None = None


@dataclass(frozen=True)
class RecordedDecision:
    """An advisor decision as the decision log holds it."""

    decision_id: int
    client_id: int
    decision: str
    model_decision: str | None
    override: bool


class ScoringBackend(Protocol):
    """What the dashboard asks of a scoring backend."""

    kind: str

    def model_info(self) -> ModelInfo:
        """The served model."""
        ...

    def score(self, client_id: int) -> ClientScore:
        """A known client's score."""
        ...

    def explanation(self, client_id: int, top: int = 5) -> Explanation:
        """Why the score: SHAP values and French reasons."""
        ...

    def score_application(self, client_id: int, application: Mapping[str, Any]) -> ScoreResult:
        """The score of a whole application of a known client (history joined)."""
        ...

    def score_what_if(self, client_id: int, changes: Mapping[str, float]) -> ScoreResult:
        """The score of the client's stored application with some amounts changed."""
        ...

    def client_count(self) -> int:
        """Clients of the production batch."""
        ...

    def search(self, text: str, limit: int = 50) -> list[int]:
        """Ids whose decimal form starts with the digits of ``text`` (the first when empty)."""
        ...

    def application(self, client_id: int) -> dict[str, Any]:
        """The fields of the client's application an advisor needs (None when missing)."""
        ...

    def reference(self) -> Reference:
        """The reference population of the comparisons (aggregates of the key features)."""
        ...

    def neighbours(self, client_id: int) -> Neighbours:
        """The client against its most similar reference clients (aggregates)."""
        ...

    def importance(self) -> pd.Series:
        """The model's global importance (share per feature, largest first)."""
        ...

    def counterfactual(self, client_id: int) -> dict[str, Any]:
        """What would get the stored application granted (``Counterfactual.to_dict()``)."""
        ...

    def scorecard(self, client_id: int) -> ScorecardReading | None:
        """The scorecard challenger's points for the client (a second reading that decides
        nothing); None when the pipeline wrote no scorecard."""
        ...

    def record_decision(
        self,
        client_id: int,
        decision: str,
        reason: str,
        advisor_id: str | None = None,
        decision_id: int | None = None,
    ) -> RecordedDecision:
        """Record an advisor decision with its reason in the decision log."""
        ...


def application_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """An application row as JSON fields: missing values and the client id left out.

    >>> application_fields({"SK_ID_CURR": 7, "AMT_CREDIT": np.float64(1e5), "X": float("nan")})
    {'AMT_CREDIT': 100000.0}
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == CLIENT_ID or value is None:
            continue
        if isinstance(value, float | np.floating) and not np.isfinite(value):
            continue
        if value is pd.NA or value is pd.NaT:
            continue
        out[str(key)] = value.item() if hasattr(value, "item") else value
    return out


def search_prefix(text: str) -> str | None:
    """The digits of a search (blanks dropped), None when it cannot match an id.

    >>> search_prefix(" 100 02 "), search_prefix(""), search_prefix("x1"), search_prefix("9" * 20)
    ('10002', '', None, None)
    """
    digits = "".join(ch for ch in text if not ch.isspace())
    if digits and not (digits.isascii() and digits.isdigit()):
        return None
    return digits if len(digits) <= MAX_PREFIX else None


def validate_reason(reason: str, decision: str) -> str:
    """The advisor's reason, checked by the API's own request model (required, 1 to 1,000
    characters, no e-mail address or long number).

    Raises
    ------
    DashboardError
        With the rule broken, in French.

    Examples
    --------
    >>> validate_reason("  Apport confirmé ", "grant")
    'Apport confirmé'
    >>> validate_reason("  ", "grant")
    Traceback (most recent call last):
    ...
    credit_scoring.dashboard.errors.DashboardError: Le motif est obligatoire.
    """
    from pydantic import ValidationError

    from credit_scoring.api.schemas import AdvisorDecisionRequest

    if not reason.strip():
        raise DashboardError("Le motif est obligatoire.")
    try:
        checked = AdvisorDecisionRequest(decision=decision, reason=reason)  # type: ignore[arg-type]
    except ValidationError as error:
        raise DashboardError(_reason_error(error)) from None
    return str(checked.reason)


def _reason_error(error: Any) -> str:
    text = str(error)
    if "personal data" in text:
        return (
            "Le motif ne doit contenir aucune donnée personnelle (ni adresse électronique, "
            "ni numéro de téléphone, de compte ou d'identité)."
        )
    if "at most" in text or "too_long" in text:
        return "Le motif est trop long (1 000 caractères au plus)."
    return "Motif invalide : écrivez la raison métier de la décision."


def _score_result(data: Mapping[str, Any]) -> ScoreResult:
    return ScoreResult(
        client_id=data.get("client_id"),
        probability_default=float(data["probability_default"]),
        risk_score=float(data["risk_score"]),
        decision=data["decision"],
        threshold=float(data["threshold"]),
        review_band=(float(data["review_band"][0]), float(data["review_band"][1])),
        model_version=str(data["model_version"]),
        reasons=list(data.get("reasons") or []),
    )


def _detail(response: httpx.Response) -> str:
    """The ``detail`` of an API error, empty when the body is not the API's."""
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        return ""
    return detail if isinstance(detail, str) else ""


def _read_params_bounds(params_file: Path) -> dict[str, Any] | None:
    import yaml

    try:
        params = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
    except (OSError, ValueError):
        return None
    bounds = (params.get("explain") or {}).get("counterfactual")
    return dict(bounds) if isinstance(bounds, dict) else None


def read_data_origin(metrics_dir: Path = paths.METRICS_DIR) -> dict[str, Any]:
    """``data/metrics/data.json`` (which data the pipeline ran on), or ``{}`` when absent."""
    try:
        data = json.loads((Path(metrics_dir) / "data.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- API backend


class ApiBackend:
    """The scoring API over HTTP.

    Parameters
    ----------
    url
        Base URL, e.g. ``http://127.0.0.1:8000``.
    api_key
        Sent in ``X-API-Key``.
    client
        An ``httpx.Client`` to use instead (tests pass FastAPI's ``TestClient``).
    timeout
        Seconds per request.
    """

    kind = "api"

    def __init__(
        self,
        url: str = "",
        api_key: str | None = None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        headers = {"X-API-Key": api_key} if api_key else {}
        if client is None:
            client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        else:
            client.headers.update(headers)
        self.http = client
        self._info: ModelInfo | None = None
        self._reference: Reference | None = None

    def _call(self, method: str, path: str, *, absent: str | None = None, **kwargs: Any) -> Any:
        """The answer's JSON; with ``absent``, None for a 404 whose message names it (what
        the API lacks, rather than an unknown client)."""
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise DashboardError(
                f"L'API de score ne répond pas ({type(error).__name__}) : réessayez dans un "
                "instant ou prévenez le support."
            ) from None
        if response.status_code == 404:
            if absent is not None and absent in _detail(response):
                return None
            raise DashboardError("Client inconnu du lot de production.")
        if response.status_code == 401:
            raise DashboardError("Clé d'API refusée : vérifiez CREDIT_SCORING_API_KEY.")
        if response.status_code == 422:
            detail = response.json().get("detail", [])
            fields = ", ".join(str(d.get("field", "")) for d in detail if isinstance(d, dict))
            raise DashboardError(f"Données refusées par l'API ({fields or 'requête'}).")
        if response.status_code >= 400:
            raise DashboardError(f"L'API de score est indisponible (code {response.status_code}).")
        return response.json()

    def model_info(self) -> ModelInfo:
        if self._info is None:
            card = self._call("GET", "/v1/model")
            band = card["review_band"]
            self._info = ModelInfo(
                model_version=str(card["model_version"]),
                threshold=float(card["threshold"]),
                review_band=(float(band[0]), float(band[1])),
                data_origin=card.get("data_origin"),
            )
        return self._info

    def score(self, client_id: int) -> ClientScore:
        data = self._call("GET", f"/v1/clients/{int(client_id)}/score")
        return ClientScore(_score_result(data), data.get("decision_id"))

    def explanation(self, client_id: int, top: int = 5) -> Explanation:
        from credit_scoring.explain import Explanation, Reason

        data = self._call("GET", f"/v1/clients/{int(client_id)}/explanation", params={"top": top})
        return Explanation(
            client_id=int(client_id),
            base_value=float(data["base_value"]),
            contributions={k: float(v) for k, v in data["shap_values"].items()},
            reasons=[Reason.from_dict(r) for r in data["reasons"]],
            value_texts=dict(data.get("value_texts") or {}),
        )

    def score_application(self, client_id: int, application: Mapping[str, Any]) -> ScoreResult:
        body = {"client_id": int(client_id), "application": application_fields(application)}
        return _score_result(self._call("POST", "/v1/applications/score", json=body))

    def counterfactual(self, client_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/clients/{int(client_id)}/counterfactual"))

    def scorecard(self, client_id: int) -> ScorecardReading | None:
        from credit_scoring.api.service import ScorecardReading
        from credit_scoring.api.settings import SCORECARD_FILE

        data = self._call("GET", f"/v1/clients/{int(client_id)}/scorecard", absent=SCORECARD_FILE)
        return None if data is None else ScorecardReading.from_dict(data)

    def score_what_if(self, client_id: int, changes: Mapping[str, float]) -> ScoreResult:
        body = {str(k): float(v) for k, v in changes.items()}
        return _score_result(self._call("POST", f"/v1/clients/{int(client_id)}/what-if", json=body))

    def client_count(self) -> int:
        return int(self._call("GET", "/v1/clients", params={"limit": 1})["total"])

    def search(self, text: str, limit: int = 50) -> list[int]:
        prefix = search_prefix(text)
        if prefix is None:
            return []
        params = {"prefix": prefix, "limit": max(1, min(int(limit), 1000))}
        return [int(i) for i in self._call("GET", "/v1/clients", params=params)["client_ids"]]

    def application(self, client_id: int) -> dict[str, Any]:
        data = dict(self._call("GET", f"/v1/clients/{int(client_id)}/application"))
        data.pop("client_id", None)
        return data

    def reference(self) -> Reference:
        from credit_scoring.api.population import FeatureDistribution
        from credit_scoring.dashboard.compare import Reference

        if self._reference is None:
            overview = self._call("GET", "/v1/population")
            keys = [str(f["name"]) for f in overview["key_features"]]
            distributions = {
                f: FeatureDistribution.from_dict(self._call("GET", f"/v1/population/{f}"))
                for f in keys
            }
            self._reference = Reference(keys, int(overview["neighbours"]), distributions)
        return self._reference

    def neighbours(self, client_id: int) -> Neighbours:
        from credit_scoring.api.population import Neighbours

        data = self._call("GET", f"/v1/clients/{int(client_id)}/neighbours")
        return Neighbours.from_dict(data)

    def importance(self) -> pd.Series:
        items = self._call("GET", "/v1/model/importance")["features"]
        return pd.Series(
            {str(i["name"]): float(i["share"]) for i in items}, dtype=float, name="share"
        )

    def record_decision(
        self,
        client_id: int,
        decision: str,
        reason: str,
        advisor_id: str | None = None,
        decision_id: int | None = None,
    ) -> RecordedDecision:
        body: dict[str, Any] = {"decision": decision, "reason": validate_reason(reason, decision)}
        if advisor_id:
            body["advisor_id"] = advisor_id
        if decision_id is not None:
            body["decision_id"] = int(decision_id)
        data = self._call("POST", f"/v1/clients/{int(client_id)}/decision", json=body)
        return RecordedDecision(
            decision_id=int(data["decision_id"]),
            client_id=int(data["client_id"]),
            decision=str(data["decision"]),
            model_decision=data.get("model_decision"),
            override=bool(data.get("override")),
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()


# --------------------------------------------------------------------------- in process


class LocalBackend:
    """The scoring service of the API, in this process (no HTTP).

    Parameters
    ----------
    service
        A :class:`~credit_scoring.api.service.ScoringService`; default: one over
        ``settings`` with the champion from the registry.
    settings
        Paths and decision log; default :meth:`ApiSettings.from_env` (authentication off:
        nothing goes over a network).
    """

    kind = "local"

    def __init__(
        self, service: ScoringService | None = None, settings: ApiSettings | None = None
    ) -> None:
        from credit_scoring.api.service import ScoringService
        from credit_scoring.api.settings import ApiSettings

        if service is None:
            settings = settings or ApiSettings.from_env(auth=False)
            service = ScoringService(settings)
        self.service = service
        self.settings = service.settings
        self._log: Any = None
        self._lock = threading.Lock()

    def _guard(self, call: Any) -> Any:
        from credit_scoring.api.service import ServiceUnavailableError, UnknownClientError

        try:
            return call()
        except UnknownClientError:
            raise DashboardError("Client inconnu du lot de production.") from None
        except ServiceUnavailableError as error:
            raise DashboardError(f"Le modèle n'est pas disponible : {error}") from None

    def model_info(self) -> ModelInfo:
        scorer = self._guard(lambda: self.service.scorer)
        origin = read_data_origin(Path(self.settings.metrics_dir)).get("origin")
        return ModelInfo(scorer.model_version, scorer.threshold, scorer.review_band, origin)

    def score(self, client_id: int) -> ClientScore:
        [scored] = self._guard(lambda: self.service.score_clients([int(client_id)]))
        return ClientScore(scored.result)

    def explanation(self, client_id: int, top: int = 5) -> Explanation:
        [(found, _)] = self._guard(lambda: self.service.explain_clients([int(client_id)], top=top))
        return found

    def score_application(self, client_id: int, application: Mapping[str, Any]) -> ScoreResult:
        fields = application_fields(application)
        [scored] = self._guard(lambda: self.service.score_applications([fields], [int(client_id)]))
        return scored.result

    def counterfactual(self, client_id: int) -> dict[str, Any]:
        bounds = _read_params_bounds(Path(self.settings.params_file))
        try:
            found = self._guard(lambda: self.service.counterfactual(int(client_id), bounds))
        except (ValueError, KeyError) as error:
            raise DashboardError(f"Pas de suggestion pour ce dossier : {error}") from None
        out = found.to_dict()
        out["model_version"] = self.service.scorer.model_version
        return dict(out)

    def scorecard(self, client_id: int) -> ScorecardReading | None:
        from credit_scoring.api.service import ScorecardUnavailableError

        try:
            return self._guard(lambda: self.service.scorecard_reading(int(client_id)))
        except ScorecardUnavailableError:
            return None

    def score_what_if(self, client_id: int, changes: Mapping[str, float]) -> ScoreResult:
        from pydantic import ValidationError

        from credit_scoring.api.schemas import what_if_model

        try:  # the API's own request model: the same checks as over HTTP
            checked = what_if_model().model_validate({str(k): float(v) for k, v in changes.items()})
        except ValidationError as error:
            fields = ", ".join(str(e["loc"][0]) for e in error.errors() if e.get("loc"))
            raise DashboardError(f"Données refusées ({fields or 'modification'}).") from None
        edits = checked.model_dump(exclude_unset=True)
        scored = self._guard(lambda: self.service.what_if(int(client_id), edits))
        return scored.result

    def client_count(self) -> int:
        total, _ = self._guard(lambda: self.service.client_ids("", 0, 1))
        return int(total)

    def search(self, text: str, limit: int = 50) -> list[int]:
        prefix = search_prefix(text)
        if prefix is None:
            return []
        _, ids = self._guard(lambda: self.service.client_ids(prefix, 0, int(limit)))
        return list(ids)

    def application(self, client_id: int) -> dict[str, Any]:
        return dict(self._guard(lambda: self.service.application(int(client_id))))

    def reference(self) -> Reference:
        from credit_scoring.dashboard.compare import Reference

        population = self._guard(lambda: self.service.population)
        keys = list(population.key_features)
        return Reference(keys, population.k, {f: population.distribution(f) for f in keys})

    def neighbours(self, client_id: int) -> Neighbours:
        return self._guard(lambda: self.service.neighbours(int(client_id)))

    def importance(self) -> pd.Series:
        return self.service.importance

    def _decision_log(self) -> Any:
        from credit_scoring.decision_log import DecisionLog

        with self._lock:
            if self._log is None:
                self._log = DecisionLog(self.settings.decision_log)
        return self._log

    def record_decision(
        self,
        client_id: int,
        decision: str,
        reason: str,
        advisor_id: str | None = None,
        decision_id: int | None = None,
    ) -> RecordedDecision:
        """The model answer is logged first (source ``dashboard``), then the advisor's
        decision linked to it, as the API does for a client without a prior answer."""
        from credit_scoring.decision_log import AdvisorDecision, ModelDecision

        text = validate_reason(reason, decision)
        [scored] = self._guard(lambda: self.service.score_clients([int(client_id)]))
        result = scored.result
        log = self._decision_log()
        [model_id] = log.record_model(
            [
                ModelDecision(
                    client_id=int(client_id),
                    inputs_sha256=scored.inputs_sha256,
                    model_version=result.model_version,
                    probability_default=result.probability_default,
                    risk_score=result.risk_score,
                    decision=result.decision,
                    threshold=result.threshold,
                    source="dashboard",
                    review_band=result.review_band,
                )
            ]
        )
        entry = log.record_advisor(
            AdvisorDecision(
                client_id=int(client_id),
                decision=decision,
                reason=text,
                advisor_id=advisor_id or None,
                model_entry_id=model_id,
                caller="dashboard",
            )
        )
        return RecordedDecision(
            decision_id=int(entry.id),
            client_id=int(client_id),
            decision=str(entry.decision),
            model_decision=entry.model_decision,
            override=bool(entry.override),
        )

    def close(self) -> None:
        """Stop the service's background work and close the decision log."""
        self.service.close()
        if self._log is not None:
            self._log.close()
            self._log = None


def open_backend(environ: Mapping[str, str] | None = None) -> ScoringBackend:
    """The API when ``CREDIT_SCORING_API_URL`` is set, else the in-process service.

    >>> open_backend({"CREDIT_SCORING_API_URL": "http://127.0.0.1:9"}).kind
    'api'
    """
    env = os.environ if environ is None else environ
    url = env.get(ENV_URL, "").strip()
    if url:
        return ApiBackend(url, env.get(ENV_KEY, "").strip() or None)
    return LocalBackend()
