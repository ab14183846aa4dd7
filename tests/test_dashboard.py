"""The advisor dashboard's logic, on the small world of ``test_api``, with both backends: the
scoring API (through FastAPI's test client) and the in-process scoring service.

The browser tests (``test_dashboard_browser.py``) check the same behaviours on the page.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_api import KEY, World, build_world

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from fastapi.testclient import TestClient

from credit_scoring.api import create_app
from credit_scoring.api.service import ScoringService
from credit_scoring.dashboard import (
    ApiBackend,
    ClientFiles,
    Dashboard,
    DashboardError,
    LocalBackend,
    Population,
    global_importance,
    open_backend,
)
from credit_scoring.dashboard.app import (
    SHOWN_FIELDS,
    application_html,
    edited_application,
    origin_note,
    term_months,
)
from credit_scoring.dashboard.style import (
    AA_CONTRAST,
    BANDS,
    MUTED,
    WHITE,
    band_style,
    contrast_ratio,
    gauge_svg,
)
from credit_scoring.decision_log import DecisionLog
from credit_scoring.explain.text import Phrasebook, contains_code
from credit_scoring.features import feature_dictionary

pytestmark = [
    pytest.mark.xdist_group("api"),  # shares test_api's world in one worker
    pytest.mark.filterwarnings("ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"),
    pytest.mark.filterwarnings("ignore:.*starlette.testclient.*"),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def files(world: World) -> ClientFiles:
    return ClientFiles(world.features_dir, world.interim)


@pytest.fixture(scope="module")
def phrasebook() -> Phrasebook:
    return Phrasebook.from_dictionary(feature_dictionary())


@pytest.fixture(scope="module", params=["local", "api"])
def backend(
    request: pytest.FixtureRequest, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp(f"dashboard_{request.param}")
    if request.param == "local":
        service = ScoringService(world.settings(tmp), scorer=world.scorer)
        local = LocalBackend(service)
        yield local
        local.close()
        return
    app = create_app(scorer=world.scorer, settings=world.settings(tmp))
    with TestClient(app) as client:
        assert app.state.service.wait_warm(120)
        yield ApiBackend(api_key=KEY, client=client)


def log_of(backend: Any) -> Path:
    if isinstance(backend, LocalBackend):
        return Path(backend.settings.decision_log)
    return Path(backend.http.app.state.settings.decision_log)


# --------------------------------------------------------------------------- style


def test_every_band_has_aa_contrast_an_icon_and_a_label() -> None:
    assert set(BANDS) == {"grant", "review", "refuse"}
    for style in BANDS.values():
        assert contrast_ratio(style.colour, style.text_colour) >= AA_CONTRAST, style
    assert contrast_ratio(MUTED, WHITE) >= AA_CONTRAST
    # Never colour alone: three distinct colours, icons and labels.
    for attribute in ("colour", "icon", "label"):
        assert len({getattr(s, attribute) for s in BANDS.values()}) == 3
    assert band_style("review").label == "Décision du conseiller"


def test_contrast_ratio_matches_wcag_examples() -> None:
    assert contrast_ratio("#000000", "#ffffff") == 21.0
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    with pytest.raises(ValueError):
        contrast_ratio("#fff", "#000000")


@pytest.mark.parametrize(("score", "decision"), [(10.0, "grant"), (50.0, "review"), (90, "refuse")])
def test_the_gauge_says_the_score_and_decision_in_words(score: float, decision: str) -> None:
    svg = gauge_svg(score, decision, (45.0, 55.0))
    assert 'role="img"' in svg
    assert f"Score de risque {round(score)} sur 100 : {band_style(decision).label}" in svg


# --------------------------------------------------------------------------- helpers


def test_term_and_edited_application() -> None:
    application = {"AMT_CREDIT": 120_000.0, "AMT_ANNUITY": 6_000.0, "AMT_INCOME_TOTAL": 1.0}
    assert term_months(application) == 20.0
    assert term_months({"AMT_CREDIT": 1.0, "AMT_ANNUITY": float("nan")}) is None
    edited = edited_application(application, 60_000, 30, 45_000)
    assert edited["AMT_ANNUITY"] == 2_000.0 and edited["AMT_INCOME_TOTAL"] == 45_000.0
    assert application["AMT_CREDIT"] == 120_000.0  # the original is not changed


def test_origin_note_says_twin_or_real() -> None:
    assert "jumeau de données" in origin_note("twin")
    assert "Aucun client réel" in origin_note("twin")
    assert "réels" in origin_note("real")
    assert "inconnue" in origin_note(None)


def test_the_file_shows_only_the_needed_fields(
    world: World, files: ClientFiles, phrasebook: Phrasebook
) -> None:
    client = world.client_with("review")
    application = files.application(client)
    shown = application_html(client, application, phrasebook)
    for name in SHOWN_FIELDS:
        assert phrasebook.label(name) in shown
    for hidden in ("CODE_GENDER", "NAME_FAMILY_STATUS", "DAYS_BIRTH", "CNT_CHILDREN"):
        assert phrasebook.label(hidden) not in shown
    assert not contains_code(shown.replace("cs-", ""))


def test_client_search(world: World, files: ClientFiles) -> None:
    ids = files.client_ids()
    assert ids == sorted(int(i) for i in world.production.index)
    assert files.search(str(ids[0])) == [ids[0]]
    assert files.search("") == ids[:50]
    assert files.search("abc") == []
    with pytest.raises(DashboardError):
        files.feature_row(1)


def test_open_backend_follows_the_environment() -> None:
    api = open_backend(
        {"CREDIT_SCORING_API_URL": "http://127.0.0.1:9/", "CREDIT_SCORING_API_KEY": "k"}
    )
    assert isinstance(api, ApiBackend)
    assert api.http.headers["X-API-Key"] == "k"
    assert str(api.http.base_url).rstrip("/") == "http://127.0.0.1:9"
    with pytest.raises(DashboardError, match="ne répond pas"):
        api.score(100001)  # nothing listens on port 9
    api.close()


# --------------------------------------------------------------------------- both backends


def test_model_info(backend: Any, world: World) -> None:
    info = backend.model_info()
    assert info.model_version == world.scorer.model_version
    assert info.threshold == pytest.approx(world.scorer.threshold)
    assert info.review_band == (45.0, 55.0)
    assert info.data_origin == "twin"


@pytest.mark.parametrize("decision", ["grant", "review", "refuse"])
def test_scores_are_the_scorers(backend: Any, world: World, decision: str) -> None:
    client = world.client_with(decision)
    result = backend.score(client).result
    expected = world.expected[client]
    assert result.decision == expected.decision == decision
    assert result.risk_score == pytest.approx(expected.risk_score, abs=1e-9)
    assert result.review_band == (45.0, 55.0)


def test_unknown_client_is_a_french_error(backend: Any) -> None:
    with pytest.raises(DashboardError, match="Client inconnu"):
        backend.score(999_999)


def test_explanations_add_up_to_the_models_log_odds(backend: Any, world: World) -> None:
    from credit_scoring.explain import Explainer

    client = world.client_with("review")
    explanation = backend.explanation(client, top=5)
    assert len(explanation.reasons) == 5
    assert all(r.sentence and not contains_code(r.sentence) for r in explanation.reasons)
    rows = world.production.loc[[client]]
    expected = Explainer.from_scorer(world.scorer).log_odds(rows)[0]
    assert explanation.log_odds == pytest.approx(expected, abs=1e-3)


def test_the_stored_application_scores_like_the_client(
    backend: Any, world: World, files: ClientFiles
) -> None:
    client = world.client_with("refuse")
    result = backend.score_application(client, files.application(client))
    assert result.risk_score == pytest.approx(world.expected[client].risk_score, abs=1e-6)


def test_counterfactual_is_in_french(backend: Any, world: World) -> None:
    found = backend.counterfactual(world.client_with("refuse"))
    assert found["message"] and not contains_code(found["message"])
    assert isinstance(found["feasible"], bool)


def test_decisions_need_a_clean_reason(backend: Any, world: World) -> None:
    client = world.client_with("review")
    with pytest.raises(DashboardError, match="obligatoire"):
        backend.record_decision(client, "grant", "   ")
    with pytest.raises(DashboardError, match="donnée personnelle"):
        backend.record_decision(client, "grant", "Rappeler au 06 12 34 56 78")
    with pytest.raises(DashboardError, match="donnée personnelle"):
        backend.record_decision(client, "grant", "écrire à jean@example.com")


def test_decisions_and_overrides_land_in_the_decision_log(backend: Any, world: World) -> None:
    review, grant = world.client_with("review"), world.client_with("grant")
    in_band = backend.record_decision(review, "refuse", "Endettement trop élevé", "adv-7")
    override = backend.record_decision(grant, "refuse", "Incident de paiement déclaré")
    assert in_band.model_decision == "review" and not in_band.override
    assert override.model_decision == "grant" and override.override
    with DecisionLog(log_of(backend)) as log:
        entries = {e.id: e for e in log.entries()}
    first, second = entries[in_band.decision_id], entries[override.decision_id]
    assert (first.kind, first.client_id, first.decision) == ("advisor", review, "refuse")
    assert first.reason == "Endettement trop élevé" and first.advisor_id == "adv-7"
    assert (second.client_id, second.decision, second.override) == (grant, "refuse", True)
    model = entries[second.model_entry_id]  # the model answer it rules on
    assert model.kind == "model" and model.decision == "grant"
    assert model.risk_score == pytest.approx(world.expected[grant].risk_score)


# --------------------------------------------------------------------------- the dashboard


@pytest.fixture(scope="module")
def dashboard(backend: Any, files: ClientFiles) -> Dashboard:
    board = Dashboard(backend, files, load_in_background=False)
    board.load()
    return board


def test_the_dashboard_loads_the_list_and_the_origin(dashboard: Dashboard, world: World) -> None:
    assert "jumeau de données" in dashboard.header.value
    labels = [label for label, _ in dashboard.picker.options]
    assert labels[0] == "Choisissez un client"
    assert len(labels) == 1 + min(50, len(world.production))
    assert not dashboard.search.disabled
    assert dashboard.population is not None
    assert dashboard.compare_feature.value == dashboard.population.key_features[0]


@pytest.mark.parametrize("decision", ["review", "grant", "refuse"])
def test_selecting_a_client_shows_the_scorers_answer(
    dashboard: Dashboard, world: World, decision: str
) -> None:
    client = world.client_with(decision)
    dashboard.client_view.value = False
    dashboard.tabs.selected_index = 0
    dashboard.search.value = str(client)  # a unique match is selected
    assert dashboard.client_id == client
    card = dashboard.score_card.value
    expected = world.expected[client]
    assert f'data-score="{expected.risk_score:.4f}"' in card
    assert f'data-decision="{decision}"' in card
    assert BANDS[decision].colour in card and BANDS[decision].label in card
    assert ("décision du conseiller" in card.lower()) == (decision == "review")
    title = dashboard.decision_title.value
    assert ("Décision du conseiller" in title) == (decision == "review")
    assert ("Déroger" in title) == (decision != "review")
    assert world.scorer.model_version in card
    assert "cs-waterfall" in dashboard.why.value and "cs-reason" in dashboard.why.value


def test_client_view_hides_internal_details(dashboard: Dashboard, world: World) -> None:
    dashboard.tabs.selected_index = 0
    dashboard.select(world.client_with("review"))
    dashboard.client_view.value = True
    try:
        shown = dashboard.score_card.value + dashboard.why.value + dashboard.details.value
        assert world.scorer.model_version not in shown
        assert "cs-internal" not in shown and "Probabilité" not in shown
        assert "cs-waterfall" not in dashboard.why.value  # no SHAP values
        assert dashboard.decision_box.layout.display == "none"
        assert "Décision du conseiller" in dashboard.score_card.value
    finally:
        dashboard.client_view.value = False
    assert "cs-internal" in dashboard.score_card.value


def test_comparison_tab(dashboard: Dashboard, world: World) -> None:
    client = world.client_with("grant")
    dashboard.select(client)
    dashboard.tabs.selected_index = 2
    table = dashboard.compare_table.value
    assert "clients les plus semblables" in dashboard.compare_intro.value
    for group in ("ayant remboursé", "en défaut", "similaires"):
        assert group in table
    assert "cs-compare-chart" in dashboard.compare_out.value
    assert not contains_code(table.replace("cs-", ""))


def test_what_if_and_counterfactual(
    dashboard: Dashboard, backend: Any, world: World, files: ClientFiles
) -> None:
    client = world.client_with("refuse")
    dashboard.select(client)
    dashboard.tabs.selected_index = 3
    assert f'data-score="{world.expected[client].risk_score:.4f}"' in dashboard.what_if_out.value
    assert dashboard.counterfactual is not None
    assert dashboard.counterfactual["message"] in dashboard.counterfactual_out.value.replace(
        "&#x27;", "'"
    )
    dashboard.credit_input.value = round(dashboard.credit_input.value / 2)
    assert dashboard.what_if is not None
    edited = edited_application(
        files.application(client),
        dashboard.credit_input.value,
        dashboard.term_input.value,
        dashboard.income_input.value,
    )
    expected = backend.score_application(client, edited)
    assert dashboard.what_if.risk_score == pytest.approx(expected.risk_score, abs=1e-9)
    assert f'data-score="{expected.risk_score:.4f}"' in dashboard.what_if_out.value
    dashboard.reset_button.click()
    assert f'data-score="{world.expected[client].risk_score:.4f}"' in dashboard.what_if_out.value


def test_recording_from_the_dashboard(dashboard: Dashboard, world: World) -> None:
    client = world.client_with("grant")
    dashboard.select(client)
    dashboard.refuse_button.click()  # no reason
    assert "obligatoire" in dashboard.decision_result.value
    dashboard.reason.value = "Revenus non justifiés"
    dashboard.refuse_button.click()
    assert 'data-override="true"' in dashboard.decision_result.value
    assert dashboard.reason.value == ""


def test_no_application_field_in_the_logs(
    dashboard: Dashboard, world: World, files: ClientFiles, caplog: pytest.LogCaptureFixture
) -> None:
    client = world.client_with("review")
    application = files.application(client)
    with caplog.at_level(logging.DEBUG):
        dashboard.select(client)
        dashboard.tabs.selected_index = 3
        dashboard.reason.value = "Apport confirmé"
        dashboard.grant_button.click()
    text = caplog.text
    for name in ("AMT_CREDIT", "AMT_INCOME_TOTAL", "AMT_ANNUITY"):
        assert f"{application[name]:.0f}" not in text and str(application[name]) not in text


# --------------------------------------------------------------------------- comparisons


def test_neighbours_are_the_nearest_on_scaled_features(phrasebook: Phrasebook) -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {
            "A": rng.normal(0, 1, 500),
            "B": rng.normal(0, 1000, 500),  # another scale: scaling must even them out
            "TARGET": rng.integers(0, 2, 500),
        }
    )
    reference.loc[3, ["A", "B"]] = [np.nan, 5.0]
    population = Population(reference, ["A", "B"], phrasebook, neighbours=10)
    row = reference.iloc[42]
    near = population.neighbours(row)
    assert near[0] == 42 and len(near) == 10
    scaled = population._scale(reference[["A", "B"]].to_numpy())
    distance = np.sqrt(((scaled - scaled[42]) ** 2).sum(axis=1))
    assert set(near) == set(np.argsort(distance, kind="stable")[:10])
    comparison = population.compare(row, "A")
    assert comparison.groups["Clients en défaut"].size == int(
        reference.loc[reference["TARGET"] == 1, "A"].notna().sum()
    )
    assert 0.0 <= comparison.percentile() <= 1.0
    rate = population.neighbour_default_rate(row)
    assert rate == pytest.approx(reference["TARGET"].to_numpy()[near].mean())


def test_global_importance_from_the_precomputed_batch(world: World, tmp_path: Path) -> None:
    importance = global_importance(tmp_path / "absent.csv", world.explanations)
    assert importance.sum() == pytest.approx(1.0)
    assert importance.is_monotonic_decreasing
    assert set(importance.index) == set(world.scorer.features)
    table = pd.DataFrame({"mean_abs_shap": [2.0, 6.0]}, index=pd.Index(["a", "b"], name="feature"))
    table.to_csv(tmp_path / "importance.csv")
    assert global_importance(tmp_path / "importance.csv", None).to_dict() == {"b": 0.75, "a": 0.25}
    assert global_importance(None, None).empty


def test_make_dashboard_serves_what_the_browser_tests_serve() -> None:
    from test_dashboard_browser import REPO, TEMPLATES, voila_command

    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndashboard:", 1)[1].split("\n.PHONY", 1)[0].replace("\\\n", " ")
    for flag in voila_command(8866)[2:]:
        assert flag in recipe, flag
    assert "--port=8866" in recipe and "--Voila.ip=127.0.0.1" in recipe
    assert f"JUPYTER_PATH=$(CURDIR)/{TEMPLATES.relative_to(REPO)}" in recipe
    assert (TEMPLATES / "voila" / "templates" / "credit-scoring" / "index.html.j2").is_file()
