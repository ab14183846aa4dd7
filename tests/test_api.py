"""The scoring API on a small but real world: a data twin, its features, a small LightGBM.

Every endpoint, authentication on / off / misconfigured, 404, 422 for every kind of bad input
(wrong types, missing fields, ranges, unknown categories, JSON NaN / Infinity, unknown fields,
over-long batches and bodies), the decision log, and one live uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import posted_history

with warnings.catch_warnings():
    # Starlette's TestClient warns that it will move from httpx to httpx2, not our concern
    # (a StarletteDeprecationWarning: a UserWarning, which pyproject's filter misses).
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from fastapi.testclient import TestClient

from credit_scoring.api import ApiSettings, create_app
from credit_scoring.api.schemas import (
    EXAMPLE_APPLICATION,
    EXTRA_LEVELS,
    application_model,
    field_specs,
)
from credit_scoring.data.schema import CLIENT_ID, TABLES
from credit_scoring.decision_log import DecisionLog, inputs_sha256
from credit_scoring.scoring import Scorer

pytestmark = [
    # FastAPI 0.165 builds its path parameters in a way pydantic 2.14 warns about.
    pytest.mark.filterwarnings("ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"),
]

KEY = "test-key-0123456789"
HEADERS = {"X-API-Key": KEY}
#: Clients of the twin: application_test gets 48,744 / 307,511 of them (about 63).
TWIN_CLIENTS = 400


# --------------------------------------------------------------------------- the world


_ROOT: Path | None = None


def world_root() -> Path:
    """The folder of this process's world (the schemathesis module needs it at import)."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="credit_scoring_api_"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return _ROOT


def world_settings(tmp: Path, **overrides: Any) -> ApiSettings:
    """Settings of an app over the world, its decision log in ``tmp``."""
    root = world_root()
    values: dict[str, Any] = {
        "auth": True,
        "api_keys": (KEY,),
        "interim_dir": root / "interim",
        "features_dir": root / "features",
        "metrics_dir": root / "metrics",
        "models_dir": root / "models",
        "mlflow_dir": tmp / "mlflow",
        "explanations_file": root / "explanations.parquet",
        "decision_log": tmp / "decisions.sqlite",
        "params_file": tmp / "params.yaml",
    }
    values.update(overrides)
    return ApiSettings(**values)


@dataclass
class World:
    """A twin's tables, features, a small model, and what the tests compare with."""

    root: Path
    interim: Path
    features_dir: Path
    scorer: Scorer
    production: pd.DataFrame  # the production feature table, indexed by SK_ID_CURR
    applications: pd.DataFrame  # the raw application_test rows
    explanations: Path
    expected: dict[int, Any]  # the scorer's answer for each production client
    scorecard_file: Path  # the scorecard challenger, as the train stage writes it

    def settings(self, tmp: Path, **overrides: Any) -> ApiSettings:
        return world_settings(tmp, **overrides)

    def light_settings(self, tmp: Path, **overrides: Any) -> ApiSettings:
        """Settings of a second app in a test: no background warm-up work."""
        return self.settings(
            tmp, **{"precompute_scores": False, "history_cache": False, **overrides}
        )

    def client_with(self, decision: str) -> int:
        return next(i for i, r in self.expected.items() if r.decision == decision)


_WORLD: World | None = None
_BUILDING = threading.Lock()


def build_world() -> World:
    """Twin -> ingestion -> feature tables -> a calibrated LightGBM, once per process (the
    schemathesis module shares it)."""
    global _WORLD
    with _BUILDING:
        if _WORLD is None:
            _WORLD = _build(world_root())
    return _WORLD


def _build(root: Path) -> World:
    from sklearn.calibration import CalibratedClassifierCV

    from credit_scoring.data.ingest import find_kaggle_source, ingest
    from credit_scoring.data.twin import TwinConfig, generate_twin
    from credit_scoring.explain import Explainer, precompute_explanations
    from credit_scoring.features import build_feature_tables, read_feature_table
    from credit_scoring.modelling.train import load_training_table
    from credit_scoring.modelling.zoo import build_pipeline

    raw, interim, features_dir = root / "raw", root / "interim", root / "features"
    generate_twin(TwinConfig(clients=TWIN_CLIENTS, seed=3), raw, progress=False)
    ingest(find_kaggle_source(raw), interim)
    build_feature_tables(interim, features_dir)
    X, y, _ = load_training_table(features_dir)
    pipeline = build_pipeline(
        "lightgbm", "none", y, {"n_estimators": 25, "num_leaves": 7, "min_child_samples": 10}
    )
    model = CalibratedClassifierCV(pipeline, cv=2, method="sigmoid").fit(X, y)
    production = read_feature_table(features_dir / "production.parquet")
    proba = model.predict_proba(production[list(X.columns)])[:, 1]
    # A threshold at the median production probability spreads the three decisions.
    scorer = Scorer(
        model,
        threshold=float(np.median(proba)),
        features=list(X.columns),
        model_version="credit-scoring/test",
    )
    explanations = root / "explanations.parquet"
    precompute_explanations(Explainer.from_scorer(scorer), production, explanations)
    metrics_dir = root / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "data.json").write_text(json.dumps({"origin": "twin"}))
    (root / "models").mkdir()
    (root / "models" / "summary.json").write_text(
        json.dumps({"test_auc": 0.71, "threshold": scorer.threshold})
    )
    scorecard_file = _write_scorecard(model, X, y, production, root / "models")
    return World(
        root=root,
        interim=interim,
        features_dir=features_dir,
        scorer=scorer,
        production=production,
        applications=pd.read_parquet(interim / "application_test.parquet"),
        explanations=explanations,
        expected={r.client_id: r for r in scorer.score_features(production)},
        scorecard_file=scorecard_file,
    )


def _write_scorecard(
    model: Any, X: pd.DataFrame, y: Any, production: pd.DataFrame, models_dir: Path
) -> Path:
    """``scorecard.json`` as the train stage writes it, from a small, fast fit: the champion's
    15 features of largest gain and one category, 8 features at most (under a second)."""
    from credit_scoring.modelling.scorecard import fit_scorecard
    from credit_scoring.modelling.train import SCORECARD_FILE, scorecard_candidates

    gain = scorecard_candidates(model, list(X.columns), 15)
    candidates = list(dict.fromkeys([*gain, "NAME_INCOME_TYPE"]))
    card = fit_scorecard(X, y, candidates=candidates, max_features=8)
    # As for the champion, a threshold at the median production probability spreads the
    # scorecard's scores on both sides of 50.
    threshold = float(np.median(card.predict_proba(production)[:, 1]))
    path = models_dir / SCORECARD_FILE
    saved = {"threshold": threshold, "points_to_double_odds": 10.0, "scorecard": card.to_dict()}
    path.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def world() -> World:
    return build_world()


def application_body(row: pd.Series, with_client: bool = True) -> dict[str, Any]:
    """A raw application row as an integrator posts it: missing values left out."""
    fields = {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in row.items()
        if k != CLIENT_ID and not pd.isna(v)
    }
    body: dict[str, Any] = {"application": fields}
    if with_client:
        body["client_id"] = int(row[CLIENT_ID])
    return body


@contextlib.contextmanager
def client_for(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        assert app.state.service.wait_warm(120)
        yield client


@pytest.fixture(scope="module")
def tmp_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def app(world: World, tmp_module: Path) -> Any:
    return create_app(scorer=world.scorer, settings=world.settings(tmp_module))


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with client_for(app) as c:
        yield c


@pytest.fixture(scope="module")
def known(world: World) -> list[int]:
    return [int(i) for i in world.production.index]


def expected_result(world: World, client_id: int) -> Any:
    return world.expected[client_id]


# --------------------------------------------------------------------------- open endpoints


def test_health_is_open_and_names_the_model(client: TestClient, world: World) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["model_version"] == "credit-scoring/test"
    assert body["production_clients"] == len(world.production)
    assert body["scores_precomputed"] is True
    assert body["precomputed_explanations"] is True
    assert r.headers["x-request-id"]


def test_openapi_is_open_and_documents_every_endpoint(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    operations = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert operations >= {
        ("GET", "/health"),
        ("GET", "/v1/model"),
        ("GET", "/v1/clients/{client_id}/score"),
        ("POST", "/v1/clients/score"),
        ("POST", "/v1/applications/score"),
        ("POST", "/v1/applications/score-batch"),
        ("GET", "/v1/clients/{client_id}/explanation"),
        ("GET", "/v1/clients/{client_id}/counterfactual"),
        ("POST", "/v1/clients/{client_id}/decision"),
        ("GET", "/v1/clients"),
        ("GET", "/v1/clients/{client_id}/application"),
        ("POST", "/v1/clients/{client_id}/what-if"),
        ("GET", "/v1/clients/{client_id}/neighbours"),
        ("GET", "/v1/population"),
        ("GET", "/v1/population/{feature}"),
        ("GET", "/v1/model/importance"),
        ("GET", "/v1/clients/{client_id}/scorecard"),
    }
    for path, ops in schema["paths"].items():
        for op in ops.values():
            assert op.get("summary") and op.get("tags"), path
            if path.startswith("/v1"):
                assert op["security"] == [{"APIKeyHeader": []}]
                assert {"401", "422", "503"} <= set(op["responses"])
    assert "security" not in schema["paths"]["/health"]["get"]
    app_schema = schema["components"]["schemas"]["Application"]
    assert len(app_schema["properties"]) == len(TABLES["application_test"].columns) - 1
    assert app_schema["additionalProperties"] is False
    assert app_schema["examples"] == [EXAMPLE_APPLICATION]


def test_docs_page_works_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    text = page.text
    for remote in ('src="http', "src='http", 'href="http', "href='http", "url(http"):
        assert remote not in text
    # Whatever the page loads comes from this server.
    for asset in {a for a in _local_assets(text)}:
        assert client.get(asset).status_code == 200, asset


def _local_assets(text: str) -> list[str]:
    import re

    return [m for m in re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", text) if "." in m]


# --------------------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "headers, status",
    [({}, 401), ({"X-API-Key": "wrong"}, 401), ({"X-API-Key": ""}, 401), (HEADERS, 200)],
)
def test_every_v1_endpoint_needs_a_valid_key(
    client: TestClient, known: list[int], headers: dict[str, str], status: int
) -> None:
    r = client.get(f"/v1/clients/{known[0]}/score", headers=headers)
    assert r.status_code == status
    if status == 401:
        assert "key" in r.json()["detail"].lower()
        assert client.get("/v1/model", headers=headers).status_code == 401
        assert (
            client.post(
                "/v1/clients/score", json={"client_ids": [known[0]]}, headers=headers
            ).status_code
            == 401
        )


def test_auth_off_lets_anyone_in(world: World, tmp_path: Path, known: list[int]) -> None:
    app = create_app(
        scorer=world.scorer, settings=world.light_settings(tmp_path, auth=False, api_keys=())
    )
    with TestClient(app) as c:
        assert c.get(f"/v1/clients/{known[0]}/score").status_code == 200


def test_auth_on_without_keys_refuses_with_a_clear_message(world: World, tmp_path: Path) -> None:
    app = create_app(scorer=world.scorer, settings=world.light_settings(tmp_path, api_keys=()))
    with TestClient(app) as c:
        r = c.get("/v1/model", headers=HEADERS)
        assert r.status_code == 503
        assert "CREDIT_SCORING_API_KEYS" in r.json()["detail"]
        assert c.get("/health").status_code == 200


def test_settings_read_keys_and_auth_from_the_environment() -> None:
    s = ApiSettings.from_env({"CREDIT_SCORING_API_KEYS": "a,b,,a", "CREDIT_SCORING_API_AUTH": "ON"})
    assert s.auth and s.api_keys == ("a", "b")
    assert ApiSettings.from_env({}).auth  # on by default
    with pytest.raises(ValueError, match="CREDIT_SCORING_API_AUTH"):
        ApiSettings.from_env({"CREDIT_SCORING_API_AUTH": "maybe"})


# --------------------------------------------------------------------------- known clients


def test_score_of_a_known_client_is_the_scorers(
    client: TestClient, world: World, known: list[int]
) -> None:
    for client_id in known[:5]:
        r = client.get(f"/v1/clients/{client_id}/score", headers=HEADERS)
        assert r.status_code == 200
        body = r.json()
        expected = expected_result(world, client_id)
        assert body["client_id"] == client_id
        assert body["probability_default"] == pytest.approx(expected.probability_default, abs=1e-12)
        assert body["risk_score"] == pytest.approx(expected.risk_score)
        assert body["decision"] == expected.decision
        assert body["decision_label"] in {"Accordé", "À étudier par le conseiller", "Refusé"}
        assert body["review_band"] == [45.0, 55.0]
        assert body["model_version"] == "credit-scoring/test"
        assert body["reasons"] == []
        assert body["decision_id"] > 0


def test_the_three_decisions_occur(client: TestClient, known: list[int]) -> None:
    r = client.post("/v1/clients/score", json={"client_ids": known}, headers=HEADERS)
    assert r.status_code == 200
    assert {x["decision"] for x in r.json()["results"]} == {"grant", "review", "refuse"}


def test_on_demand_scores_equal_the_precomputed_ones(
    world: World, tmp_path: Path, client: TestClient, known: list[int]
) -> None:
    app = create_app(
        scorer=world.scorer, settings=world.light_settings(tmp_path, precompute_scores=False)
    )
    with client_for(app) as slow:
        assert not app.state.service.scores_precomputed
        for client_id in known[:3]:
            a = slow.get(f"/v1/clients/{client_id}/score", headers=HEADERS).json()
            b = client.get(f"/v1/clients/{client_id}/score", headers=HEADERS).json()
            assert a["probability_default"] == pytest.approx(b["probability_default"], abs=1e-12)
            # The input hash computed row by row is the one the background pass computed.
            logged_a = DecisionLog(tmp_path / "decisions.sqlite").get(a["decision_id"])
            logged_b = DecisionLog(client.app.state.settings.decision_log).get(b["decision_id"])  # type: ignore[attr-defined]
            assert logged_a is not None and logged_b is not None
            assert logged_a.inputs_sha256 == logged_b.inputs_sha256


def test_batch_of_clients_answers_in_order(client: TestClient, known: list[int]) -> None:
    ids = [known[3], known[0], known[3]]
    r = client.post(
        "/v1/clients/score?explain=true&top=2", json={"client_ids": ids}, headers=HEADERS
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["client_id"] for x in results] == ids
    assert all(len(x["reasons"]) == 2 for x in results)
    assert len({x["decision_id"] for x in results}) == 3


def test_unknown_clients_are_404(client: TestClient, known: list[int]) -> None:
    r = client.get("/v1/clients/123/score", headers=HEADERS)
    assert r.status_code == 404
    assert "123" in r.json()["detail"]
    r = client.post("/v1/clients/score", json={"client_ids": [known[0], 123, 456]}, headers=HEADERS)
    assert r.status_code == 404
    assert "123" in r.json()["detail"] and "456" in r.json()["detail"]
    for path in ("explanation", "counterfactual"):
        assert client.get(f"/v1/clients/123/{path}", headers=HEADERS).status_code == 404


def test_explain_adds_french_reasons(client: TestClient, known: list[int]) -> None:
    r = client.get(f"/v1/clients/{known[1]}/score?explain=true&top=3", headers=HEADERS)
    reasons = r.json()["reasons"]
    assert len(reasons) == 3
    for reason in reasons:
        assert reason["direction"] in ("augmente", "diminue")
        assert reason["sentence"].endswith("le risque.")
        assert (reason["contribution"] > 0) == (reason["direction"] == "augmente")
    contributions = [abs(x["contribution"]) for x in reasons]
    assert contributions == sorted(contributions, reverse=True)


# --------------------------------------------------------------------------- explanations


def test_explanation_is_looked_up_when_precomputed(
    client: TestClient, world: World, known: list[int]
) -> None:
    r = client.get(f"/v1/clients/{known[2]}/explanation?top=4", headers=HEADERS)
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "precomputed"
    assert len(body["reasons"]) == 4
    assert set(body["shap_values"]) == set(world.scorer.features)
    assert body["log_odds"] == pytest.approx(
        body["base_value"] + sum(body["shap_values"].values()), abs=1e-6
    )
    assert body["decision"] == expected_result(world, known[2]).decision


def test_explanation_is_computed_without_a_precomputed_batch(
    world: World, tmp_path: Path, client: TestClient, known: list[int]
) -> None:
    app = create_app(
        scorer=world.scorer, settings=world.light_settings(tmp_path, explanations_file=None)
    )
    with client_for(app) as c:
        computed = c.get(f"/v1/clients/{known[2]}/explanation", headers=HEADERS).json()
    looked_up = client.get(f"/v1/clients/{known[2]}/explanation", headers=HEADERS).json()
    assert computed["source"] == "computed"
    assert [r["feature"] for r in computed["reasons"]] == [
        r["feature"] for r in looked_up["reasons"]
    ]
    assert computed["log_odds"] == pytest.approx(looked_up["log_odds"], abs=1e-3)


def test_explanations_of_another_model_are_not_used(
    world: World, tmp_path: Path, known: list[int]
) -> None:
    # The stored base values shifted: the file no longer adds up to the served model's log-odds,
    # as when the explain stage ran on a previous champion.
    stale = pd.read_parquet(world.explanations)
    stale["base_value"] += 0.5
    stale.to_parquet(tmp_path / "stale.parquet", index=False)
    settings = world.light_settings(tmp_path, explanations_file=tmp_path / "stale.parquet")
    app = create_app(scorer=world.scorer, settings=settings)
    with client_for(app) as c:
        body = c.get(f"/v1/clients/{known[0]}/explanation", headers=HEADERS).json()
        assert body["source"] == "computed"
        assert c.get("/health").json()["precomputed_explanations"] is False


def test_counterfactual_of_a_known_client(
    client: TestClient, world: World, known: list[int]
) -> None:
    refused = world.client_with("refuse")
    r = client.get(f"/v1/clients/{refused}/counterfactual", headers=HEADERS)
    assert r.status_code == 200
    body = r.json()
    assert body["client_id"] == refused
    assert body["decision"] == "refuse"
    assert body["message"]
    assert body["model_version"] == "credit-scoring/test"
    if body["feasible"]:
        assert body["new_decision"] == "grant" and body["changes"]


# --------------------------------------------------------------------------- posted applications


def test_posted_application_of_a_known_client_scores_like_the_batch(
    client: TestClient, world: World, known: list[int]
) -> None:
    rows = world.applications.set_index(CLIENT_ID, drop=False)
    for client_id in known[:3]:
        body = application_body(rows.loc[client_id])
        r = client.post("/v1/applications/score", json=body, headers=HEADERS)
        assert r.status_code == 200, r.text
        got = r.json()
        expected = expected_result(world, client_id)
        assert got["client_id"] == client_id
        assert got["probability_default"] == pytest.approx(expected.probability_default, abs=1e-12)


def test_posted_features_are_those_of_features_for_clients(app: Any, world: World) -> None:
    from credit_scoring.features import features_for_clients

    service = app.state.service
    rows = world.applications
    train = pd.read_parquet(world.interim / "application_train.parquet")
    cases = [
        (rows.iloc[[0]], int(rows[CLIENT_ID].iloc[0])),  # production client: cached history
        (rows.iloc[[1]], None),  # new client: the empty history
        (train.drop(columns="TARGET").iloc[[0]], int(train[CLIENT_ID].iloc[0])),  # via SQL
        (rows.iloc[[2]], 999_999_999),  # an id without any history row
    ]
    for raw, client_id in cases:
        body = application_body(raw.iloc[0], with_client=False)["application"]
        got = service.application_features([body], [client_id])
        sent = raw.assign(**{CLIENT_ID: 0 if client_id is None else client_id})
        expected = features_for_clients(
            [int(sent[CLIENT_ID].iloc[0])], world.interim, applications=sent
        )
        pd.testing.assert_frame_equal(
            got[world.scorer.features].reset_index(drop=True),
            expected[world.scorer.features].reset_index(drop=True),
        )


def _client_with_bureau(world: World) -> int:
    bureau = pd.read_parquet(world.interim / "bureau.parquet", columns=[CLIENT_ID])
    return next(i for i in world.expected if i in set(bureau[CLIENT_ID]))


def test_posted_history_gives_the_answer_of_the_stored_one(
    client: TestClient, world: World
) -> None:
    client_id = _client_with_bureau(world)
    row = world.applications.set_index(CLIENT_ID).loc[client_id]
    body = application_body(row.rename(None), with_client=False)
    stored = client.post(
        "/v1/applications/score", json={**body, "client_id": client_id}, headers=HEADERS
    )
    posted = client.post(
        "/v1/applications/score",
        json={**body, "client_id": client_id, "history": posted_history(world.interim, client_id)},
        headers=HEADERS,
    )
    assert stored.status_code == posted.status_code == 200, posted.text
    assert posted.json()["probability_default"] == stored.json()["probability_default"]
    assert posted.json()["probability_default"] == pytest.approx(
        world.expected[client_id].probability_default, abs=1e-12
    )


def test_posted_empty_history_replaces_the_stored_one(client: TestClient, world: World) -> None:
    client_id = _client_with_bureau(world)
    row = world.applications.set_index(CLIENT_ID).loc[client_id]
    body = application_body(row.rename(None), with_client=False)
    new = client.post("/v1/applications/score", json=body, headers=HEADERS).json()
    emptied = client.post(
        "/v1/applications/score",
        json={**body, "client_id": client_id, "history": {}},
        headers=HEADERS,
    ).json()
    assert emptied["probability_default"] == new["probability_default"]


@pytest.mark.parametrize(
    ("history", "field"),
    [
        (
            {"bureau": [{"SK_ID_BUREAU": 1, "CREDIT_ACTIVE": "Maybe"}]},
            "history.bureau[0].CREDIT_ACTIVE",
        ),
        (
            {"bureau_balance": [{"SK_ID_BUREAU": 9, "MONTHS_BALANCE": -1, "STATUS": "Z"}]},
            "history.bureau_balance[0].STATUS",
        ),
        ({"loans": []}, "history.loans"),
    ],
)
def test_bad_history_records_are_refused_by_field(
    client: TestClient, history: dict[str, Any], field: str
) -> None:
    body = {**_bad_application(), "history": history}
    r = client.post("/v1/applications/score", json=body, headers=HEADERS)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]


def test_bad_history_of_a_batch_names_the_application(client: TestClient) -> None:
    bad = {"bureau": [{"SK_ID_BUREAU": 0}]}
    bodies = [_bad_application(), {**_bad_application(), "history": bad}]
    r = client.post("/v1/applications/score-batch", json={"applications": bodies}, headers=HEADERS)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["detail"]]
    assert "applications[1].history.bureau[0].SK_ID_BUREAU" in fields


def test_posted_application_without_history_cache_gives_the_same_answer(
    world: World, tmp_path: Path, client: TestClient
) -> None:
    body = application_body(world.applications.iloc[4], with_client=False)
    app = create_app(
        scorer=world.scorer, settings=world.light_settings(tmp_path, history_cache=False)
    )
    with client_for(app) as c:
        direct = c.post("/v1/applications/score", json=body, headers=HEADERS).json()
    cached = client.post("/v1/applications/score", json=body, headers=HEADERS).json()
    # Only the in-memory path is answered on the event loop; the SQL one goes to the pool.
    assert client.app.state.service.serving_warm and not app.state.service.serving_warm
    assert direct["client_id"] is None
    assert direct["probability_default"] == pytest.approx(cached["probability_default"], abs=1e-12)


def test_example_application_scores_with_reasons(client: TestClient) -> None:
    r = client.post(
        "/v1/applications/score?explain=true",
        json={"application": EXAMPLE_APPLICATION},
        headers=HEADERS,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["client_id"] is None
    assert len(body["reasons"]) == 5
    assert 0.0 <= body["risk_score"] <= 100.0


def test_application_batch(client: TestClient, world: World) -> None:
    bodies = [application_body(world.applications.iloc[k]) for k in range(6)]
    bodies[2].pop("client_id")
    r = client.post("/v1/applications/score-batch", json={"applications": bodies}, headers=HEADERS)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["client_id"] for x in results] == [b.get("client_id") for b in bodies]
    for body, result in zip(bodies, results, strict=True):
        single = client.post("/v1/applications/score", json=body, headers=HEADERS).json()
        assert result["probability_default"] == pytest.approx(
            single["probability_default"], abs=1e-12
        )


def test_every_twin_application_is_accepted(world: World) -> None:
    Application = application_model()
    train = pd.read_parquet(world.interim / "application_train.parquet").drop(columns="TARGET")
    for _, row in pd.concat([world.applications, train], ignore_index=True).iterrows():
        Application.model_validate(application_body(row, with_client=False)["application"])


def test_extra_levels_cover_the_twins_rare_levels() -> None:
    from credit_scoring.data.twin._clients import RARE_LEVELS

    specs = {s.name: s for s in field_specs()}
    for column, levels in RARE_LEVELS.items():
        assert set(levels) <= set(specs[column].levels), column
    assert set(EXTRA_LEVELS) <= set(specs)


# --------------------------------------------------------------------------- bad input


def _bad_application(**changes: Any) -> dict[str, Any]:
    application = dict(EXAMPLE_APPLICATION)
    for key, value in changes.items():
        if value is _DROP:
            application.pop(key)
        else:
            application[key] = value
    return {"application": application}


_DROP = object()


@pytest.mark.parametrize(
    "body, field",
    [
        (_bad_application(AMT_CREDIT="a lot"), "application.AMT_CREDIT"),
        (_bad_application(CNT_CHILDREN=1.5), "application.CNT_CHILDREN"),
        (_bad_application(FLAG_MOBIL=True), "application.FLAG_MOBIL"),
        (_bad_application(AMT_CREDIT=_DROP), "application.AMT_CREDIT"),
        (_bad_application(AMT_CREDIT=None), "application.AMT_CREDIT"),
        (_bad_application(AMT_CREDIT=-5.0), "application.AMT_CREDIT"),
        (_bad_application(EXT_SOURCE_2=1.5), "application.EXT_SOURCE_2"),
        (_bad_application(HOUR_APPR_PROCESS_START=24), "application.HOUR_APPR_PROCESS_START"),
        (_bad_application(DAYS_BIRTH=-1000), "application.DAYS_BIRTH"),
        (_bad_application(DAYS_EMPLOYED=12), "application.DAYS_EMPLOYED"),
        (_bad_application(CODE_GENDER="X"), "application.CODE_GENDER"),
        (_bad_application(ORGANIZATION_TYPE="Spaceship"), "application.ORGANIZATION_TYPE"),
        (_bad_application(AMT_INCOME_TOTAL=1e300), "application.AMT_INCOME_TOTAL"),
        (_bad_application(TARGET=1), "application.TARGET"),
        (_bad_application(SK_ID_CURR=100001), "application.SK_ID_CURR"),
        ({"application": EXAMPLE_APPLICATION, "client_id": -3}, "client_id"),
        ({"application": EXAMPLE_APPLICATION, "client_id": 2**64}, "client_id"),
        ({"application": EXAMPLE_APPLICATION, "client_id": "100001"}, "client_id"),
        ({"client_id": 100001}, "application"),
        ([], "body"),
    ],
)
def test_bad_applications_are_422_with_the_field(client: TestClient, body: Any, field: str) -> None:
    r = client.post("/v1/applications/score", json=body, headers=HEADERS)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert field in {e["field"] for e in errors}, errors
    assert all(e["msg"] for e in errors)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_nan_and_infinity_are_422(client: TestClient, literal: str) -> None:
    text = json.dumps(_bad_application()).replace(
        '"AMT_CREDIT": 509501.25', f'"AMT_CREDIT": {literal}'
    )
    assert literal in text
    r = client.post(
        "/v1/applications/score",
        content=text,
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "application.AMT_CREDIT"
    assert "finite" in r.json()["detail"][0]["msg"]
    r = client.post(
        "/v1/clients/score",
        content=f'{{"client_ids": [{literal}]}}',
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 422


def test_broken_json_and_wrong_paths_are_4xx(client: TestClient) -> None:
    r = client.post(
        "/v1/applications/score",
        content=b'{"application": ',
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert client.get("/v1/clients/abc/score", headers=HEADERS).status_code == 422
    assert client.get("/v1/clients/0/score", headers=HEADERS).status_code == 422
    assert client.get("/v1/clients/1/score?top=11", headers=HEADERS).status_code == 422
    assert client.get("/v1/clients/1/score?explain=maybe", headers=HEADERS).status_code == 422


def test_oversized_batches_are_422(client: TestClient, app: Any) -> None:
    limit = app.state.settings.max_batch_clients
    r = client.post(
        "/v1/clients/score", json={"client_ids": list(range(1, limit + 2))}, headers=HEADERS
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "client_ids"
    assert (
        client.post("/v1/clients/score", json={"client_ids": []}, headers=HEADERS).status_code
        == 422
    )
    many = {
        "applications": [{"application": EXAMPLE_APPLICATION}]
        * (app.state.settings.max_batch_applications + 1)
    }
    r = client.post("/v1/applications/score-batch", json=many, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "applications"


def test_errors_of_a_batch_name_the_row(client: TestClient) -> None:
    bodies = [{"application": EXAMPLE_APPLICATION}, _bad_application(CODE_GENDER="X")]
    r = client.post("/v1/applications/score-batch", json={"applications": bodies}, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "applications[1].application.CODE_GENDER"


def test_oversized_bodies_are_422_before_being_read(client: TestClient, app: Any) -> None:
    limit = app.state.settings.max_body_bytes
    big = b'{"client_ids": [' + b"1," * limit + b"1]}"
    r = client.post(
        "/v1/clients/score", content=big, headers={**HEADERS, "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is streamed
        for k in range(0, len(big), 65536):
            yield big[k : k + 65536]

    r = client.post(
        "/v1/clients/score",
        content=chunks(),
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "body"
    small = json.dumps({"client_ids": [1]}).encode()
    r = client.post(
        "/v1/clients/score",
        content=iter([small]),
        headers={**HEADERS, "content-type": "application/json"},
    )
    assert r.status_code == 404  # a small streamed body goes through


def test_validation_errors_do_not_echo_the_values(client: TestClient) -> None:
    r = client.post(
        "/v1/applications/score", json=_bad_application(CODE_GENDER="Jean Dupont"), headers=HEADERS
    )
    assert r.status_code == 422
    assert "Jean Dupont" not in r.text


# --------------------------------------------------------------------------- model card, 503


def test_model_card(client: TestClient, world: World) -> None:
    r = client.get("/v1/model", headers=HEADERS)
    assert r.status_code == 200
    card = r.json()
    assert card["model_version"] == "credit-scoring/test"
    assert card["threshold"] == pytest.approx(world.scorer.threshold)
    assert card["review_band"] == [45.0, 55.0]
    low, high = card["review_band_probabilities"]
    assert low < world.scorer.threshold < high
    assert card["data_origin"] == "twin" and "twin" in card["data_note"]
    assert card["metrics"]["test_auc"] == 0.71
    assert card["feature_count"] == len(world.scorer.features) == len(card["features"])
    assert all(f["label_fr"] for f in card["features"])


def test_no_registered_model_means_503_with_the_reason(world: World, tmp_path: Path) -> None:
    app = create_app(settings=world.light_settings(tmp_path))  # an empty MLflow folder
    with TestClient(app) as c:
        health = c.get("/health")
        assert health.status_code == 503
        assert "train stage" in health.json()["detail"]
        r = c.get("/v1/model", headers=HEADERS)
        assert r.status_code == 503
        assert "no model" in r.json()["detail"]
    assert not (tmp_path / "mlflow").exists()  # looking for a model creates no store


def test_missing_production_features_mean_503_for_known_clients_only(
    world: World, tmp_path: Path
) -> None:
    app = create_app(
        scorer=world.scorer, settings=world.light_settings(tmp_path, features_dir=tmp_path / "none")
    )
    with client_for(app) as c:
        r = c.get("/v1/clients/100001/score", headers=HEADERS)
        assert r.status_code == 503
        assert "features stage" in r.json()["detail"]
        r = c.post(
            "/v1/applications/score", json={"application": EXAMPLE_APPLICATION}, headers=HEADERS
        )
        assert r.status_code == 200


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    made = client.get("/health", headers={"X-Request-ID": "bad id\twith\nnoise"}).headers[
        "x-request-id"
    ]
    assert len(made) == 32


# --------------------------------------------------------------------------- decisions and the log


def test_advisor_decision_links_the_model_answer(
    client: TestClient, world: World, known: list[int]
) -> None:
    review = world.client_with("review")
    answer = client.get(f"/v1/clients/{review}/score", headers=HEADERS).json()
    r = client.post(
        f"/v1/clients/{review}/decision",
        json={
            "decision": "grant",
            "reason": "  Apport de 20 % confirmé.  ",
            "advisor_id": "adv-042",
        },
        headers=HEADERS,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["model_decision_id"] == answer["decision_id"]
    assert body["model_decision"] == "review" and body["decision"] == "grant"
    assert body["override"] is False
    entry = DecisionLog(client.app.state.settings.decision_log).get(body["decision_id"])  # type: ignore[attr-defined]
    assert (
        entry is not None
        and entry.reason == "Apport de 20 % confirmé."
        and entry.advisor_id == "adv-042"
    )


def test_reversing_a_firm_decision_is_an_override(
    client: TestClient, world: World, known: list[int]
) -> None:
    refused = world.client_with("refuse")
    answer = client.get(f"/v1/clients/{refused}/score", headers=HEADERS).json()
    r = client.post(
        f"/v1/clients/{refused}/decision",
        json={"decision": "grant", "reason": "Garant solide", "decision_id": answer["decision_id"]},
        headers=HEADERS,
    )
    assert r.status_code == 201
    assert r.json()["override"] is True


def test_a_decision_without_a_prior_answer_scores_the_client_first(
    world: World, tmp_path: Path, known: list[int]
) -> None:
    app = create_app(scorer=world.scorer, settings=world.light_settings(tmp_path))
    with client_for(app) as c:
        r = c.post(
            f"/v1/clients/{known[0]}/decision",
            json={"decision": "refuse", "reason": "x"},
            headers=HEADERS,
        )
        assert r.status_code == 201
        entries = DecisionLog(tmp_path / "decisions.sqlite").entries(client_id=known[0])
        assert [(e.kind, e.source) for e in entries] == [
            ("model", "review"),
            ("advisor", "advisor"),
        ]
        r = c.post(
            "/v1/clients/123/decision", json={"decision": "refuse", "reason": "x"}, headers=HEADERS
        )
        assert r.status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "grant"}, "reason"),
        ({"decision": "grant", "reason": ""}, "reason"),
        ({"decision": "grant", "reason": "   \n "}, "reason"),
        ({"decision": "grant", "reason": "x" * 1001}, "reason"),
        ({"decision": "grant", "reason": "écrire à jean.dupont@mail.fr"}, "reason"),
        ({"decision": "grant", "reason": "IBAN FR76 3000 6000 0112 3456 7890 189"}, "reason"),
        ({"decision": "review", "reason": "ok"}, "decision"),
        ({"decision": "grant", "reason": "ok", "advisor_id": "Jean Dupont"}, "advisor_id"),
        ({"decision": "grant", "reason": "ok", "extra": 1}, "extra"),
        ({"decision": "grant", "reason": "ok", "decision_id": 0}, "decision_id"),
    ],
)
def test_advisor_decisions_need_a_clean_reason(
    client: TestClient, known: list[int], body: dict[str, Any], field: str
) -> None:
    client.get(f"/v1/clients/{known[0]}/score", headers=HEADERS)
    r = client.post(f"/v1/clients/{known[0]}/decision", json=body, headers=HEADERS)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["detail"]}


def test_a_decision_on_another_answer_than_the_clients_is_404(
    client: TestClient, known: list[int]
) -> None:
    other = client.get(f"/v1/clients/{known[1]}/score", headers=HEADERS).json()["decision_id"]
    body = {"decision": "grant", "reason": "ok", "decision_id": other}
    r = client.post(f"/v1/clients/{known[0]}/decision", json=body, headers=HEADERS)
    assert r.status_code == 404
    assert f"decision_id {other} is not a model answer for client {known[0]}" in r.json()["detail"]


def test_the_log_holds_answers_but_no_application_field(
    client: TestClient, world: World, app: Any
) -> None:
    row = world.applications.iloc[5]
    body = application_body(row)
    body["application"]["AMT_INCOME_TOTAL"] = 123_456.78  # a value that appears nowhere else
    r = client.post(
        "/v1/applications/score", json=body, headers={**HEADERS, "X-Request-ID": "req-log-1"}
    )
    assert r.status_code == 200
    decision_id = r.json()["decision_id"]
    path = app.state.settings.decision_log
    with sqlite3.connect(path) as con:
        con.row_factory = sqlite3.Row
        logged = dict(
            con.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
        )
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        dump = "\n".join(con.iterdump())
    assert mode == "wal"
    assert logged["kind"] == "model" and logged["source"] == "application"
    assert logged["client_id"] == int(row[CLIENT_ID])
    assert logged["model_version"] == "credit-scoring/test"
    assert logged["decision"] == r.json()["decision"]
    assert logged["risk_score"] == pytest.approx(r.json()["risk_score"])
    assert logged["request_id"] == "req-log-1"
    assert logged["caller"] and KEY not in dump
    assert len(logged["inputs_sha256"]) == 64
    assert logged["logged_at"].endswith("+00:00")
    # No application field, in any form, anywhere in the log.
    for value in ("123456.78", "123_456.78", str(row["ORGANIZATION_TYPE"]), "AMT_INCOME_TOTAL"):
        assert value not in dump
    # The hash is the model's input row: recomputable from the features.
    features = app.state.service.application_features([body["application"]], [int(row[CLIENT_ID])])
    assert logged["inputs_sha256"] == inputs_sha256(
        features[world.scorer.features].iloc[0].to_dict()
    )


def test_every_answer_is_logged(client: TestClient, app: Any, known: list[int]) -> None:
    log = DecisionLog(app.state.settings.decision_log)
    before = log.count("model")
    client.get(f"/v1/clients/{known[0]}/score", headers=HEADERS)
    client.post("/v1/clients/score", json={"client_ids": known[:4]}, headers=HEADERS)
    client.get(f"/v1/clients/{known[0]}/explanation", headers=HEADERS)
    client.get("/v1/clients/123/score", headers=HEADERS)  # 404: nothing answered
    assert log.count("model") == before + 6


# --------------------------------------------------------------------------- a live server


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1, in a thread: its base URL."""
    import uvicorn

    sock = _free_socket()
    port = sock.getsockname()[1]
    # A connection idle past the keep-alive is closed by the server as the client reuses it:
    # on a loaded CI machine 5 s (uvicorn's default) is not long.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=60)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
    assert not thread.is_alive()


def _api_load() -> Any:
    path = Path(__file__).parent / "benchmarks" / "api_load.py"
    spec = importlib.util.spec_from_file_location("api_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "seconds", [pytest.param(8, id="ci"), pytest.param(60, id="full", marks=pytest.mark.slow)]
)
def test_mixed_load_loses_no_decision(
    world: World, tmp_path: Path, known: list[int], seconds: float
) -> None:
    """Concurrency 32 of known-client scores, posted applications, what-ifs and advisor
    decisions: no 5xx, and the log holds every acknowledged decision, intact."""
    import asyncio

    load = _api_load()
    app = create_app(scorer=world.scorer, settings=world.settings(tmp_path))
    bodies = load.application_bodies(world.interim, known, 50)
    mixed = load.Mixed(known, bodies)
    with live_server(app) as base:
        row = asyncio.run(
            load.drive(base, mixed, 32, 10**6, seconds, 4 * len(bodies), (200, 201), key=KEY)
        )
    print(f"\nmixed load, {seconds} s at concurrency 32: {row}")
    assert row["answers"] > 0
    assert row["server_errors"] == row["failed"] == 0, row["statuses"]
    log = load.check_decision_log(tmp_path / "decisions.sqlite", mixed.acknowledged)
    assert log["acknowledged"] > 0
    assert log == {**log, "integrity_check": "ok", "all_present": True}


def test_live_uvicorn_server(world: World, tmp_path: Path, known: list[int]) -> None:
    import asyncio

    app = create_app(scorer=world.scorer, settings=world.light_settings(tmp_path))
    with live_server(app) as base:
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/health").json()["status"] == "ok"
            assert http.get(f"/v1/clients/{known[0]}/score").status_code == 401
            r = http.get(f"/v1/clients/{known[0]}/score", headers=HEADERS)
            assert r.status_code == 200
            assert r.json()["client_id"] == known[0]
            body = application_body(world.applications.iloc[0])
            assert (
                http.post("/v1/applications/score", json=body, headers=HEADERS).status_code == 200
            )

        async def many() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                calls = [http.get(f"/v1/clients/{i}/score", headers=HEADERS) for i in known[:20]]
                return [r.status_code for r in await asyncio.gather(*calls)]

        assert asyncio.run(many()) == [200] * min(20, len(known))


# --------------------------------------------------------------------------- the dashboard's data


def _new_endpoints(client_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("GET", "/v1/clients", None),
        ("GET", f"/v1/clients/{client_id}/application", None),
        ("POST", f"/v1/clients/{client_id}/what-if", {}),
        ("GET", f"/v1/clients/{client_id}/neighbours", None),
        ("GET", "/v1/population", None),
        ("GET", "/v1/population/AMT_CREDIT", None),
        ("GET", "/v1/model/importance", None),
        ("GET", f"/v1/clients/{client_id}/scorecard", None),
    ]


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_the_dashboards_endpoints_need_a_valid_key(
    client: TestClient, known: list[int], headers: dict[str, str]
) -> None:
    for method, path, body in _new_endpoints(known[0]):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, path
        r = client.request(method, path, json=body, headers=HEADERS)
        assert r.status_code == 200, (path, r.text)


def test_client_list_pages_and_prefix(client: TestClient, known: list[int]) -> None:
    ids = sorted(known)
    r = client.get("/v1/clients", headers=HEADERS)
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == len(ids) and page["offset"] == 0 and page["limit"] == 100
    assert page["client_ids"] == ids[:100]
    r = client.get("/v1/clients", params={"limit": 7, "offset": 3}, headers=HEADERS)
    assert r.json()["client_ids"] == ids[3:10]
    r = client.get("/v1/clients", params={"offset": len(ids) + 5}, headers=HEADERS)
    assert r.json()["client_ids"] == [] and r.json()["total"] == len(ids)
    for prefix in (str(ids[0])[:3], str(ids[-1])[:4], str(ids[5]), "9", "0"):
        r = client.get("/v1/clients", params={"prefix": prefix, "limit": 1000}, headers=HEADERS)
        expected = [i for i in ids if str(i).startswith(prefix)]
        assert r.json()["client_ids"] == expected, prefix
        assert r.json()["total"] == len(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 2**63},
        {"prefix": "12a"},
        {"prefix": "1" * 20},
        {"prefix": "-1"},
    ],
)
def test_bad_client_list_parameters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get("/v1/clients", params=params, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == next(iter(params))


def test_application_of_a_known_client_holds_only_the_needed_fields(
    client: TestClient, world: World, known: list[int]
) -> None:
    from credit_scoring.api.service import APPLICATION_FIELDS

    applications = world.applications.set_index(CLIENT_ID)
    for client_id in known[:5]:
        r = client.get(f"/v1/clients/{client_id}/application", headers=HEADERS)
        assert r.status_code == 200
        data = r.json()
        assert set(data) == {"client_id", *APPLICATION_FIELDS}
        assert data["client_id"] == client_id
        stored = applications.loc[client_id]
        for name in APPLICATION_FIELDS:
            if pd.isna(stored[name]):
                assert data[name] is None
            elif name == "NAME_CONTRACT_TYPE":
                assert data[name] == stored[name]
            else:
                assert data[name] == pytest.approx(stored[name])
    # GDPR minimisation: nothing on identity, family or contact.
    for hidden in ("CODE_GENDER", "DAYS_BIRTH", "NAME_FAMILY_STATUS", "CNT_CHILDREN"):
        assert hidden not in data


@pytest.mark.parametrize(
    "path",
    [
        "/v1/clients/{}/application",
        "/v1/clients/{}/neighbours",
        "/v1/clients/{}/scorecard",
    ],
)
def test_unknown_clients_of_the_dashboards_endpoints_are_404(client: TestClient, path: str) -> None:
    r = client.get(path.format(999_999), headers=HEADERS)
    assert r.status_code == 404
    assert "999999" in r.json()["detail"]
    r = client.post("/v1/clients/999999/what-if", json={}, headers=HEADERS)
    assert r.status_code == 404
    for bad in ("0", "-3", "abc", str(2**63)):
        assert client.get(path.format(bad), headers=HEADERS).status_code == 422


def test_what_if_without_changes_is_the_clients_score(
    client: TestClient, world: World, known: list[int]
) -> None:
    for decision in ("grant", "refuse"):
        client_id = world.client_with(decision)
        r = client.post(f"/v1/clients/{client_id}/what-if", json={}, headers=HEADERS)
        assert r.status_code == 200
        assert r.json()["risk_score"] == pytest.approx(world.expected[client_id].risk_score, 1e-6)


def test_what_if_scores_the_stored_application_with_the_changes(
    client: TestClient, world: World
) -> None:
    client_id = world.client_with("refuse")
    row = world.applications.set_index(CLIENT_ID, drop=False).loc[client_id]
    changes = {"AMT_CREDIT": float(row["AMT_CREDIT"]) / 2, "AMT_INCOME_TOTAL": 1e6}
    body = application_body(row)
    body["application"].update(changes)
    posted = client.post("/v1/applications/score", json=body, headers=HEADERS).json()
    r = client.post(f"/v1/clients/{client_id}/what-if", json=changes, headers=HEADERS)
    assert r.status_code == 200
    assert r.json()["risk_score"] == pytest.approx(posted["risk_score"], abs=1e-9)
    assert r.json()["decision_id"] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"AMT_CREDIT": -1.0}, "AMT_CREDIT"),
        ({"AMT_CREDIT": None}, "AMT_CREDIT"),  # required: changed, never removed
        ({"AMT_CREDIT": "1000"}, "AMT_CREDIT"),
        ({"AMT_INCOME_TOTAL": 0.0}, "AMT_INCOME_TOTAL"),
        ({"CODE_GENDER": "F"}, "CODE_GENDER"),
        ([1, 2], "body"),
    ],
)
def test_bad_what_ifs_are_422(client: TestClient, world: World, body: Any, field: str) -> None:
    r = client.post(f"/v1/clients/{world.client_with('grant')}/what-if", json=body, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == field


def test_population_and_feature_distribution(client: TestClient, world: World) -> None:
    from credit_scoring.modelling.train import load_training_table

    r = client.get("/v1/population", headers=HEADERS)
    assert r.status_code == 200
    overview = r.json()
    _, y, _ = load_training_table(world.features_dir)
    assert overview["clients"] == len(y)
    assert overview["default_rate"] == pytest.approx(float(y.mean()))
    assert overview["data_origin"] == "twin" and overview["neighbours"] == 30
    keys = [f["name"] for f in overview["key_features"]]
    assert 1 <= len(keys) <= 8 and all(f["label_fr"] for f in overview["key_features"])
    train = pd.read_parquet(world.features_dir / "train.parquet")
    for feature in [keys[0], "AMT_CREDIT"]:
        r = client.get(f"/v1/population/{feature}", headers=HEADERS)
        assert r.status_code == 200
        found = r.json()
        assert found["feature"] == feature and found["label_fr"]
        column = train[feature].astype(float)
        for group, rows in (
            ("all", column),
            ("repaid", column[train["TARGET"] == 0]),
            ("defaulted", column[train["TARGET"] == 1]),
        ):
            stats = found["groups"][group]
            assert stats["count"] == int(rows.notna().sum())
            assert stats["missing"] == int(rows.isna().sum())
            assert stats["quantiles"]["0.50"] == pytest.approx(rows.median())
            assert set(stats["quantiles"]) == {f"{k / 20:.2f}" for k in range(1, 20)}
            assert stats["mean"] == pytest.approx(rows.mean())


@pytest.mark.parametrize(
    ("feature", "status"),
    [("NOT_A_FEATURE", 404), ("TARGET", 404), ("SK_ID_CURR", 404), ("a-b", 422), ("x" * 101, 422)],
)
def test_unknown_or_bad_features_are_404_or_422(
    client: TestClient, feature: str, status: int
) -> None:
    r = client.get(f"/v1/population/{feature}", headers=HEADERS)
    assert r.status_code == status


def test_neighbours_are_aggregates_of_the_nearest_reference_clients(
    client: TestClient, app: Any, world: World
) -> None:
    client_id = world.client_with("review")
    r = client.get(f"/v1/clients/{client_id}/neighbours", headers=HEADERS)
    assert r.status_code == 200
    found = r.json()
    population = app.state.service.population
    keys = population.key_features
    assert found["client_id"] == client_id and found["k"] == 30
    assert set(found["client_values"]) == set(found["ranks"]) == set(found["features"]) == set(keys)
    row = world.production.loc[client_id]
    near = population.nearest(row)
    target = population.reference["TARGET"].to_numpy()
    assert found["default_rate"] == pytest.approx(target[near].mean())
    for feature in keys:
        column = population.reference[feature].to_numpy(dtype=float)
        value = float(row[feature])
        if np.isfinite(value):
            assert found["client_values"][feature] == pytest.approx(value)
            finite = column[np.isfinite(column)]
            assert found["ranks"][feature] == pytest.approx(np.mean(finite < value))
        near_values = column[near]
        stats = found["features"][feature]
        assert stats["count"] == int(np.isfinite(near_values).sum())
        if stats["count"] >= 10:
            assert stats["quantiles"]["0.50"] == pytest.approx(np.nanmedian(near_values))
    # Aggregates only: no row, no id of another client.
    text = r.text
    for other in population.reference.index[:5]:
        assert f'"{other}"' not in text


def test_nearest_reference_clients_are_those_of_the_scaled_distance() -> None:
    from credit_scoring.api.population import Population

    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {
            "A": rng.normal(0, 1, 500),
            "B": rng.normal(0, 1000, 500),  # another scale: scaling must even them out
            "TARGET": rng.integers(0, 2, 500),
        }
    )
    reference.loc[3, ["A", "B"]] = [np.nan, 5.0]
    population = Population(reference, ["A", "B"], neighbours=10)
    row = reference.iloc[42]
    near = population.nearest(row)
    assert near[0] == 42 and len(near) == 10
    scaled = population._scale(reference[["A", "B"]].to_numpy())
    distance = np.sqrt(((scaled - scaled[42]) ** 2).sum(axis=1))
    assert set(near) == set(np.argsort(distance, kind="stable")[:10])
    found = population.neighbours(row)
    assert found.default_rate == pytest.approx(reference["TARGET"].to_numpy()[near].mean())
    assert found.ranks["A"] == pytest.approx(np.mean(reference["A"].dropna() < row["A"]))
    groups = population.distribution("A").groups
    assert groups["defaulted"].count == int(reference.loc[reference["TARGET"] == 1, "A"].count())
    small = Population(reference.head(8), ["A", "B"], neighbours=5)
    assert small.distribution("A").groups["all"].quantiles == {}  # too few to describe


def test_importance_of_the_explain_stage(client: TestClient, world: World) -> None:
    r = client.get("/v1/model/importance", headers=HEADERS)
    assert r.status_code == 200
    features = r.json()["features"]
    assert {f["name"] for f in features} == set(world.scorer.features)
    shares = [f["share"] for f in features]
    assert sum(shares) == pytest.approx(1.0) and shares == sorted(shares, reverse=True)


def test_comparisons_without_a_training_table_are_503(world: World, tmp_path: Path) -> None:
    empty = tmp_path / "features"
    empty.mkdir()
    settings = world.light_settings(tmp_path, features_dir=empty)
    app = create_app(scorer=world.scorer, settings=settings)
    with TestClient(app) as c:
        r = c.get("/v1/population", headers=HEADERS)
        assert r.status_code == 503 and "train.parquet" in r.json()["detail"]


# ----------------------------------------------------------------------- the scorecard challenger

SCORECARD_NOTE = (
    "Deuxième lecture : grille de score (modèle challenger). Elle ne décide pas ; la "
    "décision vient du modèle retenu."
)


def saved_scorecard(world: World) -> tuple[Any, float, float]:
    """The world's scorecard, its threshold and its points to double the odds."""
    from credit_scoring.modelling.scorecard import Scorecard

    data = json.loads(world.scorecard_file.read_text(encoding="utf-8"))
    return (
        Scorecard.from_dict(data["scorecard"]),
        float(data["threshold"]),
        float(data["points_to_double_odds"]),
    )


@pytest.fixture(scope="module")
def readings(client: TestClient, known: list[int]) -> dict[int, dict[str, Any]]:
    """Every known client's scorecard reading, as the API gives it."""
    out = {}
    for client_id in known:
        r = client.get(f"/v1/clients/{client_id}/scorecard", headers=HEADERS)
        assert r.status_code == 200, r.text
        out[client_id] = r.json()
    return out


def test_scorecard_points_add_up_to_the_total(readings: dict[int, dict[str, Any]]) -> None:
    for body in readings.values():
        parts = body["base_points"] + sum(a["points"] for a in body["attributes"])
        assert parts == pytest.approx(body["total_points"], abs=1e-9)


def test_scorecard_total_is_its_log_odds_on_the_score_scale(
    readings: dict[int, dict[str, Any]], world: World
) -> None:
    import math

    card, threshold, pdo = saved_scorecard(world)
    log_odds = card.log_odds(world.production)
    expected = 50 + pdo / math.log(2) * (log_odds - math.log(threshold / (1 - threshold)))
    for client_id, total in zip(world.production.index, expected, strict=True):
        assert readings[int(client_id)]["total_points"] == pytest.approx(total, abs=1e-6)


def test_scorecard_score_is_the_clipped_total(readings: dict[int, dict[str, Any]]) -> None:
    totals = [body["total_points"] for body in readings.values()]
    assert min(totals) < 0 < 100 < max(totals)  # the world has clients beyond both ends
    for body in readings.values():
        assert body["score"] == pytest.approx(min(max(body["total_points"], 0.0), 100.0))


def test_scorecard_decision_is_the_champions_band_on_its_score(
    readings: dict[int, dict[str, Any]], world: World
) -> None:
    low, high = world.scorer.review_band
    for body in readings.values():
        score = body["score"]
        expected = "grant" if score < low else "refuse" if score > high else "review"
        assert body["decision"] == expected
        assert body["review_band"] == [low, high]
    assert {body["decision"] for body in readings.values()} == {"grant", "review", "refuse"}


def test_scorecard_attributes_are_its_features_largest_first(
    readings: dict[int, dict[str, Any]], world: World
) -> None:
    card, _, _ = saved_scorecard(world)
    for body in readings.values():
        attributes = body["attributes"]
        assert sorted(a["feature"] for a in attributes) == sorted(card.names)
        magnitudes = [abs(a["points"]) for a in attributes]
        assert magnitudes == sorted(magnitudes, reverse=True)


def test_scorecard_attributes_are_the_clients_bins_values_and_points(
    readings: dict[int, dict[str, Any]], world: World
) -> None:
    from credit_scoring.features import feature_dictionary

    card, threshold, pdo = saved_scorecard(world)
    labels = feature_dictionary().set_index("name")["label_fr"]
    features = {f.name: f for f in card.features}
    kinds = set()
    for client_id, body in readings.items():
        row = world.production.loc[[client_id]]
        points = card.points(row, threshold=threshold, points_to_double_odds=pdo).iloc[0]
        assert body["base_points"] == pytest.approx(points["points de base"])
        for a in body["attributes"]:
            name = a["feature"]
            [index] = features[name].bin_index(row[name])
            assert a["bin"] == features[name].labels()[index]
            assert a["label"] == labels[name]
            assert a["points"] == pytest.approx(points[name])
            value = row[name].iloc[0]
            if pd.isna(value):
                assert a["value"] is None
                kinds.add("missing")
            elif isinstance(value, str):
                assert a["value"] == value
                kinds.add("category")
            else:
                assert a["value"] == pytest.approx(float(value))
    assert kinds == {"missing", "category"}  # the world's scorecard has both kinds


def test_scorecard_reading_says_it_does_not_decide(readings: dict[int, dict[str, Any]]) -> None:
    for body in readings.values():
        assert body["challenger"] is True
        assert body["note"] == SCORECARD_NOTE


def test_scorecard_readings_are_not_logged(client: TestClient, app: Any, known: list[int]) -> None:
    log = DecisionLog(app.state.settings.decision_log)
    before = log.count()
    assert client.get(f"/v1/clients/{known[0]}/scorecard", headers=HEADERS).status_code == 200
    assert log.count() == before


def _app_with_models_dir(world: World, tmp_path: Path) -> tuple[Path, Any]:
    """An app whose models folder starts empty (no scorecard.json)."""
    models = tmp_path / "models"
    models.mkdir()
    settings = world.light_settings(tmp_path, models_dir=models)
    return models, create_app(scorer=world.scorer, settings=settings)


def test_missing_scorecard_is_404_naming_the_file(
    world: World, tmp_path: Path, known: list[int]
) -> None:
    _, app = _app_with_models_dir(world, tmp_path)
    with TestClient(app) as c:
        r = c.get(f"/v1/clients/{known[0]}/scorecard", headers=HEADERS)
    assert r.status_code == 404
    assert "scorecard.json" in r.json()["detail"] and "dvc repro train" in r.json()["detail"]


def test_unknown_client_scorecard_is_the_unknown_client_404(client: TestClient) -> None:
    r = client.get("/v1/clients/123/scorecard", headers=HEADERS)
    assert r.status_code == 404
    assert (
        r.json()["detail"] == client.get("/v1/clients/123/score", headers=HEADERS).json()["detail"]
    )


def test_scorecard_is_read_once(world: World, tmp_path: Path, known: list[int]) -> None:
    models, app = _app_with_models_dir(world, tmp_path)
    shutil.copy(world.scorecard_file, models)
    with TestClient(app) as c:
        first = c.get(f"/v1/clients/{known[0]}/scorecard", headers=HEADERS)
        (models / world.scorecard_file.name).unlink()
        second = c.get(f"/v1/clients/{known[0]}/scorecard", headers=HEADERS)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()


def test_a_missing_scorecard_is_looked_for_again(
    world: World, tmp_path: Path, known: list[int]
) -> None:
    models, app = _app_with_models_dir(world, tmp_path)
    with TestClient(app) as c:
        before = c.get(f"/v1/clients/{known[0]}/scorecard", headers=HEADERS)
        shutil.copy(world.scorecard_file, models)
        after = c.get(f"/v1/clients/{known[0]}/scorecard", headers=HEADERS)
    assert (before.status_code, after.status_code) == (404, 200)


def test_scorecard_operation_is_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/v1/clients/{client_id}/scorecard"]["get"]
    assert op["tags"] == ["explanations"] and "decides nothing" in op["description"]
    assert "scorecard.json" in op["responses"]["404"]["description"]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/ScorecardOut")
    components = schema["components"]["schemas"]
    assert set(components["ScorecardOut"]["required"]) >= {
        "challenger",
        "note",
        "total_points",
        "score",
        "decision",
        "base_points",
        "attributes",
    }
    attribute = components["ScorecardAttributeOut"]["properties"]
    assert set(attribute) == {"feature", "label", "bin", "value", "points"}
