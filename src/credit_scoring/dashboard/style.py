"""Colours, contrast and the score gauge: what the advisor sees, accessible by construction.

The three decisions use the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) and never colour alone: each has an icon and a French label. Text colours are
chosen for WCAG AA contrast (4.5:1) on their background, checked by :func:`contrast_ratio`.

Examples
--------
>>> band_style("review").label
'Décision du conseiller'
>>> contrast_ratio("#000000", "#ffffff")
21.0
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from credit_scoring.labels import number

#: Okabe-Ito colours used by the dashboard.
BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
INK = "#1a1a1a"
MUTED = "#4d4d4d"  # secondary text on white: 8.5:1
WHITE = "#ffffff"
#: WCAG AA minimum contrast of normal text.
AA_CONTRAST = 4.5


@dataclass(frozen=True)
class BandStyle:
    """How a decision is shown.

    Attributes
    ----------
    decision
        ``grant``, ``review`` or ``refuse``.
    colour
        Background colour (Okabe-Ito).
    text_colour
        Text colour on that background (AA contrast).
    icon
        A symbol that carries the meaning without colour.
    label
        The French label shown to the advisor and the client.
    colour_name
        The colour's name, for the legend.
    """

    decision: str
    colour: str
    text_colour: str
    icon: str
    label: str
    colour_name: str


BANDS: dict[str, BandStyle] = {
    "grant": BandStyle("grant", BLUE, WHITE, "✔", "Crédit accordé", "bleu"),
    "review": BandStyle("review", ORANGE, INK, "⚠", "Décision du conseiller", "orange"),
    "refuse": BandStyle("refuse", VERMILLION, INK, "✖", "Crédit refusé", "vermillon"),
}


def band_style(decision: str) -> BandStyle:
    """The style of a decision (``grant``, ``review``, ``refuse``).

    Raises
    ------
    KeyError
        For an unknown decision.
    """
    return BANDS[decision]


def _channel(value: int) -> float:
    c = value / 255.0
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour.

    >>> relative_luminance("#ffffff"), relative_luminance("#000000")
    (1.0, 0.0)
    """
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected #rrggbb, got {colour!r}")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours, from 1 to 21 (rounded to 2 decimals).

    >>> contrast_ratio(BLUE, WHITE) >= AA_CONTRAST, contrast_ratio(ORANGE, INK) >= AA_CONTRAST
    (True, True)
    """
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return round((a + 0.05) / (b + 0.05), 2)


def score_text(score: float) -> str:
    """A risk score as shown: a whole number, French style.

    >>> score_text(48.6)
    '49'
    """
    return number(score, 0)


def _arc(cx: float, cy: float, r: float, start: float, end: float) -> str:
    """SVG path of the gauge arc from score ``start`` to ``end`` (0 left, 100 right)."""

    def point(score: float) -> tuple[float, float]:
        angle = math.pi * (1.0 - score / 100.0)
        return cx + r * math.cos(angle), cy - r * math.sin(angle)

    (x0, y0), (x1, y1) = point(start), point(end)
    return f"M {x0:.1f} {y0:.1f} A {r} {r} 0 0 1 {x1:.1f} {y1:.1f}"


def gauge_svg(score: float, decision: str, band: tuple[float, float]) -> str:
    """A half-circle gauge of the risk score (0-100) with the three bands and a needle.

    The SVG has ``role="img"`` and a French ``aria-label`` that says the score and decision.

    >>> svg = gauge_svg(50.0, "review", (45.0, 55.0))
    >>> 'aria-label="Score de risque 50 sur 100' in svg, svg.count("<path")
    (True, 4)
    """
    low, high = band
    style = band_style(decision)
    cx, cy, r = 150.0, 140.0, 110.0
    angle = math.pi * (1.0 - max(0.0, min(100.0, score)) / 100.0)
    nx, ny = cx + (r - 18) * math.cos(angle), cy - (r - 18) * math.sin(angle)
    label = html.escape(f"Score de risque {score_text(score)} sur 100 : {style.label}")
    arcs = "".join(
        f'<path d="{_arc(cx, cy, r, a, b)}" stroke="{colour}" stroke-width="26" fill="none"/>'
        for a, b, colour in ((0.0, low, BLUE), (low, high, ORANGE), (high, 100.0, VERMILLION))
    )
    return (
        f'<svg class="cs-gauge" viewBox="0 0 300 175" width="300" height="175" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f"{arcs}"
        f'<path d="M {cx} {cy} L {nx:.1f} {ny:.1f}" stroke="{INK}" stroke-width="5" '
        'stroke-linecap="round"/>'
        f'<circle cx="{cx}" cy="{cy}" r="8" fill="{INK}"/>'
        f'<text x="{cx - r}" y="{cy + 24}" text-anchor="middle" font-size="13" '
        f'fill="{INK}">0</text>'
        f'<text x="{cx + r}" y="{cy + 24}" text-anchor="middle" font-size="13" '
        f'fill="{INK}">100</text>'
        f'<text x="{cx}" y="{cy + 30}" text-anchor="middle" font-size="15" fill="{INK}">'
        "risque</text></svg>"
    )


def legend_html(band: tuple[float, float]) -> str:
    """The legend of the three bands, each with its colour, icon and label."""
    low, high = band
    ranges = {
        "grant": f"moins de {number(low)}",
        "review": f"de {number(low)} à {number(high)}",
        "refuse": f"plus de {number(high)}",
    }
    items = "".join(
        f'<li><span class="cs-swatch" style="background:{s.colour};color:{s.text_colour}">'
        f"{s.icon}</span> {ranges[k]} : {html.escape(s.label.lower())} ({s.colour_name})</li>"
        for k, s in BANDS.items()
    )
    return f'<ul class="cs-legend" aria-label="Légende des couleurs">{items}</ul>'


#: The dashboard's style sheet (system fonts only: nothing is fetched from the network).
CSS = f"""
<style>
.cs-app {{ font-family: system-ui, "DejaVu Sans", Arial, sans-serif; color: {INK};
  font-size: 15px; max-width: 1240px; }}
.cs-app h1 {{ font-size: 22px; margin: 4px 0; }}
.cs-app h2 {{ font-size: 18px; margin: 6px 0; }}
.cs-origin {{ background: #fff4d6; border-left: 6px solid {ORANGE}; padding: 4px 10px;
  margin: 4px 0; }}
.cs-badge {{ display: inline-block; padding: 8px 14px; border-radius: 6px; font-size: 20px;
  font-weight: bold; }}
.cs-score-number {{ font-size: 44px; font-weight: bold; line-height: 1.1; }}
.cs-swatch {{ display: inline-block; width: 1.6em; text-align: center; border-radius: 3px; }}
.cs-legend {{ list-style: none; padding: 0; margin: 4px 12px; line-height: 1.9; }}
.cs-muted {{ color: {MUTED}; }}
.cs-card {{ border: 1px solid #bdbdbd; border-radius: 6px; padding: 8px 12px; margin: 4px; }}
.cs-table {{ border-collapse: collapse; }}
.cs-table th, .cs-table td {{ border-bottom: 1px solid #d0d0d0; padding: 3px 8px;
  text-align: left; }}
.cs-error {{ color: #8a1c00; font-weight: bold; }}
.cs-ok {{ color: #004d80; font-weight: bold; }}
.cs-app :focus-visible {{ outline: 3px solid {BLUE} !important; outline-offset: 2px; }}
.cs-loading {{ font-size: 18px; padding: 20px; }}
</style>
"""
