"""The scorecard challenger's second reading, without the world of ``test_api``: reading
``scorecard.json`` and showing the reading in the dashboard."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from credit_scoring.api.service import (
    ScorecardAttribute,
    ScorecardReading,
    ScorecardUnavailableError,
    ServiceUnavailableError,
    read_scorecard,
)
from credit_scoring.dashboard.scorecard import ABSENT_NOTE, bin_text, scorecard_html
from credit_scoring.dashboard.style import band_style
from credit_scoring.explain.text import Phrasebook
from credit_scoring.modelling.scorecard import BinnedFeature, Scorecard

AGE = BinnedFeature(
    "AGE_YEARS",
    "numeric",
    splits=(30.0,),
    woe=(-0.5, 0.4, 0.0),
    count=(40, 60, 0),
    defaults=(6, 4, 0),
    iv=0.2,
    coefficient=-1.0,
)


@pytest.fixture(scope="module")
def phrasebook() -> Phrasebook:
    return Phrasebook.from_dictionary(
        pd.DataFrame(
            [
                {"name": "AGE_YEARS", "label_fr": "Âge du client", "unit": "années"},
                {"name": "EXT_SOURCE_3", "label_fr": "Score externe 3", "unit": ""},
                {"name": "NAME_INCOME_TYPE", "label_fr": "Source de revenus", "unit": ""},
            ]
        )
    )


def reading(total: float, base: float, points: dict[str, float]) -> ScorecardReading:
    """A hand-made reading (bins and values are those of a young salaried client)."""
    bins = {"AGE_YEARS": ("< 30", 25.0), "EXT_SOURCE_3": ("manquant", None)}
    bins["NAME_INCOME_TYPE"] = ("catégories : Working, Unemployed", "Working")
    attributes = tuple(
        ScorecardAttribute(name, f"label de {name.lower()}", *bins[name], points=p)
        for name, p in points.items()
    )
    score = min(max(total, 0.0), 100.0)
    decision = "grant" if score < 45 else "refuse" if score > 55 else "review"
    return ScorecardReading(7, total, score, decision, (45.0, 55.0), 0.1, 10.0, base, attributes)


def shown_points(section: str) -> list[str]:
    return re.findall(r'class="cs-scorecard-row"[^>]*>.*?<td[^>]*>([^<]*)</td></tr>', section)


# --------------------------------------------------------------------------- scorecard.json


def write_card(path: Path, **changes: object) -> Path:
    data = {
        "threshold": 0.2,
        "points_to_double_odds": 10.0,
        "scorecard": Scorecard((AGE,), intercept=-2.0).to_dict(),
    }
    path.write_text(json.dumps({**data, **changes}), encoding="utf-8")
    return path


def test_the_train_stages_file_is_read_back(tmp_path: Path) -> None:
    loaded = read_scorecard(write_card(tmp_path / "scorecard.json"))
    assert loaded.scorecard == Scorecard((AGE,), intercept=-2.0)
    assert (loaded.threshold, loaded.points_to_double_odds) == (0.2, 10.0)


def test_a_missing_file_names_itself_and_the_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(ScorecardUnavailableError, match=r"scorecard\.json.*dvc repro train"):
        read_scorecard(tmp_path / "scorecard.json")


@pytest.mark.parametrize(
    "changes",
    [{"threshold": 1.5}, {"points_to_double_odds": 0}, {"scorecard": {"format_version": 99}}],
)
def test_an_unreadable_file_is_unavailable_not_absent(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    path = write_card(tmp_path / "scorecard.json", **changes)
    with pytest.raises(ServiceUnavailableError, match=r"scorecard\.json cannot be read"):
        read_scorecard(path)


def test_broken_json_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "scorecard.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ServiceUnavailableError):
        read_scorecard(path)


# ------------------------------------------------------------------------ the dashboard's section


def test_rows_come_largest_impact_first_with_signed_points(phrasebook: Phrasebook) -> None:
    found = reading(52.0, 50.0, {"AGE_YEARS": 2.2, "EXT_SOURCE_3": -7.4, "NAME_INCOME_TYPE": 7.2})
    assert shown_points(scorecard_html(found, phrasebook)) == ["-7", "+7", "+2"]


def test_bins_are_shown_in_words(phrasebook: Phrasebook) -> None:
    found = reading(52.0, 50.0, {"AGE_YEARS": 2.0})
    section = html.unescape(scorecard_html(found, phrasebook))
    assert "<td>moins de 30 ans</td>" in section and "< 30" not in section


def test_a_category_in_a_group_is_the_clients_own_in_french(phrasebook: Phrasebook) -> None:
    text = bin_text("catégories : Working, Unemployed", "Working", "NAME_INCOME_TYPE", phrasebook)
    assert text.startswith("salarié") and "Unemployed" not in text


def test_a_category_the_scorecard_never_saw_says_so(phrasebook: Phrasebook) -> None:
    text = bin_text("manquant ou catégorie inconnue", "Student", "NAME_INCOME_TYPE", phrasebook)
    assert "ne distingue pas" in text
    assert bin_text("manquant ou catégorie inconnue", None, "NAME_INCOME_TYPE", phrasebook) == (
        "non renseigné"
    )


def test_the_total_and_what_the_scorecard_would_say(phrasebook: Phrasebook) -> None:
    found = reading(41.0, 43.0, {"AGE_YEARS": -2.0})
    section = html.unescape(scorecard_html(found, phrasebook))
    assert ">41 points<" in section and "Score de la grille : <b>41</b> / 100" in section
    assert f"{band_style('grant').icon} crédit accordé" in section
    assert "Elle ne décide pas" in section


def test_a_clipped_total_is_said(phrasebook: Phrasebook) -> None:
    found = reading(112.0, 100.0, {"AGE_YEARS": 12.0})
    section = html.unescape(scorecard_html(found, phrasebook))
    assert ">112 points<" in section and "<b>100</b> / 100 (le total est ramené" in section


def test_the_rounding_note_shows_only_when_the_rounded_points_miss_the_total(
    phrasebook: Phrasebook,
) -> None:
    exact = reading(52.0, 50.0, {"AGE_YEARS": 2.0})
    rounded = reading(51.0, 50.4, {"AGE_YEARS": 0.3, "EXT_SOURCE_3": 0.3})  # 50 + 0 + 0 != 51
    assert "Points arrondis" not in scorecard_html(exact, phrasebook)
    assert "Points arrondis" in scorecard_html(rounded, phrasebook)


def test_without_a_scorecard_only_a_short_note(phrasebook: Phrasebook) -> None:
    section = html.unescape(scorecard_html(None, phrasebook))
    assert ABSENT_NOTE in section and "<table" not in section


def test_a_label_that_is_a_code_is_replaced_by_the_phrasebooks(phrasebook: Phrasebook) -> None:
    attribute = ScorecardAttribute("AGE_YEARS", "AGE_YEARS", "< 30", 25.0, 2.0)
    found = ScorecardReading(7, 52.0, 52.0, "review", (45.0, 55.0), 0.1, 10.0, 50.0, (attribute,))
    section = scorecard_html(found, phrasebook)
    assert "AGE_YEARS" not in section and "Âge du client" in section
