"""The advisor dashboard's logic, on the small world of ``test_api``, with both backends: the
scoring API (through FastAPI's test client) and the in-process scoring service.

The browser tests (``test_dashboard_browser.py``) check the same behaviours on the page. In
API mode the dashboard reads nothing from the project's data folders: one test runs it in a
separate process whose project root is an empty folder, against a live API.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_api import CLIENT_ID, KEY, World, application_body, build_world, saved_scorecard

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from fastapi.testclient import TestClient

from credit_scoring.api import create_app
from credit_scoring.api.service import ScoringService
from credit_scoring.dashboard import (
    ApiBackend,
    Dashboard,
    DashboardError,
    LocalBackend,
    open_backend,
)
from credit_scoring.dashboard.app import (
    COMPARE,
    SHOWN_FIELDS,
    application_html,
    edited_application,
    euros,
    origin_note,
    term_months,
    what_if_changes,
)
from credit_scoring.dashboard.compare import global_importance
from credit_scoring.dashboard.scorecard import ABSENT_NOTE, TITLE, signed_points
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
    pytest.mark.filterwarnings("ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"),
    pytest.mark.filterwarnings("ignore:.*starlette.testclient.*"),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


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
    backend: Any, world: World, phrasebook: Phrasebook
) -> None:
    from credit_scoring.api.schemas import ClientApplicationOut

    client = world.client_with("review")
    application = backend.application(client)
    assert set(application) == set(SHOWN_FIELDS) | {"AMT_GOODS_PRICE"}
    assert set(ClientApplicationOut.model_fields) == {"client_id", *application}
    stored = world.applications.set_index(CLIENT_ID).loc[client]
    assert application["AMT_CREDIT"] == pytest.approx(stored["AMT_CREDIT"])
    shown = application_html(client, application, phrasebook)
    for name in SHOWN_FIELDS:
        assert phrasebook.label(name) in shown
    for hidden in ("CODE_GENDER", "NAME_FAMILY_STATUS", "DAYS_BIRTH", "CNT_CHILDREN"):
        assert phrasebook.label(hidden) not in shown
    assert not contains_code(shown.replace("cs-", ""))


def test_client_search(backend: Any, world: World) -> None:
    ids = sorted(int(i) for i in world.production.index)
    assert backend.client_count() == len(ids)
    assert backend.search(str(ids[0])) == [ids[0]]
    assert backend.search(f" {str(ids[0])[:3]} ", limit=1000) == [
        i for i in ids if str(i).startswith(str(ids[0])[:3])
    ]
    assert backend.search("") == ids[:50]
    assert backend.search("abc") == [] and backend.search("9" * 25) == []
    with pytest.raises(DashboardError, match="inconnu"):
        backend.application(1)


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


def test_the_stored_application_scores_like_the_client(backend: Any, world: World) -> None:
    client = world.client_with("refuse")
    row = world.applications.set_index(CLIENT_ID, drop=False).loc[client]
    result = backend.score_application(client, application_body(row)["application"])
    assert result.risk_score == pytest.approx(world.expected[client].risk_score, abs=1e-6)
    unchanged = backend.score_what_if(client, {})
    assert unchanged.risk_score == pytest.approx(world.expected[client].risk_score, abs=1e-6)


def test_a_what_if_is_the_stored_application_with_the_changes(backend: Any, world: World) -> None:
    client = world.client_with("review")
    row = world.applications.set_index(CLIENT_ID, drop=False).loc[client]
    changes = what_if_changes(float(row["AMT_CREDIT"]) / 2, 24, float(row["AMT_INCOME_TOTAL"]))
    whole = {**application_body(row)["application"], **changes}
    expected = backend.score_application(client, whole)
    assert backend.score_what_if(client, changes).risk_score == pytest.approx(
        expected.risk_score, abs=1e-9
    )
    with pytest.raises(DashboardError):
        backend.score_what_if(client, {"AMT_CREDIT": -5.0})


def test_reference_and_neighbours_are_aggregates(backend: Any, world: World) -> None:
    reference = backend.reference()
    assert 1 <= len(reference.key_features) <= 8 and reference.k == 30
    assert set(reference.distributions) == set(reference.key_features)
    for distribution in reference.distributions.values():
        assert set(distribution.groups) == {"all", "repaid", "defaulted"}
    found = backend.neighbours(world.client_with("grant"))
    assert found.k == 30 and 0.0 <= found.default_rate <= 1.0
    assert set(found.features) == set(reference.key_features)
    with pytest.raises(DashboardError, match="inconnu"):
        backend.neighbours(999_999)
    importance = backend.importance()
    assert importance.sum() == pytest.approx(1.0) and importance.is_monotonic_decreasing


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
def dashboard(backend: Any) -> Dashboard:
    board = Dashboard(backend, load_in_background=False)
    board.load()
    return board


def test_the_dashboard_loads_the_list_and_the_origin(dashboard: Dashboard, world: World) -> None:
    assert "jumeau de données" in dashboard.header.value
    labels = [label for label, _ in dashboard.picker.options]
    assert labels[0] == "Choisissez un client"
    assert len(labels) == 1 + min(50, len(world.production))
    assert not dashboard.search.disabled
    assert dashboard.reference is not None
    assert dashboard.compare_feature.value == dashboard.reference.key_features[0]
    assert f"{len(world.production)} clients dans le lot" in dashboard.status.value


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
    assert dashboard.comparison is not None
    features = dashboard.comparison.key_features
    dashboard.compare_feature.value = features[-1]
    assert "cs-compare-chart" in dashboard.compare_out.value


def test_what_if_and_counterfactual(dashboard: Dashboard, backend: Any, world: World) -> None:
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
    row = world.applications.set_index(CLIENT_ID, drop=False).loc[client]
    edited = edited_application(
        application_body(row)["application"],
        dashboard.credit_input.value,
        dashboard.term_input.value,
        dashboard.income_input.value,
    )
    expected = backend.score_application(client, edited)
    assert dashboard.what_if.risk_score == pytest.approx(expected.risk_score, abs=1e-9)
    assert f'data-score="{expected.risk_score:.4f}"' in dashboard.what_if_out.value
    dashboard.reset_button.click()
    assert f'data-score="{world.expected[client].risk_score:.4f}"' in dashboard.what_if_out.value


def test_an_unchanged_what_if_is_the_dossier(dashboard: Dashboard, world: World) -> None:
    client = world.client_with("review")
    dashboard.select(client)
    dashboard.tabs.selected_index = 3
    dashboard.term_input.value += 6
    dashboard.reset_button.click()
    stored = dashboard.application
    assert f"Échéance correspondante : {euros(float(stored['AMT_ANNUITY']))}" in (
        dashboard.what_if_out.value
    )
    assert dashboard.what_if is not None
    assert dashboard.what_if.risk_score == pytest.approx(world.expected[client].risk_score)


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
    dashboard: Dashboard, backend: Any, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    client = world.client_with("review")
    application = backend.application(client)
    with caplog.at_level(logging.DEBUG):
        dashboard.select(client)
        dashboard.tabs.selected_index = 3
        dashboard.reason.value = "Apport confirmé"
        dashboard.grant_button.click()
    text = caplog.text
    for name in ("AMT_CREDIT", "AMT_INCOME_TOTAL", "AMT_ANNUITY"):
        assert f"{application[name]:.0f}" not in text and str(application[name]) not in text


# --------------------------------------------------------------------------- second reading


@contextlib.contextmanager
def backend_over(kind: str, world: World, tmp: Path, **overrides: Any) -> Iterator[Any]:
    """A backend of ``kind`` over the world, with some settings changed."""
    settings = world.light_settings(tmp, **overrides)
    if kind == "local":
        local = LocalBackend(ScoringService(settings, scorer=world.scorer))
        try:
            yield local
        finally:
            local.close()
        return
    with TestClient(create_app(scorer=world.scorer, settings=settings)) as client:
        yield ApiBackend(api_key=KEY, client=client)


def test_the_scorecard_reading_adds_up_to_its_total(backend: Any, world: World) -> None:
    import math

    card, threshold, pdo = saved_scorecard(world)
    client = world.client_with("review")
    reading = backend.scorecard(client)
    assert reading is not None and reading.client_id == client
    log_odds = card.log_odds(world.production.loc[[client]])[0]
    expected = 50 + pdo / math.log(2) * (log_odds - math.log(threshold / (1 - threshold)))
    assert reading.total_points == pytest.approx(expected, abs=1e-6)
    parts = reading.base_points + sum(a.points for a in reading.attributes)
    assert parts == pytest.approx(reading.total_points, abs=1e-9)
    assert {a.feature for a in reading.attributes} == set(card.names)


def test_the_scorecard_reading_of_an_unknown_client_is_a_french_error(backend: Any) -> None:
    with pytest.raises(DashboardError, match="Client inconnu"):
        backend.scorecard(999_999)


@pytest.mark.parametrize("kind", ["local", "api"])
def test_without_a_scorecard_the_backend_answers_none(
    kind: str, world: World, tmp_path: Path
) -> None:
    with backend_over(kind, world, tmp_path, models_dir=tmp_path / "no-models") as found:
        assert found.scorecard(world.client_with("grant")) is None


def _shown_rows(section: str) -> list[tuple[str, str, str]]:
    """(label, bin, points) of each row of the scorecard section, as displayed."""
    rows = re.findall(
        r'<tr class="cs-scorecard-row"[^>]*><td>(.*?)</td><td>(.*?)</td><td[^>]*>(.*?)</td>',
        section,
    )
    return [(html.unescape(a), html.unescape(b), html.unescape(c)) for a, b, c in rows]


def test_the_why_tab_shows_the_scorecard_points_largest_first(
    dashboard: Dashboard, backend: Any, world: World
) -> None:
    client = world.client_with("refuse")
    dashboard.client_view.value = False
    dashboard.tabs.selected_index = 0
    dashboard.select(client)
    reading = backend.scorecard(client)
    section = dashboard.scorecard_out.value
    assert TITLE in html.unescape(section) and "Elle ne décide pas" in section
    ordered = sorted(reading.attributes, key=lambda a: -abs(a.points))
    assert [points for _, _, points in _shown_rows(section)] == [
        signed_points(a.points) for a in ordered
    ]
    assert [label for label, _, _ in _shown_rows(section)] == [a.label for a in ordered]
    assert f'data-points="{reading.total_points:.4f}"' in section
    assert f'data-scorecard-decision="{reading.decision}"' in section
    assert "cs-waterfall" in dashboard.why.value  # beside the reasons, not instead


def test_the_scorecard_section_is_readable_in_client_view(
    dashboard: Dashboard, world: World
) -> None:
    client = world.client_with("grant")
    dashboard.tabs.selected_index = 0
    dashboard.select(client)
    dashboard.client_view.value = True
    try:
        section = dashboard.scorecard_out.value
        text = html.unescape(re.sub(r"<[^>]+>", " ", section))
        assert "cs-scorecard-table" in section
        assert not contains_code(text)
        assert str(client) not in section  # no identifier beyond the view's own
        for _, shown_bin, _ in _shown_rows(section):
            assert "[" not in shown_bin and "manquant" not in shown_bin  # in words
    finally:
        dashboard.client_view.value = False


@pytest.mark.parametrize("kind", ["local", "api"])
def test_without_a_scorecard_the_section_is_a_short_note(
    kind: str, world: World, tmp_path: Path
) -> None:
    with backend_over(kind, world, tmp_path, models_dir=tmp_path / "no-models") as found:
        board = Dashboard(found, load_in_background=False)
        board.load()
        board.select(world.client_with("grant"))
    section = html.unescape(board.scorecard_out.value)
    assert ABSENT_NOTE in section and "cs-scorecard-table" not in section
    assert "cs-error" not in section and "cs-error" not in board.status.value
    assert "cs-waterfall" in board.why.value


@pytest.mark.parametrize("kind", ["local", "api"])
def test_without_the_reference_population_the_advisor_still_decides(
    kind: str, world: World, tmp_path: Path
) -> None:
    features = tmp_path / "features"  # the production batch, no training table
    features.mkdir()
    shutil.copy(world.features_dir / "production.parquet", features)
    with backend_over(kind, world, tmp_path, features_dir=features) as found:
        board = Dashboard(found, load_in_background=False)
        board.load()
        assert "cs-ready" in board.status.value  # the list is usable
        board.select(world.client_with("review"))
        assert "cs-waterfall" in board.why.value
        board.tabs.selected_index = COMPARE
    shown = html.unescape(board.status.value)
    assert "cs-error" in shown and "La comparaison n'est pas disponible" in shown
    assert "parquet" not in shown  # the file's path is for the support, in the log


def test_a_failing_scorecard_reading_leaves_the_reasons(
    dashboard: Dashboard, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(client_id: int) -> None:
        raise DashboardError("L'API de score est indisponible (code 503).")

    monkeypatch.setattr(dashboard.backend, "scorecard", unavailable)
    dashboard.tabs.selected_index = 0
    dashboard.select(world.client_with("review"))
    assert "cs-error" in dashboard.scorecard_out.value
    assert "code 503" in dashboard.scorecard_out.value
    assert "cs-waterfall" in dashboard.why.value
    assert dashboard.status.value == ""  # the rest of the page is not in error


# --------------------------------------------------------------------------- comparisons


def test_the_comparison_is_drawn_from_aggregates(phrasebook: Phrasebook) -> None:
    from credit_scoring.api.population import Population
    from credit_scoring.dashboard.compare import GROUPS, Comparison, Reference, figure_png

    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {
            "AMT_CREDIT": rng.lognormal(12, 0.5, 400),
            "AGE_YEARS": rng.uniform(20, 70, 400),
            "TARGET": rng.integers(0, 2, 400),
        }
    )
    population = Population(reference, ["AMT_CREDIT", "AGE_YEARS"], neighbours=30)
    keys = population.key_features
    ref = Reference(keys, population.k, {f: population.distribution(f) for f in keys})
    row = pd.Series({"AMT_CREDIT": 2e5, "AGE_YEARS": np.nan})
    comparison = Comparison(ref, population.neighbours(row), phrasebook)
    table = comparison.summary()
    assert list(table["Caractéristique"]) == [phrasebook.label(f) for f in keys]
    credit = table.iloc[0]
    rank = float(np.mean(reference["AMT_CREDIT"] < 2e5))
    assert credit["Rang parmi tous"].startswith("au-dessus de")
    assert str(round(rank * 100)) in credit["Rang parmi tous"]
    assert table.iloc[1]["Rang parmi tous"] == "—"  # the client's age is missing
    median = phrasebook.value_text(
        "AMT_CREDIT", float(reference.loc[reference["TARGET"] == 1, "AMT_CREDIT"].median())
    )
    assert credit[f"Médiane : {GROUPS[2].lower()}"] == median
    for feature in keys:
        png = figure_png(comparison.plot(feature))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_fit_their_own_size(world: World, phrasebook: Phrasebook) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from credit_scoring.explain import Explainer
    from credit_scoring.explain.local import waterfall

    [explanation] = Explainer.from_scorer(world.scorer).explain(world.production.head(1))
    fig = waterfall(explanation, phrasebook, max_display=10)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    ax = fig.axes[0]
    for artist in [ax.xaxis.label, ax.title, *ax.get_yticklabels()]:
        extent = artist.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, artist
        assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1, artist
    import matplotlib.pyplot as plt

    plt.close(fig)


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
    assert f'JUPYTER_PATH="$(CURDIR)/{TEMPLATES.relative_to(REPO)}"' in recipe
    assert (TEMPLATES / "voila" / "templates" / "credit-scoring" / "index.html.j2").is_file()


# --------------------------------------------------------------------------- API mode, no data

#: The dashboard in a process of its own, with the scoring API's URL and a project root that is
#: an empty folder; every reader of parquet or CSV files fails in that process.
_REMOTE_DASHBOARD = """
import json, sys
import pandas as pd
import pyarrow.parquet as pq

def forbidden(*args, **kwargs):
    raise AssertionError(f"the dashboard read a data file: {args[:1]}")

pd.read_parquet = pd.read_csv = pq.read_table = pq.read_schema = pq.ParquetFile = forbidden

from credit_scoring.dashboard import ApiBackend, Dashboard

board = Dashboard(load_in_background=False)
board.load()
assert isinstance(board.backend, ApiBackend)
client = int(sys.argv[1])
board.search.value = str(client)
assert board.client_id == client, board.status.value
for tab in (0, 1, 2, 3):
    board.tabs.selected_index = tab
before = board.what_if_out.value
board.credit_input.value = round(board.credit_input.value / 2)
board.reason.value = "Apport personnel confirmé"
board.grant_button.click()
print(json.dumps({
    "status": board.status.value,
    "header": board.header.value,
    "card": board.score_card.value,
    "details": board.details.value,
    "why": board.why.value,
    "importance": board.importance_out.value,
    "compare": board.compare_intro.value + board.compare_table.value + board.compare_out.value,
    "what_if": board.what_if.risk_score if board.what_if else None,
    "counterfactual": board.counterfactual_out.value,
    "decision": board.decision_result.value,
}))
"""


def test_api_mode_reads_nothing_from_the_data_folders(world: World, tmp_path: Path) -> None:
    import threading
    import time

    import uvicorn
    from test_api import _free_socket

    app = create_app(scorer=world.scorer, settings=world.settings(tmp_path))
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    empty = tmp_path / "empty-project"
    empty.mkdir()
    client = world.client_with("review")
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        env = {
            **os.environ,
            "CREDIT_SCORING_ROOT": str(empty),
            "CREDIT_SCORING_API_URL": f"http://127.0.0.1:{port}",
            "CREDIT_SCORING_API_KEY": KEY,
            "MPLBACKEND": "Agg",
        }
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(_REMOTE_DASHBOARD), str(client)],
            env=env,
            cwd=empty,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert "cs-error" not in shown["status"], shown["status"]
    assert "jumeau de données" in shown["header"]
    assert f'data-score="{world.expected[client].risk_score:.4f}"' in shown["card"]
    assert str(client) in shown["details"]
    assert "cs-waterfall" in shown["why"] and "cs-chart" in shown["importance"]
    assert "clients les plus semblables" in shown["compare"]
    assert "cs-compare-chart" in shown["compare"]
    assert shown["what_if"] is not None and "cs-counterfactual-message" in shown["counterfactual"]
    assert "cs-recorded" in shown["decision"]
    assert list(empty.iterdir()) == []  # nothing read there, nothing written either
