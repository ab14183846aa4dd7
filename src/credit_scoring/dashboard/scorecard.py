"""The second reading of the « Pourquoi ce score » tab: the scorecard challenger's points.

Beside the SHAP reasons of the model that decides, a scorecard (a grid of points a person can
add up) reads the same dossier: each feature of the client falls in a bin worth some points,
and the points add up to a total on the risk score's scale. The section shows them in a small
table, largest first, with the total and what the scorecard alone would say, and says plainly
that it decides nothing.

Bins come from the scorecard in its notation (« [0,35 ; 0,52[ », « manquant »); they are
shown in words, with the feature's unit (« de 35 % à moins de 52 % », « non renseigné »), and
a category as the client's own one, in French. No client identifier is shown, and no raw
value beyond the bin.
"""

from __future__ import annotations

import html
import math
import re
from typing import TYPE_CHECKING, Any

from credit_scoring.dashboard.style import band_style, score_text
from credit_scoring.labels import number

if TYPE_CHECKING:
    from credit_scoring.api.service import ScorecardReading
    from credit_scoring.explain.text import Phrasebook

TITLE = "Deuxième lecture : grille de score (challenger)"
ABSENT_NOTE = (
    "La deuxième lecture par la grille de score n'est pas disponible : le modèle servi a "
    "été entraîné sans elle."
)
#: The one sentence that says what the section is not (the title already says what it is).
CHALLENGER_NOTE = (
    "Cette grille est un modèle challenger, montré à titre de comparaison. Elle ne décide "
    "pas : la décision affichée plus haut vient du modèle retenu."
)
#: How the scorecard reads its points, for a reader who has never seen a scorecard.
HOW_TO_READ = (
    "Chaque caractéristique du dossier rapporte des points : un nombre positif augmente le "
    "risque, un nombre négatif le diminue. Les points s'additionnent sur la même échelle que "
    "le score (50 au seuil de décision)."
)
_BELOW = re.compile(r"^< (?P<low>.+)$")
_FROM = re.compile(r"^≥ (?P<low>.+)$")
_BETWEEN = re.compile(r"^\[(?P<low>.+) ; (?P<high>.+)\[$")
_SUFFIXES = {"années": " ans", "€": "\u00a0€", "jours": " jours", "mois": " mois"}


def signed_points(points: float) -> str:
    """Points rounded to the unit, with their sign (« 0 » when they round to nothing).

    >>> signed_points(7.2), signed_points(-3.6), signed_points(0.4), signed_points(-0.4)
    ('+7', '-4', '0', '0')
    """
    rounded = round(points)
    if rounded == 0:
        return "0"
    return f"+{number(rounded)}" if rounded > 0 else number(rounded)


def _bound(text: str, unit: str) -> str:
    """A bin bound of the scorecard's labels (« 0,126 », « 198 159 ») with its unit.

    >>> _bound("0,126", "part"), _bound("27,5", "années"), _bound("198\u202f159", "€")
    ('12,6\u202f%', '27,5 ans', '198\u202f159\u00a0€')
    >>> _bound("0,5", ""), _bound("n/a", "part")
    ('0,5', 'n/a')
    """
    if unit != "part":
        return text + _SUFFIXES.get(unit, "")
    try:
        share = float(text.replace("\u202f", "").replace(",", ".")) * 100.0
    except ValueError:
        return text
    # Three significant digits, as the scorecard's own labels: 9,94 %, 12,6 %, 50 %.
    magnitude = 0 if share == 0 else math.floor(math.log10(abs(share)))
    shown = number(share, max(0, 2 - magnitude))
    if "," in shown:
        shown = shown.rstrip("0").rstrip(",")
    return f"{shown}\u202f%"


def bin_text(label: str, value: Any, feature: str, phrasebook: Phrasebook) -> str:
    """The client's bin in words: bounds with their unit, a category as the client's own.

    Examples
    --------
    >>> import pandas as pd
    >>> from credit_scoring.explain.text import Phrasebook
    >>> book = Phrasebook.from_dictionary(pd.DataFrame([
    ...     {"name": "AGE_YEARS", "label_fr": "Âge du client", "unit": "années"},
    ...     {"name": "INST_LATE_SHARE", "label_fr": "Part des échéances payées en retard",
    ...      "unit": "part", "source": "installments_payments"},
    ...     {"name": "NAME_INCOME_TYPE", "label_fr": "Source de revenus", "unit": ""},
    ... ]))
    >>> bin_text("[27,5 ; 32,2[", 30.1, "AGE_YEARS", book)
    'de 27,5 ans à moins de 32,2 ans'
    >>> bin_text("< 0,126", 0.0, "INST_LATE_SHARE", book), bin_text("≥ 45,2", 50, "AGE_YEARS", book)
    ('moins de 12,6\u202f%', '45,2 ans ou plus')
    >>> bin_text("manquant", None, "INST_LATE_SHARE", book)
    'aucun historique'
    >>> bin_text("catégorie : Pensioner", "Pensioner", "NAME_INCOME_TYPE", book)
    'retraité'
    >>> bin_text("catégories : Working, Unemployed", "Working", "NAME_INCOME_TYPE", book)
    'salarié (regroupé avec des catégories de risque proche)'
    """
    from credit_scoring.explain.text import is_missing, level_fr

    unknown = label == "manquant ou catégorie inconnue"
    if label == "manquant" or (unknown and is_missing(value)):
        return phrasebook.value_text(feature, None)
    if unknown:
        return f"{level_fr(feature, value)} (catégorie que la grille ne distingue pas)"
    for prefix, grouped in (("catégorie : ", False), ("catégories : ", True)):
        if label.startswith(prefix):
            text = label[len(prefix) :] if is_missing(value) else level_fr(feature, value)
            return f"{text} (regroupé avec des catégories de risque proche)" if grouped else text
    unit = phrasebook.entry(feature).unit
    if match := _BETWEEN.match(label):
        low, high = _bound(match["low"], unit), _bound(match["high"], unit)
        return f"de {low} à moins de {high}"
    if match := _BELOW.match(label):
        return f"moins de {_bound(match['low'], unit)}"
    if match := _FROM.match(label):
        return f"{_bound(match['low'], unit)} ou plus"
    return label


def scorecard_html(reading: ScorecardReading | None, phrasebook: Phrasebook) -> str:
    """The section: the points per attribute (largest first), the total and what the
    scorecard alone would say; a short note when the pipeline wrote no scorecard (None)."""
    from credit_scoring.explain.text import contains_code

    title = f'<h2 class="cs-scorecard-title">{html.escape(TITLE)}</h2>'
    if reading is None:
        return f'{title}<p class="cs-muted cs-scorecard-absent">{html.escape(ABSENT_NOTE)}</p>'
    rows = []
    attributes = sorted(reading.attributes, key=lambda a: -abs(a.points))
    for a in attributes:
        # A feature missing from the API's dictionary comes back as its code: never shown.
        label = a.label if a.label and not contains_code(a.label) else phrasebook.label(a.feature)
        rows.append(
            f'<tr class="cs-scorecard-row" data-points="{a.points:.4f}">'
            f"<td>{html.escape(label)}</td>"
            f"<td>{html.escape(bin_text(a.bin, a.value, a.feature, phrasebook))}</td>"
            f'<td style="text-align:right">{signed_points(a.points)}</td></tr>'
        )
    rows.append(
        '<tr class="cs-muted"><td>Point de départ (le même pour tous les clients)</td>'
        f'<td>—</td><td style="text-align:right">{signed_points(reading.base_points)}</td></tr>'
    )
    total = round(reading.total_points)
    shown_sum = round(reading.base_points) + sum(round(a.points) for a in attributes)
    style = band_style(reading.decision)
    clipped = (
        " (le total est ramené entre 0 et 100)" if not 0.0 <= reading.total_points <= 100.0 else ""
    )
    rounding = (
        '<p class="cs-muted">Points arrondis à l\'unité : leur somme peut différer légèrement '
        "du total.</p>"
        if shown_sum != total
        else ""
    )
    return (
        f'<section class="cs-card cs-scorecard-reading" aria-label="{html.escape(TITLE)}">'
        f"{title}"
        f'<p class="cs-scorecard-note"><b>{html.escape(CHALLENGER_NOTE)}</b></p>'
        f'<p class="cs-muted">{html.escape(HOW_TO_READ)}</p>'
        '<table class="cs-table cs-scorecard-table" aria-label="Points de la grille de score, '
        'du plus influent au moins influent"><thead><tr><th scope="col">Caractéristique</th>'
        '<th scope="col">Tranche du client</th><th scope="col" style="text-align:right">Points'
        f"</th></tr></thead><tbody>{''.join(rows)}</tbody>"
        '<tfoot><tr><th scope="row" colspan="2">Total</th>'
        f'<td style="text-align:right"><b class="cs-scorecard-total" '
        f'data-points="{reading.total_points:.4f}">{number(total)} points</b></td></tr>'
        "</tfoot></table>"
        f"{rounding}"
        f'<p class="cs-scorecard-verdict" data-scorecard-decision="{reading.decision}" '
        f'data-score="{reading.score:.4f}">Score de la grille : <b>{score_text(reading.score)}'
        f"</b> / 100{clipped}. À titre de comparaison, la grille seule conclurait : "
        f"{style.icon} {html.escape(style.label.lower())}.</p></section>"
    )


def scorecard_error_html(message: str) -> str:
    """The section when the second reading failed: the title and why, the rest of the tab
    untouched."""
    return (
        f'<h2 class="cs-scorecard-title">{html.escape(TITLE)}</h2>'
        f'<p class="cs-error" role="alert">⚠ Deuxième lecture indisponible : '
        f"{html.escape(message)}</p>"
    )
