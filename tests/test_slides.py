"""The defense deck: its inputs and its visual check (fast unit tests), then the deck that
`dvc repro` writes from a small pipeline run (the session fixture ``pipeline_run``)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from credit_scoring import slides
from credit_scoring.labels import interval, number, percent

NO_LIBREOFFICE = (
    "LibreOffice or poppler is absent, so the deck's visual check cannot run: "
    "apt-get install -y libreoffice-impress fonts-liberation poppler-utils (.ci/run does it)"
)
needs_libreoffice = pytest.mark.skipif(
    slides.soffice() is None or shutil.which("pdftotext") is None, reason=NO_LIBREOFFICE
)
SETTINGS = {
    "company": "Prêt à dépenser",
    "title": "Titre",
    "subtitle": "Sous-titre",
    "footer": "pied",
}


def _settings(root: Path) -> dict:
    return yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["slides"]


def _inputs(root: Path) -> slides.DeckInputs:
    """The deck's inputs, read from the outputs of the pipeline copy ``root``."""
    return slides.load_inputs(
        _settings(root),
        reports_dir=root / "data" / "reports",
        models_dir=root / "data" / "models",
        metrics_dir=root / "data" / "metrics",
        interim_dir=root / "data" / "interim",
        params_file=root / "params.yaml",
        dashboard_dir=root / "images" / "dashboard",
        dvc_file=root / "dvc.yaml",
    )


def _one_slide_deck(tmp_path: Path, bullets: list[str]) -> Path:
    deck = tmp_path / "deck.pptx"
    prs = slides.build_presentation(
        [slides.Slide("Titre", ["Sous-titre", "Prêt à dépenser", "x"], results=False),
         slides.Slide("Une diapositive", bullets)],
        SETTINGS,
        "Données : jumeau",
    )  # fmt: skip
    buffer = io.BytesIO()
    prs.save(buffer)
    deck.write_bytes(slides.normalise_pptx(buffer.getvalue()))
    return deck


# --------------------------------------------------------------------------- unit


@needs_libreoffice
def test_visual_check_finds_a_text_too_long_for_its_box(tmp_path):
    deck = _one_slide_deck(tmp_path, ["Une phrase beaucoup trop longue pour sa boîte. " * 60])
    overflow = slides.check_overflow(deck)
    assert overflow
    assert {word.page for word in overflow} == {2}


@needs_libreoffice
def test_visual_check_passes_a_text_that_fits(tmp_path):
    deck = _one_slide_deck(tmp_path, ["Une phrase courte.", "Une autre."])
    assert slides.check_overflow(deck) == []


def test_every_zip_entry_of_the_deck_has_a_fixed_time(tmp_path):
    deck = _one_slide_deck(tmp_path, ["Texte."])
    times = {info.date_time for info in zipfile.ZipFile(deck).infolist()}
    assert times == {slides.ZIP_TIME}


def test_the_deck_carries_no_clock_time(tmp_path):
    deck = _one_slide_deck(tmp_path, ["Texte."])
    core = zipfile.ZipFile(deck).read("docProps/core.xml").decode()
    assert "2020-01-01T00:00:00Z" in core
    assert "python-pptx" not in core


def test_a_missing_output_is_named_and_nothing_is_written(tmp_path):
    out = tmp_path / "soutenance.pptx"
    with pytest.raises(slides.DeckInputError, match=r"summary\.json: missing"):
        slides.build_deck(
            {"client": "review", "screenshots": []},
            out,
            reports_dir=tmp_path,
            models_dir=tmp_path,
            metrics_dir=tmp_path,
            interim_dir=tmp_path,
            params_file=tmp_path / "params.yaml",
        )
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(slides.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        slides.write_atomic(tmp_path / "soutenance.pptx", b"zip")
    assert list(tmp_path.iterdir()) == []


def test_numbers_are_read_the_french_way():
    text = "AUC 0,795 ; IC 95 % [0,775 ; 0,815] ; 30\u202f000 clients ; GET /v1/model"
    assert slides.numbers_in(text) == ["0,795", "95", "0,775", "0,815", "30\u202f000"]


def test_the_site_stage_puts_the_deck_beside_the_pages(tmp_path):
    from credit_scoring import site

    assert site.copy_deck(tmp_path / "absent.pptx", tmp_path) is None
    deck = _one_slide_deck(tmp_path, ["Texte."])
    project = tmp_path / "project"
    project.mkdir()
    copy = site.copy_deck(deck, project)
    assert copy == project / "deck.pptx"
    assert copy.read_bytes() == deck.read_bytes()


# --------------------------------------------------------------------------- pipeline run


@pytest.fixture(scope="module")
def deck(pipeline_run) -> list[dict]:
    return slides.deck_texts(pipeline_run / "data" / "reports" / "soutenance.pptx")


def _all_text(deck: list[dict]) -> str:
    return "\n".join("\n".join(text for _, text in s["shapes"]) + "\n" + s["notes"] for s in deck)


def test_repro_writes_the_deck_and_the_site_links_to_it(pipeline_run):
    deck = pipeline_run / "data" / "reports" / "soutenance.pptx"
    published = pipeline_run / "site" / "soutenance.pptx"
    assert published.read_bytes() == deck.read_bytes()
    assert 'href="soutenance.pptx"' in (pipeline_run / "site" / "index.html").read_text("utf-8")


def test_deck_opens_and_has_at_most_30_slides(deck):
    assert 10 <= len(deck) <= 30


def test_every_slide_has_a_title_and_speaker_notes(deck):
    for index, slide in enumerate(deck, 1):
        names = dict(slide["shapes"])
        assert names.get("titre"), index
        assert len(slide["notes"]) > 80, index


def test_every_number_on_the_deck_comes_from_the_pipeline(pipeline_run, deck):
    allowed = slides.allowed_numbers(_inputs(pipeline_run))
    stated = {
        n
        for s in deck
        for name, text in s["shapes"]
        if name != "page"  # the page numbers
        for n in slides.numbers_in(text)
    } | {n for s in deck for n in slides.numbers_in(s["notes"])}
    assert stated - allowed == set()


def test_headline_numbers_equal_the_metrics(pipeline_run, deck):
    root = pipeline_run / "data" / "metrics"
    train = json.loads((root / "train.json").read_text(encoding="utf-8"))
    drift = json.loads((root / "drift.json").read_text(encoding="utf-8"))
    features = json.loads((root / "features.json").read_text(encoding="utf-8"))
    text = _all_text(deck)
    french = slides.french_spacing  # the deck keeps ; and % on the line of their number
    assert f"{number(train['test_auc'], 3)}, IC 95\u00a0% " in text
    assert french(interval([train["test_auc_low"], train["test_auc_high"]])) in text
    assert french(interval([train["test_cost_low"], train["test_cost_high"]])) in text
    assert number(train["test_cost_per_client"], 3) in text
    assert f"probabilité {number(train['threshold'], 3)}" in text
    assert percent(train["test_recall"], 1) in text
    assert f"{drift['drifted_columns']} variables en dérive sur {drift['columns']}" in text
    assert f"{number(features['features'])} variables calculées" in text


def test_every_picture_comes_from_the_pipeline(pipeline_run, deck):
    inputs = _inputs(pipeline_run)
    produced = {png for png, _ in inputs.figures.values()}
    produced |= {png for png, _ in inputs.screenshots.values()}
    pictures = [png for s in deck for png in s["pictures"]]
    assert len(pictures) >= 8
    assert all(png in produced for png in pictures)
    assert {png for png, _ in inputs.screenshots.values()} <= set(pictures)


def test_every_results_slide_states_the_data_origin(pipeline_run, deck):
    data = json.loads((pipeline_run / "data/metrics/data.json").read_text(encoding="utf-8"))
    assert data["origin"] == "twin"
    for index, slide in enumerate(deck, 1):
        if slide["pictures"]:
            assert "jumeau de données" in dict(slide["shapes"]).get("origine", ""), index
    assert "jumeau" in dict(deck[0]["shapes"])["origine"]


def test_deck_built_twice_is_the_same_bytes(pipeline_run):
    inputs = _inputs(pipeline_run)
    first = slides.deck_bytes(inputs, _settings(pipeline_run))
    second = slides.deck_bytes(_inputs(pipeline_run), _settings(pipeline_run))
    assert first == second
    # and the same as the stage's, built in another process from another working directory
    assert first == (pipeline_run / "data" / "reports" / "soutenance.pptx").read_bytes()


def test_a_missing_key_is_named_with_its_file(pipeline_run, tmp_path):
    root = tmp_path / "copy"
    for folder in ("data/reports", "data/models", "data/metrics", "data/interim"):
        (root / folder).mkdir(parents=True)
    for name in ("data/models/summary.json", "data/metrics/features.json",
                 "data/interim/summary.json", "params.yaml", "dvc.yaml"):  # fmt: skip
        shutil.copy(pipeline_run / name, root / name)
    shutil.copytree(pipeline_run / "data/reports/explain", root / "data/reports/explain",
                    ignore=shutil.ignore_patterns("*.parquet", "figures"))  # fmt: skip
    shutil.copytree(pipeline_run / "images", root / "images")
    drift = json.loads((pipeline_run / "data/reports/drift.json").read_text(encoding="utf-8"))
    del drift["drifted_columns"]
    (root / "data/reports/drift.json").write_text(json.dumps(drift), encoding="utf-8")
    with pytest.raises(slides.DeckInputError, match=r"drift\.json: no key 'drifted_columns'"):
        _inputs(root)


@needs_libreoffice
def test_no_text_overflows_its_box(pipeline_run):
    overflow = slides.check_overflow(pipeline_run / "data" / "reports" / "soutenance.pptx")
    assert overflow == [], [(w.page, w.text) for w in overflow]
