"""The ``slides`` stage: the defense deck, ``soutenance.pptx``, written from the pipeline's outputs.

No number on a slide is typed by hand: the deck quotes the strings the site quotes
(:func:`credit_scoring.site.site_variables`, formatted the French way from the stages'
summaries and ``params.yaml``). Its figures are the labelled figures of the executed reports
(:func:`credit_scoring.site.notebook_outputs`), and its dashboard pictures are the screenshots
of ``images/dashboard/``.

The deck is a zip whose bytes are the same at every run: fixed zip timestamps and file modes,
fixed document properties, no path, clock time or duration inside (:func:`normalise_pptx`).

DVC forbids overlapping outputs and ``site/`` belongs to the ``site`` stage, so this stage
writes ``data/reports/soutenance.pptx`` and the ``site`` stage copies it to
``site/soutenance.pptx``.

:func:`render_pdf`, :func:`render_pngs` and :func:`overflowing_words` are the visual check:
LibreOffice renders the deck, poppler gives each word's box, and a word outside every text
box of its slide is text that overflows.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from credit_scoring import paths
from credit_scoring.labels import number, percent

#: Where the stage writes the deck (a file of its own: ``site/`` is the site stage's output).
DECK_FILE = paths.REPORTS_DIR / "soutenance.pptx"
#: Where ``make slides-preview`` writes one PNG per slide.
PREVIEW_DIR = paths.ROOT / "images" / "slides"
#: The executed reports whose labelled figures the deck shows.
REPORTS = ("eda", "features", "train", "explain", "drift")

# 16:9, in EMU (914,400 a inch).
EMU_PER_INCH = 914_400
SLIDE_WIDTH = int(13.333 * EMU_PER_INCH)
SLIDE_HEIGHT = int(7.5 * EMU_PER_INCH)
#: Fonts Debian has (fonts-liberation; Liberation Sans has Arial's metrics), so that the
#: LibreOffice rendering of the visual check is the one a reader sees.
FONT = "Liberation Sans"
MONO = "Liberation Mono"
NAVY = "1F3A5F"
ORANGE = "C8611A"
GREY = "5A6270"
TWIN_BANNER = "FCE8CF"
REAL_BANNER = "DDEFE0"
#: Numbers the deck states that are design choices, not results: the 0-100 risk scale, the
#: threshold at 50 on it, the 95 % intervals and the naive threshold 0.5 the cost beats.
DESIGN_NUMBERS = frozenset({"0", "50", "100", "95", "0,5"})
#: Fixed document properties: a deck that says when it was built differs at every run.
FIXED_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_SLIDES = 30


class DeckInputError(ValueError):
    """A pipeline output the deck needs is missing or lacks a key; the message names both."""


# --------------------------------------------------------------------------- inputs


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DeckInputError(f"{paths.relative(path)}: missing (run the pipeline first)")
    return json.loads(path.read_text(encoding="utf-8"))


def _get(mapping: Mapping[str, Any], path: Path, *keys: str) -> Any:
    """``mapping[k1][k2]...``, or an error naming the file and the key.

    Examples
    --------
    >>> _get({"a": {"b": 1}}, Path("/out/x.json"), "a", "b")
    1
    >>> _get({"a": {}}, Path("/out/x.json"), "a", "b")
    Traceback (most recent call last):
    ...
    credit_scoring.slides.DeckInputError: /out/x.json: no key 'a.b'
    """
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            raise DeckInputError(f"{paths.relative(path)}: no key {'.'.join(keys)!r}")
        value = value[key]
    return value


@dataclass
class DeckInputs:
    """Everything the deck shows, read from the pipeline's outputs.

    Attributes
    ----------
    variables
        The site's display strings (:func:`credit_scoring.site.site_variables`).
    figures
        Labelled figures of the executed reports, ``"report/fig-label"`` -> (PNG, caption).
    client
        The example client whose reasons the deck reads aloud (``examples.json``).
    screenshots
        Dashboard screenshots, file name -> (PNG, caption).
    stages
        The pipeline's stages, in ``dvc.yaml`` order.
    """

    variables: dict[str, Any]
    figures: dict[str, tuple[bytes, str]]
    client: dict[str, Any]
    screenshots: dict[str, tuple[bytes, str]]
    stages: list[str] = field(default_factory=list)


REQUIRED = {
    "data": ("origin", "origin_note", "train_rows", "test_rows", "total_rows", "tables"),
    "train": ("test_auc", "test_auc_ci", "test_cost", "test_cost_ci", "threshold"),
    "explain": ("top3", "top3_share", "share_grant", "share_review", "share_refuse"),
    "drift": ("columns", "drifted_columns", "drifted_share", "alert_share"),
    "features": ("count", "from_history"),
    "params": ("cost_fn", "cost_fp", "review_low", "review_high"),
}


def _missing_key(sources: Mapping[str, Path], key: object) -> str:
    """Which stage summary lacks ``key``: the site's functions run again, one file at a time."""
    import yaml

    from credit_scoring import site

    checks = {
        "data": lambda m: site.data_variables(m, None),
        "train": site.train_variables,
        "explain": site.explain_variables,
        "drift": site.drift_variables,
        "features": lambda m: (m["features"], m["history_features"]),
        "params": lambda m: site.params_variables(m),
    }
    for section, check in checks.items():
        path = sources[section]
        text = path.read_text(encoding="utf-8")
        content = yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)
        try:
            check(content or {})
        except KeyError as error:
            return f"{paths.relative(path)}: no key {error.args[0]!r}"
    return f"a stage summary lacks the key {key!r}"


def load_inputs(
    settings: Mapping[str, Any],
    *,
    reports_dir: Path = paths.REPORTS_DIR,
    models_dir: Path = paths.MODELS_DIR,
    metrics_dir: Path = paths.METRICS_DIR,
    interim_dir: Path = paths.INTERIM_DIR,
    params_file: Path = paths.PARAMS_FILE,
    dashboard_dir: Path | None = None,
    dvc_file: Path = paths.ROOT / "dvc.yaml",
) -> DeckInputs:
    """Read the deck's inputs; a missing file or key raises :class:`DeckInputError`."""
    from credit_scoring import site

    dashboard_dir = dashboard_dir or site.DASHBOARD_DIR
    sources = {
        "data": Path(interim_dir) / "summary.json",
        "train": Path(models_dir) / "summary.json",
        "explain": Path(reports_dir) / "explain" / "summary.json",
        "drift": Path(reports_dir) / "drift.json",
        "features": Path(metrics_dir) / "features.json",
        "params": Path(params_file),
    }
    for path in sources.values():
        if not path.is_file():
            raise DeckInputError(f"{paths.relative(path)}: missing (run the pipeline first)")
    try:
        variables = site.site_variables(
            metrics_dir=metrics_dir,
            params_file=params_file,
            models_dir=models_dir,
            interim_dir=interim_dir,
            reports_dir=reports_dir,
        )
    except KeyError as error:
        raise DeckInputError(_missing_key(sources, error.args[0])) from None
    for section, keys in REQUIRED.items():
        for key in keys:
            _get(variables, sources[section], section, key)
    figures: dict[str, tuple[bytes, str]] = {}
    for report in REPORTS:
        notebook = _load_json(Path(reports_dir) / f"{report}.ipynb")
        for label, output in site.notebook_outputs(notebook).items():
            if output.kind == "figure":
                figures[f"{report}/{label}"] = (bytes(output.content), output.caption)  # type: ignore[arg-type]
    examples_file = Path(reports_dir) / "explain" / "examples.json"
    examples = _load_json(examples_file)
    kind = settings["client"]
    client = _get(examples, examples_file, kind, "score")
    for key in ("client_id", "probability_default", "risk_score", "decision", "reasons"):
        _get(examples, examples_file, kind, "score", key)
    captions = site.dashboard_captions(Path(dashboard_dir) / "README.md")
    screenshots = {}
    for name in settings["screenshots"]:
        picture = Path(dashboard_dir) / name
        if not picture.is_file():
            raise DeckInputError(f"{paths.relative(picture)}: missing (params.yaml slides)")
        screenshots[name] = (picture.read_bytes(), captions.get(name, ""))
    stages: list[str] = []
    if Path(dvc_file).is_file():
        import yaml

        stages = list(
            (yaml.safe_load(Path(dvc_file).read_text(encoding="utf-8")) or {}).get("stages", {})
        )
    return DeckInputs(variables, figures, dict(client), screenshots, stages)


# --------------------------------------------------------------------------- content


@dataclass
class Slide:
    """One slide: a title, bullets beside at most two pictures, and speaker notes.

    Attributes
    ----------
    title
        The slide's title.
    bullets
        Short paragraphs, left column (full width without picture).
    pictures
        (PNG bytes, caption) pairs, right column.
    notes
        What the presenter says.
    results
        True when the slide shows results: it carries the data-origin banner.
    code
        Monospaced lines under the bullets (the API's routes).
    """

    title: str
    bullets: list[str]
    pictures: list[tuple[bytes, str]] = field(default_factory=list)
    notes: str = ""
    results: bool = True
    code: list[str] = field(default_factory=list)


def _figure(inputs: DeckInputs, key: str) -> list[tuple[bytes, str]]:
    """The figure ``report/fig-label`` when this run produced it (a small run may skip one)."""
    return [inputs.figures[key]] if key in inputs.figures else []


def origin_banner(data: Mapping[str, Any]) -> str:
    """The banner of every results slide: which data the numbers come from.

    Examples
    --------
    >>> origin_banner({"is_twin": "oui", "origin": "jumeau de données (synthétique)"})
    'Données : jumeau de données (synthétique) — clients synthétiques, aucun client réel'
    >>> origin_banner({"is_twin": "non", "origin": "fichiers Kaggle réels"})
    'Données : fichiers Kaggle réels « Home Credit Default Risk »'
    """
    if data.get("is_twin") == "oui":
        return f"Données : {data['origin']} — clients synthétiques, aucun client réel"
    return f"Données : {data['origin']} « Home Credit Default Risk »"


def deck_content(inputs: DeckInputs, settings: Mapping[str, Any]) -> list[Slide]:
    """The slides, in French, every number from ``inputs.variables``."""
    v = inputs.variables
    d, t, e, r, f, p = (v[k] for k in ("data", "train", "explain", "drift", "features", "params"))
    twin = d.get("is_twin") == "oui"
    company = settings["company"]
    c = inputs.client
    decision = {"grant": "accord", "review": "étude par le conseiller", "refuse": "refus"}
    reasons = [reason["sentence"] for reason in c["reasons"]][: settings["reasons"]]
    slides = [
        Slide(
            settings["title"],
            [settings["subtitle"], company, origin_banner(d)],
            notes=(
                f"Bonjour. Je présente le modèle de scoring crédit de {company} : comment il "
                "estime le risque de défaut de clients peu connus des banques, comment on "
                "l'évalue, comment on l'explique et comment on le surveille. Tous les chiffres "
                "de ce support sont produits par le pipeline ; aucun n'est saisi à la main."
            ),
            results=False,
        ),
        Slide(
            "Le contexte et les trois publics",
            [
                f"{company} prête à des personnes qui ont peu ou pas d'historique de crédit.",
                "Pour chaque demande : une probabilité de défaut, un score de risque de 0 à 100 "
                "(seuil à 50) et les raisons du score, en français.",
                "Conseillers : le tableau de bord, souvent avec le client à côté.",
                "Relecteurs (risque, conformité, direction) : le site méthodologique et ce "
                "support.",
                "Équipes techniques : le pipeline DVC, MLflow et l'API de score.",
            ],
            notes=(
                "Le besoin : décider vite et de façon justifiable pour des clients sans "
                "historique bancaire. Trois publics utilisent le travail. Les conseillers, qui "
                "ont besoin d'un score lisible et de raisons à expliquer au client. Les "
                "relecteurs du risque et de la conformité, qui veulent comprendre et contrôler "
                "la méthode. Et les équipes techniques, qui refont les calculs et intègrent "
                "l'API dans les systèmes de la banque."
            ),
            results=False,
        ),
        Slide(
            "Les données",
            [
                d["origin_note"].replace("**", "").replace("de ce site", "de ce support"),
                f"{d['tables']} tables Kaggle « Home Credit Default Risk », "
                f"{d['total_rows']} lignes lues.",
                f"{d['train_rows']} demandes d'entraînement (issue connue), {d['test_rows']} "
                "demandes de production (issue inconnue).",
                f"Taux de défaut observé : {d['default_rate']}.",
            ],
            _figure(inputs, "eda/fig-target"),
            notes=(
                (
                    "Les fichiers réels ne peuvent pas être téléchargés sur nos machines. Le "
                    "pipeline utilise donc un jumeau de données : des clients synthétiques qui "
                    "reproduisent les tables, les colonnes et les distributions de Kaggle. Les "
                    "résultats présentés ne valent que pour ce jumeau ; avec les fichiers réels "
                    "déposés dans data/raw, le même pipeline produit le même support sur les "
                    "vraies données. "
                    if twin
                    else "Les chiffres sont calculés sur les fichiers Kaggle réels. "
                )
                + f"Le point clé : les défauts sont rares, {d['default_rate']} des demandes, "
                "ce qui oriente toute la suite."
            ),
        ),
        Slide(
            "Les variables",
            [
                f"{f['count']} variables calculées par demande, dont {f['from_history']} "
                "tirées de l'historique (bureau de crédit, demandes précédentes, échéances, "
                "cartes).",
                "Un seul code pour l'entraînement et le service : l'API calcule les variables "
                "comme le pipeline.",
                f"Attribut sensible exclu du modèle : {p['excluded'].replace('`', '')}.",
            ],
            _figure(inputs, "features/fig-top-features"),
            notes=(
                "Les variables viennent des sept sources de chaque client : la demande, le "
                "bureau de crédit, les demandes précédentes et leurs remboursements. Ce sont "
                "des ratios et des agrégats lisibles, par exemple le crédit rapporté au prix du "
                "bien. La figure montre les plus prédictives prises seules. Le genre est exclu "
                "du modèle ; il ne sert qu'à l'audit d'équité."
            ),
        ),
        Slide(
            "Modèles et déséquilibre des classes",
            [
                f"{p['models_count']} modèles × {p['strategies_count']} traitements du "
                f"déséquilibre, en validation croisée à {p['compare_folds']} plis.",
                f"Critère de choix : {p['select_by']}, pli à pli.",
                f"Retenu : un mélange de {t['champion']}, calibré ({t['calibration']}).",
                f"AUC hors échantillon du mélange : {t['blend_oof_auc']}.",
            ],
            _figure(inputs, "train/fig-comparison"),
            notes=(
                f"Nous avons comparé {p['models']}, chacun avec {p['strategies']}. La "
                "comparaison se fait sur le coût métier, en validation croisée, jamais sur le "
                f"jeu de test. Les hyperparamètres ont été réglés en {p['tune_trials']} essais. "
                "Le modèle retenu mélange deux modèles de boosting, puis sa probabilité est "
                "calibrée."
            ),
        ),
        Slide(
            "Le coût métier et le seuil",
            [
                f"Coût = {p['cost_fn']} × défauts manqués + {p['cost_fp']} × bons clients refusés.",
                f"Seuil de refus choisi hors échantillon : probabilité {t['threshold']} "
                f"(théorique : {t['theoretical_threshold']}).",
                f"Coût par client sur le test : {t['test_cost']}, contre "
                f"{t['test_cost_accept_all']} en accordant tout et {t['test_cost_half']} au "
                "seuil 0,5.",
                f"Zone orange (scores {p['review_low']} à {p['review_high']}) : "
                f"{t['band_share']} des demandes vont au conseiller.",
            ],
            _figure(inputs, "train/fig-cost-curve"),
            notes=(
                f"Un défaut manqué coûte {p['cost_fn']} fois plus qu'un bon client refusé. Le "
                "seuil n'est donc pas 0,5 : il est choisi pour minimiser ce coût sur des "
                f"prédictions hors échantillon, à {t['threshold']}. Le modèle économise "
                f"{t['saving_accept_all']} du coût par rapport à tout accorder. Entre les scores "
                f"{p['review_low']} et {p['review_high']}, le conseiller décide."
            ),
        ),
        Slide(
            "Les résultats, avec leurs intervalles",
            [
                f"AUC ROC sur le jeu de test : {t['test_auc']}, IC 95 % {t['test_auc_ci']}.",
                f"Coût métier par client : {t['test_cost']}, IC 95 % {t['test_cost_ci']}.",
                f"Défauts détectés : {t['recall']} ; taux de refus : {t['refusal_rate']}.",
                f"Validation croisée : AUC {t['cv_auc']} ± {t['cv_auc_std']}.",
            ]
            + (
                [
                    f"Oracle du jumeau (vraies probabilités) : AUC {t['oracle_auc']} ; le "
                    f"modèle coûte {t['oracle_cost_ratio']} du coût de l'oracle."
                ]
                if "oracle_auc" in t
                else []
            ),
            _figure(inputs, "train/fig-roc"),
            notes=(
                f"Le jeu de test, {t['rows_test']} clients, n'a servi à aucun choix. Les "
                f"intervalles viennent de {p['bootstrap']} rééchantillonnages. L'AUC de "
                f"{t['test_auc']} mesure la capacité à classer ; le coût de {t['test_cost']} "
                "par client est ce qui compte pour la banque."
                + (
                    " Sur le jumeau, on connaît la vraie probabilité de chaque client : "
                    "l'oracle donne le plafond atteignable."
                    if "oracle_auc" in t
                    else ""
                )
            ),
        ),
        Slide(
            "La calibration",
            [
                f"Calibration {t['calibration']} de la probabilité, hors échantillon "
                f"({p['calibration_folds']} plis).",
                f"Score de Brier sur le test : {t['test_brier']} après calibration, "
                f"{t['test_brier_raw']} avant.",
                f"Score de risque : tous les {t['points_to_double_odds']} points, la cote du "
                "défaut double ; le seuil tombe à 50.",
            ],
            _figure(inputs, "train/fig-reliability"),
            notes=(
                "Une probabilité calibrée se lit comme une fréquence : parmi les clients à "
                "dix pour cent, environ un sur dix fait défaut. Le diagramme de fiabilité "
                "compare prédiction et fréquence observée, avant et après calibration. C'est "
                "ce qui rend le score de risque et la zone orange interprétables."
            ),
        ),
        Slide(
            "Explications globales",
            [
                f"Les trois variables qui pèsent le plus : {e['top3']}.",
                f"Elles font {e['top3_share']} de l'impact total : le score repose sur de "
                "nombreux signaux.",
                f"Stabilité : {e['stability_overlap']} des {e['stability_top_k']} premières "
                "variables communes d'une copie du modèle à l'autre.",
            ],
            _figure(inputs, "explain/fig-importance"),
            notes=(
                "Les valeurs SHAP mesurent la contribution de chaque variable au score. En "
                f"moyenne sur {e['sample_rows']} clients du test, {e['top1']} pèse le plus. Le "
                "classement est stable d'une copie du modèle à l'autre, ce qui permet d'en "
                "parler avec confiance."
            ),
        ),
        Slide(
            f"Explication locale : le client {c['client_id']}",
            [
                f"Score de risque {number(c['risk_score'])} ; proposition : "
                f"{decision.get(c['decision'], c['decision'])}.",
                *reasons,
            ],
            _figure(inputs, f"explain/fig-waterfall-{settings['client']}"),
            notes=(
                f"Voici ce que le conseiller lit au client {c['client_id']}. Son score est de "
                f"{number(c['risk_score'])}, probabilité de défaut "
                f"{percent(c['probability_default'])}. Les raisons, dans l'ordre : "
                + " ".join(reasons)
                + " La cascade montre comment chaque variable déplace le score."
            ),
        ),
        Slide(
            "Équité",
            [
                f"Genre utilisé par le modèle : {e['gender_in_model']}.",
                f"Écart de taux de refus entre {e.get('gender_refusal_rate_highest', '–')} et "
                f"{e.get('gender_refusal_rate_lowest', '–')} : "
                f"{e.get('gender_refusal_rate_gap', '–')}.",
                f"Entre tranches d'âge : {e.get('age_band_refusal_rate_gap', '–')} "
                f"({e.get('age_band_refusal_rate_highest', '–')} contre "
                f"{e.get('age_band_refusal_rate_lowest', '–')}).",
                f"Taux de refus global : {e.get('overall_refusal_rate', '–')}.",
            ],
            notes=(
                "Le genre n'entre pas dans le modèle, mais d'autres variables peuvent le "
                "refléter : on mesure donc les décisions par groupe sur le jeu de test. "
                "L'écart entre âges vient surtout de différences réelles de taux de défaut ; "
                "il doit être suivi et discuté avec la conformité avant la mise en production."
            ),
        ),
        Slide(
            "La dérive des données",
            [
                f"{r['drifted_columns']} variables en dérive sur {r['columns']} "
                f"({r['drifted_share']}) dans le lot de production.",
                f"Alerte à partir de {r['alert_share']} de variables en dérive : "
                f"{r['verdict'].replace('**', '')}.",
            ]
            + (
                [
                    f"Score de risque moyen : {r['score_mean_reference']} à l'entraînement, "
                    f"{r['score_mean_current']} en production (PSI {r['score_psi']}, "
                    f"{r['score_reading']})."
                ]
                if "score_psi" in r
                else []
            ),
            _figure(inputs, "drift/fig-timeline") or _figure(inputs, "drift/fig-psi"),
            notes=(
                "Evidently compare la clientèle de production à celle de l'entraînement, "
                "variable par variable, puis mois par mois. Une alerte signale que le modèle "
                "doit être revu ; le score lui-même est surveillé avec l'indice de stabilité "
                "de population."
            ),
        ),
        Slide(
            "L'API de score",
            [
                "Le contrat de décision : probabilité calibrée, score de 0 à 100, décision, "
                "raisons en français, version du modèle.",
                f"Lot de production : {e['share_grant']} accordés, {e['share_review']} à "
                f"étudier, {e['share_refuse']} refusés.",
                "Accès par clé, entrées validées, documentation OpenAPI servie hors ligne.",
            ],
            notes=(
                "L'API sert le modèle enregistré comme champion dans MLflow. Elle calcule les "
                "variables avec le même code que le pipeline, protège l'accès par clé, et "
                "renvoie la décision avec ses raisons. Sa documentation OpenAPI est en ligne "
                "sur le serveur, sans ressource externe."
            ),
            code=[
                "GET  /v1/clients/{id}/score",
                "POST /v1/clients/score",
                "POST /v1/clients/{id}/what-if",
                "GET  /v1/model",
                "GET  /docs",
            ],
        ),
    ]
    for png, caption in inputs.screenshots.values():
        slides.append(
            Slide(
                f"Le tableau de bord : {caption.split(' :')[0].lower()}"
                if " :" in caption
                else "Le tableau de bord du conseiller",
                [caption],
                [(png, caption)],
                notes="Le tableau de bord est l'outil du conseiller, souvent avec le client à "
                f"côté. {caption}",
            )
        )
    slides += [
        Slide(
            "Reproduire : DVC, MLflow et l'intégration continue",
            [
                "DVC : params.yaml, puis make repro enchaîne les étapes "
                + ", ".join(inputs.stages)
                + ".",
                "Chaque sortie est identique à l'octet d'une exécution à l'autre.",
                f"MLflow : chaque exécution est tracée dans l'expérience {p['experiment']} ; "
                f"le modèle {p['model_name']} porte l'alias champion.",
                "Intégration continue : .ci/run installe les outils puis lance make test.",
            ],
            notes=(
                "Tout se refait avec deux commandes, make repro et make test. DVC ne relance "
                "que ce qui dépend d'un changement. MLflow garde les paramètres, les mesures et "
                "les modèles. Ce support lui-même est une sortie du pipeline : il ne peut pas "
                "dériver des résultats."
            ),
            results=False,
        ),
        Slide(
            "Limites et prochaines étapes",
            [
                (
                    "Les résultats valent pour le jumeau : à refaire sur les fichiers réels."
                    if twin
                    else "Un seul jeu de données historique : à valider sur des demandes récentes."
                ),
                "Le coût métier repose sur un rapport de coûts supposé : à fixer avec le métier.",
                "Équité : suivre l'écart entre âges et en décider avec la conformité.",
                "Dérive : réentraîner quand l'alerte se déclenche, surveiller le score.",
                "Conseillers : mesurer l'usage de la zone orange et des raisons.",
            ],
            notes=(
                "Le modèle a des limites claires. Les plus importantes : les données, le "
                "rapport de coûts, l'équité entre âges et la dérive. Les prochaines étapes "
                "sont une validation sur données réelles, la fixation des coûts avec le métier "
                "et un suivi en production. Merci ; je réponds à vos questions."
            ),
            results=False,
        ),
    ]
    if len(slides) > settings.get("max_slides", MAX_SLIDES):
        raise DeckInputError(
            f"params.yaml slides: {len(slides)} slides, more than max_slides "
            f"({settings.get('max_slides', MAX_SLIDES)})"
        )
    return slides


# --------------------------------------------------------------------------- layout


def _emu(inches: float) -> int:
    return round(inches * EMU_PER_INCH)


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header.

    >>> import struct
    >>> _png_size(b"\\x89PNG\\r\\n\\x1a\\n" + struct.pack(">I", 13) + b"IHDR"
    ...     + struct.pack(">II", 640, 480))
    (640, 480)
    """
    import struct

    return struct.unpack(">II", png[16:24])


def french_spacing(text: str) -> str:
    """No line break before ``:`` ``;`` ``%`` ``»`` ``±`` nor after ``«`` (French typography).

    Examples
    --------
    >>> french_spacing("IC 95 % : « oui »") == "IC 95\u00a0%\u00a0: «\u00a0oui\u00a0»"
    True
    """
    text = re.sub(r" ([:;%»±?!])", "\u00a0\\1", text)
    return text.replace("« ", "«\u00a0")


def _text_box(
    slide: Any,
    box: tuple[float, float, float, float],
    paragraphs: Sequence[str],
    *,
    size: float,
    name: str,
    bold: bool = False,
    color: str = "222222",
    fill: str | None = None,
    font: str = FONT,
    space_after: float = 6,
    bullet: bool = False,
    middle: bool = False,
) -> Any:
    """A fixed text box: wrapped, never resized to its text (so overflow shows)."""
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE
    from pptx.util import Pt

    left, top, width, height = box
    shape = slide.shapes.add_textbox(_emu(left), _emu(top), _emu(width), _emu(height))
    shape.name = name
    frame = shape.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    if middle:
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    for side in ("margin_left", "margin_right"):
        setattr(frame, side, _emu(0.08))
    for side in ("margin_top", "margin_bottom"):
        setattr(frame, side, _emu(0.04))
    if fill:
        shape.fill.solid()
        shape.fill.fore_color.rgb = RGBColor.from_string(fill)
    for i, text in enumerate(paragraphs):
        text = french_spacing(text)
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.space_after = Pt(space_after)
        run = paragraph.add_run()
        run.text = f"• {text}" if bullet else text
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.name = font
        run.font.color.rgb = RGBColor.from_string(color)
    return shape


def _picture(slide: Any, png: bytes, box: tuple[float, float, float, float], name: str) -> None:
    """The picture, as large as fits in ``box``, centred."""
    left, top, width, height = box
    w, h = _png_size(png)
    scale = min(width / w, height / h)
    pw, ph = w * scale, h * scale
    shape = slide.shapes.add_picture(
        io.BytesIO(png),
        _emu(left + (width - pw) / 2),
        _emu(top + (height - ph) / 2),
        _emu(pw),
        _emu(ph),
    )
    shape.name = name


def _bullet_size(bullets: Sequence[str], wide: bool) -> float:
    """A font size that keeps the bullets in their box (checked by the visual test)."""
    chars = sum(len(b) for b in bullets)
    if wide:
        return 22 if chars < 520 else 18
    return 18 if chars < 300 else 16 if chars < 420 else 14


def build_presentation(slides: Sequence[Slide], settings: Mapping[str, Any], banner: str) -> Any:
    """The python-pptx presentation of ``slides`` in the project's one template."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE

    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    blank = prs.slide_layouts[6]
    total = len(slides)
    twin = "synthétiques" in banner
    for index, content in enumerate(slides, start=1):
        slide = prs.slides.add_slide(blank)
        bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, SLIDE_WIDTH, _emu(0.12))
        bar.name = "bandeau"
        bar.fill.solid()
        bar.fill.fore_color.rgb = RGBColor.from_string(NAVY)
        bar.line.fill.background()
        if index == 1:
            _text_box(
                slide,
                (0.8, 1.9, 11.7, 1.6),
                [content.title],
                size=40,
                bold=True,
                color=NAVY,
                name="titre",
            )
            _text_box(
                slide,
                (0.8, 3.6, 11.7, 0.8),
                [content.bullets[0]],
                size=24,
                color=GREY,
                name="sous-titre",
            )
            _text_box(
                slide,
                (0.8, 4.6, 11.7, 0.6),
                [content.bullets[1]],
                size=22,
                bold=True,
                color=ORANGE,
                name="entreprise",
            )
            _text_box(
                slide,
                (0.8, 5.6, 11.7, 0.55),
                [banner],
                size=16,
                name="origine",
                fill=TWIN_BANNER if twin else REAL_BANNER,
                middle=True,
                space_after=0,
            )
        else:
            _text_box(
                slide,
                (0.5, 0.3, 12.3, 0.85),
                [content.title],
                size=30,
                bold=True,
                color=NAVY,
                name="titre",
            )
            top = 1.25
            if content.results:
                _text_box(
                    slide,
                    (0.5, 1.2, 12.3, 0.42),
                    [banner],
                    size=14,
                    name="origine",
                    fill=TWIN_BANNER if twin else REAL_BANNER,
                    middle=True,
                    space_after=0,
                )
                top = 1.8
            height = 6.55 - top
            if content.pictures:
                text_width = 4.0
                _text_box(
                    slide,
                    (0.5, top, text_width, height),
                    content.bullets,
                    size=_bullet_size(content.bullets, False),
                    name="texte",
                    bullet=True,
                )
                area = (4.65, top, 8.25, height)
                if len(content.pictures) == 1:
                    _picture(slide, content.pictures[0][0], area, "figure")
                else:
                    half = (area[3] - 0.15) / 2
                    for i, (png, _) in enumerate(content.pictures[:2]):
                        box = (area[0], area[1] + i * (half + 0.15), area[2], half)
                        _picture(slide, png, box, f"figure {i + 1}")
            else:
                code_height = 0.36 * len(content.code) + 0.2 if content.code else 0
                text_height = 2.0 if content.code else height
                _text_box(
                    slide,
                    (0.5, top, 12.3, text_height),
                    content.bullets,
                    size=_bullet_size(content.bullets, True),
                    name="texte",
                    bullet=True,
                )
                if content.code:
                    _text_box(
                        slide,
                        (0.5, top + text_height + 0.2, 12.3, code_height),
                        content.code,
                        size=18,
                        name="code",
                        font=MONO,
                        color=NAVY,
                        space_after=2,
                        fill="EEF1F5",
                    )
        _text_box(
            slide,
            (0.5, 6.95, 8.0, 0.4),
            [f"{settings['company']} · {settings['footer']}"],
            size=12,
            color=GREY,
            name="pied",
        )
        _text_box(
            slide, (11.3, 6.95, 1.5, 0.4), [f"{index} / {total}"], size=12, color=GREY, name="page"
        )
        slide.shapes[-1].text_frame.paragraphs[0].alignment = 3  # right
        slide.notes_slide.notes_text_frame.text = content.notes
    core = prs.core_properties
    core.title = settings["title"]
    core.author = settings["company"]
    core.last_modified_by = settings["company"]
    core.subject = settings["subtitle"]
    core.keywords = ""
    core.comments = ""
    core.revision = 1
    core.created = FIXED_TIME.replace(tzinfo=None)
    core.modified = FIXED_TIME.replace(tzinfo=None)
    core.last_printed = FIXED_TIME.replace(tzinfo=None)
    return prs


# --------------------------------------------------------------------------- write


def normalise_pptx(data: bytes) -> bytes:
    """The same deck as a zip whose bytes depend on its content only.

    python-pptx stamps every zip entry with the clock time; here every entry gets a fixed
    time and mode, in the original order.

    Examples
    --------
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as z:
    ...     z.writestr("a.xml", "<a/>")
    >>> out = normalise_pptx(buffer.getvalue())
    >>> zipfile.ZipFile(io.BytesIO(out)).getinfo("a.xml").date_time
    (1980, 1, 1, 0, 0, 0)
    >>> normalise_pptx(out) == out
    True
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            entry.create_system = 3
            target.writestr(entry, source.read(info.filename), compresslevel=6)
    return out.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def deck_bytes(inputs: DeckInputs, settings: Mapping[str, Any]) -> bytes:
    """The deck's bytes (same inputs, same bytes)."""
    slides = deck_content(inputs, settings)
    prs = build_presentation(slides, settings, origin_banner(inputs.variables["data"]))
    buffer = io.BytesIO()
    prs.save(buffer)
    return normalise_pptx(buffer.getvalue())


def build_deck(settings: Mapping[str, Any], out: Path = DECK_FILE, **inputs: Any) -> Path:
    """The ``slides`` stage: read the pipeline's outputs, write the deck to ``out``."""
    data = deck_bytes(load_inputs(settings, **inputs), settings)
    write_atomic(Path(out), data)
    return Path(out)


# --------------------------------------------------------------------------- read back


def deck_texts(path: Path | bytes) -> list[dict[str, Any]]:
    """Per slide: its shapes' texts by name, its notes and its pictures' bytes.

    Examples
    --------
    >>> from pptx import Presentation
    >>> prs, buffer = Presentation(), io.BytesIO()
    >>> s = prs.slides.add_slide(prs.slide_layouts[6])
    >>> box = s.shapes.add_textbox(0, 0, 10, 10)
    >>> box.name, box.text_frame.text = "texte", "Bonjour"
    >>> prs.save(buffer)
    >>> deck_texts(buffer.getvalue())[0]["shapes"]
    [('texte', 'Bonjour')]
    """
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    source = io.BytesIO(path) if isinstance(path, bytes) else str(path)
    prs = Presentation(source)
    slides = []
    for slide in prs.slides:
        shapes = [(s.name, s.text_frame.text) for s in slide.shapes if s.has_text_frame]
        shapes = [(n, text) for n, text in shapes if text]
        pictures = [s.image.blob for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        slides.append({"shapes": shapes, "notes": notes, "pictures": pictures})
    return slides


_NUMBER = re.compile(r"(?<![\w/.,\u202f])\d(?:[\d\u202f]*\d)?(?:,\d+)?")


def numbers_in(text: str) -> list[str]:
    """The numbers a text states, written the French way (``v1`` or ``/v1`` is no number).

    Examples
    --------
    >>> numbers_in("AUC 0,795, IC 95 % [0,775 ; 0,815] sur 6\u202f000 clients, route /v1/x")
    ['0,795', '95', '0,775', '0,815', '6\u202f000']
    """
    return _NUMBER.findall(text)


def allowed_numbers(inputs: DeckInputs) -> set[str]:
    """Every number the deck may state: the variables', the example client's, the design's."""
    found: set[str] = set(DESIGN_NUMBERS)

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, Mapping):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        else:
            yield str(value)

    for text in walk(inputs.variables):
        found.update(numbers_in(text))
    c = inputs.client
    for text in walk(c["reasons"]):
        found.update(numbers_in(text))
    found |= {
        str(c["client_id"]),
        number(c["risk_score"]),
        *numbers_in(percent(c["probability_default"])),
    }
    for _, caption in inputs.screenshots.values():
        found.update(numbers_in(caption))
    return found


# --------------------------------------------------------------------------- visual check


def soffice() -> str | None:
    """LibreOffice's command, when installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_pdf(deck: Path, out_dir: Path) -> Path:
    """The deck as a PDF, by LibreOffice headless (a private profile: runs may overlap)."""
    command = soffice()
    if command is None:
        raise FileNotFoundError(
            "LibreOffice is not installed: apt-get install -y libreoffice-impress"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [command, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
             "--convert-to", "pdf", "--outdir", str(out_dir), str(deck)],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    pdf = out_dir / f"{Path(deck).stem}.pdf"
    if not pdf.is_file():
        raise RuntimeError(f"LibreOffice wrote no PDF for {deck}")
    return pdf


def render_pngs(deck: Path, out_dir: Path, resolution: int = 80) -> list[Path]:
    """One PNG per slide (``slide-01.png``...), through a PDF and poppler's pdftoppm."""
    with tempfile.TemporaryDirectory() as work:
        pdf = render_pdf(deck, Path(work))
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(resolution), str(pdf), str(Path(work) / "slide")],
            check=True, capture_output=True,
        )  # fmt: skip
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("slide-*.png"):
            old.unlink()
        written = []
        for page in sorted(Path(work).glob("slide-*.png")):
            number_ = int(page.stem.split("-")[-1])
            target = out_dir / f"slide-{number_:02d}.png"
            shutil.move(page, target)
            written.append(target)
    return written


@dataclass(frozen=True)
class Word:
    """A word of the rendered PDF, with its box in points."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def pdf_words(pdf: Path) -> list[Word]:
    """Every word of the PDF and its box (poppler's ``pdftotext -bbox``)."""
    result = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    )
    root = ElementTree.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", result.stdout))
    words = []
    for page_number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), 1):
        for word in page.iter("{http://www.w3.org/1999/xhtml}word"):
            box = [float(word.get(k, 0)) for k in ("xMin", "yMin", "xMax", "yMax")]
            words.append(Word(page_number, word.text or "", *box))
    return words


def text_boxes(deck: Path | bytes) -> list[list[tuple[str, float, float, float, float]]]:
    """Per slide, each text shape's name and box in points (x0, y0, x1, y1)."""
    from pptx import Presentation

    prs = Presentation(io.BytesIO(deck) if isinstance(deck, bytes) else str(deck))
    per_point = EMU_PER_INCH / 72
    out = []
    for slide in prs.slides:
        boxes = []
        for s in slide.shapes:
            if s.has_text_frame and s.text_frame.text:
                x0, y0 = s.left / per_point, s.top / per_point
                boxes.append((s.name, x0, y0, x0 + s.width / per_point, y0 + s.height / per_point))
        out.append(boxes)
    return out


def overflowing_words(deck: Path, words: Iterable[Word], tolerance: float = 1.5) -> list[Word]:
    """The rendered words that lie outside every text box of their slide: overflow.

    Boxes are fixed (never resized to their text): a text too long for its box runs out of it.
    """
    boxes = text_boxes(deck)
    out = []
    for word in words:
        inside = any(
            word.x0 >= x0 - tolerance
            and word.x1 <= x1 + tolerance
            and word.y0 >= y0 - tolerance
            and word.y1 <= y1 + tolerance
            for _, x0, y0, x1, y1 in boxes[word.page - 1]
        )
        if not inside:
            out.append(word)
    return out


def check_overflow(deck: Path) -> list[Word]:
    """Render ``deck`` with LibreOffice and return the words that overflow their box."""
    with tempfile.TemporaryDirectory() as work:
        pdf = render_pdf(deck, Path(work))
        return overflowing_words(deck, pdf_words(pdf))
