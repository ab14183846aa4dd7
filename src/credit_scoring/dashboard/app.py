"""The advisor dashboard: ipywidgets built here, served by Voilà from ``notebooks/dashboard.ipynb``.

Layout (1280 x 800): a header saying which data it runs on; a search bar (client id, then a
list of matches); the score (gauge, decision with colour, icon and words) beside the few
application fields needed; tabs « Pourquoi ce score » (the SHAP reasons, then a second
reading by the scorecard challenger, which decides nothing), « Importance globale »,
« Comparaison », « Et si… ». In the orange band the words « décision du conseiller » and a
form (grant / refuse, reason required) record the advisor's decision in the decision log;
outside the band the same form records an override. « Vue client » hides what is internal
(model version, probability, SHAP values, the decision form).

Loading: :func:`show` displays the shell at once with a loading message, then loads the model
and data in a background thread; the client list is enabled when they are ready. A client
switch renders the score first, then the open tab only (other tabs when opened).

Data: everything comes from the backend (:mod:`credit_scoring.dashboard.backend`). With the
scoring API (``CREDIT_SCORING_API_URL``), the dashboard reads nothing from the project's data
folders: the client list, the few application fields shown, the what-if, the comparisons
(aggregates only) and the global importance come from the API.

Every DOM element a test or a screen reader needs has a stable class (``cs-...``) or label.
"""

from __future__ import annotations

import base64
import html
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# Only light imports here: the page shows its first widgets before pandas, the model or the
# data are loaded (in the background thread of Dashboard).
from credit_scoring.dashboard.errors import DashboardError
from credit_scoring.dashboard.style import CSS, band_style, gauge_svg, legend_html, score_text
from credit_scoring.labels import number, percent

if TYPE_CHECKING:
    import pandas as pd

    from credit_scoring.api.service import ScorecardReading
    from credit_scoring.dashboard.backend import ClientScore, ModelInfo, ScoringBackend
    from credit_scoring.dashboard.compare import Comparison, Reference
    from credit_scoring.explain import Explanation
    from credit_scoring.explain.text import Phrasebook
    from credit_scoring.scoring import ScoreResult

log = logging.getLogger("credit_scoring.dashboard")

TABS = ("Pourquoi ce score", "Importance globale", "Comparaison", "Et si…")
WHY, IMPORTANCE, COMPARE, WHAT_IF = range(4)
CREDIT, ANNUITY, GOODS, INCOME = "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "AMT_INCOME_TOTAL"
#: Application fields shown (GDPR minimisation: what the credit decision is about, nothing
#: on family, gender, contact or identity).
SHOWN_FIELDS = ("NAME_CONTRACT_TYPE", CREDIT, ANNUITY, GOODS, INCOME)
TWIN_NOTE = (
    "Données : <b>jumeau de données</b> — des clients synthétiques générés par le projet. "
    "Aucun client réel : les scores affichés ne concernent personne."
)
REAL_NOTE = "Données : fichiers Kaggle réels « Home Credit Default Risk »."


def present(value: Any) -> bool:
    """Whether an application value is given (not None, not NaN, not pandas' NA).

    >>> present(1.0), present(float("nan")), present(None), present("F")
    (True, False, False, True)
    """
    if value is None:
        return False
    try:
        return not math.isnan(value)
    except TypeError:
        return str(value) not in ("<NA>", "NaT")


def euros(value: float) -> str:
    """An amount in euros, French style.

    >>> euros(123456.4)
    '123\u202f456\u00a0€'
    """
    return f"{number(value)}\u00a0€"


def origin_note(origin: str | None) -> str:
    """The banner saying which data the dashboard runs on (HTML).

    >>> "jumeau" in origin_note("twin"), "réels" in origin_note("real")
    (True, True)
    """
    if origin == "real":
        return REAL_NOTE
    if origin == "twin":
        return TWIN_NOTE
    return "Données : origine inconnue (ni jumeau ni fichiers réels déclarés)."


def term_months(application: dict[str, Any]) -> float | None:
    """The repayment term in months: credit / annuity (None when unknown).

    >>> term_months({"AMT_CREDIT": 120000.0, "AMT_ANNUITY": 5000.0})
    24.0
    """
    credit, annuity = application.get(CREDIT), application.get(ANNUITY)
    if not (present(credit) and present(annuity)):
        return None
    try:
        credit, annuity = float(credit), float(annuity)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (annuity > 0 and credit > 0):
        return None
    return credit / annuity


def what_if_changes(
    credit: float, term: float, income: float, application: dict[str, Any] | None = None
) -> dict[str, float]:
    """The amounts a what-if changes: credit, annuity (credit over the term) and income.

    While the amount (to the euro) and the term (to the month) are those of ``application``,
    its own annuity and amount are kept: a what-if that changes nothing is the dossier itself.

    >>> what_if_changes(240000, 48, 50000)
    {'AMT_CREDIT': 240000.0, 'AMT_ANNUITY': 5000.0, 'AMT_INCOME_TOTAL': 50000.0}
    >>> dossier = {"AMT_CREDIT": 100000.4, "AMT_ANNUITY": 2564.0}
    >>> what_if_changes(100000, 39, 50000, dossier)[ANNUITY]
    2564.0
    >>> what_if_changes(100000, 40, 50000, dossier)[ANNUITY]
    2500.0
    """
    stored_term = term_months(application) if application else None
    if (
        application
        and stored_term is not None
        and abs(float(credit) - float(application[CREDIT])) < 1.0
        and round(float(term)) == round(stored_term)
    ):
        return {
            CREDIT: float(application[CREDIT]),
            ANNUITY: float(application[ANNUITY]),
            INCOME: float(income),
        }
    return {
        CREDIT: float(credit),
        ANNUITY: float(credit) / max(float(term), 1.0),
        INCOME: float(income),
    }


def edited_application(
    application: dict[str, Any], credit: float, term: float, income: float
) -> dict[str, Any]:
    """The application with a new amount, term (the annuity follows) and income.

    >>> a = edited_application({"AMT_CREDIT": 1.0, "AMT_ANNUITY": 1.0}, 240000, 48, 50000)
    >>> a["AMT_CREDIT"], a["AMT_ANNUITY"], a["AMT_INCOME_TOTAL"]
    (240000.0, 5000.0, 50000.0)
    """
    return {**application, **what_if_changes(credit, term, income)}


def score_card_html(result: ScoreResult, *, client_view: bool) -> str:
    """The score: number, decision badge (colour, icon, words) and, for the advisor, the
    probability, threshold and model version."""
    style = band_style(result.decision)
    low, high = result.review_band
    badge = (
        f'<div class="cs-badge cs-decision cs-decision-{result.decision}" '
        f'data-decision="{result.decision}" role="status" '
        f'style="background:{style.colour};color:{style.text_colour}">'
        f"{style.icon} {html.escape(style.label)}</div>"
    )
    lines = [
        f'<div><span class="cs-score-number cs-score" data-score="{result.risk_score:.4f}">'
        f"{score_text(result.risk_score)}</span> <span>/ 100 (risque)</span></div>",
        badge,
    ]
    if result.decision == "review":
        lines.append(
            f"<p><b>Zone orange ({number(low)} à {number(high)}) : décision du conseiller.</b> "
            "Le modèle ne tranche pas ; c'est à vous de décider, motif à l'appui.</p>"
        )
    if not client_view:
        lines.append(
            '<p class="cs-muted cs-internal">'
            f"Probabilité de défaut estimée : {percent(result.probability_default, 1)} · "
            f"seuil : {percent(result.threshold, 1)} (score 50) · "
            f"modèle : {html.escape(result.model_version)}</p>"
        )
    return "".join(lines)


def application_html(client_id: int, application: dict[str, Any], phrasebook: Phrasebook) -> str:
    """The few application fields the decision is about (GDPR minimisation)."""
    rows = [f"<tr><th scope='row'>Numéro de client</th><td>{int(client_id)}</td></tr>"]
    for name in SHOWN_FIELDS:
        value = application.get(name)
        text = phrasebook.value_text(name, value) if present(value) else "non renseigné"
        if name in (CREDIT, ANNUITY, GOODS, INCOME) and present(value):
            text = euros(float(value))
        rows.append(
            f"<tr><th scope='row'>{html.escape(phrasebook.label(name))}</th>"
            f"<td>{html.escape(text)}</td></tr>"
        )
    term = term_months(application)
    if term is not None:
        rows.append(
            f"<tr><th scope='row'>Durée de remboursement</th><td>{number(term)} mois</td></tr>"
        )
    return (
        '<h2>Le dossier</h2><table class="cs-table cs-application" '
        f'aria-label="Dossier du client">{"".join(rows)}</table>'
    )


def reasons_html(explanation: Explanation) -> str:
    """The top reasons as French sentences, each with its direction as an icon and words."""
    items = []
    for r in explanation.reasons:
        up = r.direction == "augmente"
        icon = "▲" if up else "▼"
        items.append(
            f'<li class="cs-reason"><span aria-hidden="true">{icon}</span> '
            f"{html.escape(r.sentence)}</li>"
        )
    return (
        "<h2>Les principales raisons</h2>"
        "<p class='cs-muted'>▲ augmente le risque · ▼ diminue le risque</p>"
        f'<ol class="cs-reasons">{"".join(items)}</ol>'
    )


def image_html(png: bytes, alt: str, css_class: str) -> str:
    """A PNG as an ``<img>`` with a text alternative."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img class="{css_class}" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}" style="max-width:100%"/>'
    )


@dataclass
class Timings:
    """Seconds taken by the last steps (read by the benchmark and the tests)."""

    loaded: float | None = None
    last_switch: float | None = None
    steps: dict[str, float] = field(default_factory=dict)


class Dashboard:
    """The advisor dashboard (see the module docstring).

    Parameters
    ----------
    backend
        Scoring backend; default :func:`open_backend` (API or in process).
    load_in_background
        Load the model and data in a thread (the notebook); False loads in :meth:`load`
        (tests).
    backend_factory
        Builds the backend when none is given (default :func:`open_backend`), in the
        loading thread.
    """

    def __init__(
        self,
        backend: ScoringBackend | None = None,
        *,
        load_in_background: bool = True,
        backend_factory: Callable[[], ScoringBackend] | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.widgets = widgets
        self.backend = backend
        self._backend_factory = backend_factory
        self.info: ModelInfo | None = None
        self.phrasebook: Phrasebook | None = None
        self.reference: Reference | None = None
        self.reference_missing = False
        self.comparison: Comparison | None = None
        self.importance: pd.Series | None = None
        self.timings = Timings()
        self.client_id: int | None = None
        self.current: ClientScore | None = None
        self.application: dict[str, Any] = {}
        self.explanation: Explanation | None = None
        self.scorecard: ScorecardReading | None = None
        self._scorecard_asked = False  # None is an answer too: the pipeline has no scorecard
        self.counterfactual: dict[str, Any] | None = None
        self.what_if: ScoreResult | None = None
        self._rendered: set[int] = set()
        self._busy = False
        self._ready = threading.Event()
        self._build()
        if load_in_background:
            threading.Thread(target=self._load_safely, name="dashboard-load", daemon=True).start()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        w = self.widgets
        self.header = w.HTML(
            CSS + "<h1>Prêt à dépenser — tableau de bord du conseiller</h1>"
            '<div class="cs-origin" role="note">Chargement…</div>'
        )
        self.search = w.Text(
            placeholder="ex. 100001",
            description="Rechercher un client :",
            style={"description_width": "initial"},
            layout=w.Layout(width="330px"),
            disabled=True,
        )
        self.search.add_class("cs-search")
        self.picker = w.Dropdown(
            options=[("Chargement…", None)],
            description="Client :",
            layout=w.Layout(width="260px"),
            disabled=True,
        )
        self.picker.add_class("cs-picker")
        self.client_view = w.ToggleButton(
            value=False,
            description="Vue client",
            tooltip="Masquer les détails internes quand le client regarde l'écran",
            icon="eye",
        )
        self.client_view.add_class("cs-client-view")
        self.status = w.HTML(
            '<div class="cs-loading" role="status" aria-live="polite">'
            "⏳ Chargement du modèle et des données, un instant…</div>"
        )
        self.status.add_class("cs-status")
        self.gauge = w.HTML()
        self.score_card = w.HTML()
        self.score_card.add_class("cs-score-card")
        self.legend = w.HTML()
        self.details = w.HTML()
        self.details.add_class("cs-details")

        # the advisor's decision
        self.decision_title = w.HTML()
        self.reason = w.Textarea(
            placeholder="Motif métier (obligatoire) : ex. apport personnel confirmé, CDI vérifié. "
            "Aucune donnée personnelle.",
            description="Motif :",
            layout=w.Layout(width="95%", height="60px"),
        )
        self.reason.add_class("cs-reason-input")
        self.grant_button = w.Button(
            description="Accorder", icon="check", tooltip="Accorder le crédit (motif requis)"
        )
        self.grant_button.add_class("cs-grant")
        self.refuse_button = w.Button(
            description="Refuser", icon="times", tooltip="Refuser le crédit (motif requis)"
        )
        self.refuse_button.add_class("cs-refuse")
        self.decision_result = w.HTML()
        self.decision_result.add_class("cs-decision-result")
        self.grant_button.on_click(lambda _: self.record("grant"))
        self.refuse_button.on_click(lambda _: self.record("refuse"))
        self.decision_box = w.VBox(
            [
                self.decision_title,
                self.reason,
                w.HBox([self.grant_button, self.refuse_button]),
                self.decision_result,
            ],
            layout=w.Layout(display="none"),
        )
        self.decision_box.add_class("cs-card")
        self.decision_box.add_class("cs-decision-box")

        gauge_row = w.HBox([self.gauge, self.legend], layout=w.Layout(align_items="center"))
        score_panel = w.VBox([gauge_row, self.score_card], layout=w.Layout(width="50%"))
        client_panel = w.VBox([self.details, self.decision_box], layout=w.Layout(width="48%"))
        self.main = w.HBox([score_panel, client_panel], layout=w.Layout(display="none"))

        # tabs
        self.why = w.HTML()
        self.why.add_class("cs-why")
        self.scorecard_out = w.HTML()
        self.scorecard_out.add_class("cs-scorecard")
        self.importance_out = w.HTML()
        self.importance_out.add_class("cs-importance")
        self.compare_feature = w.Dropdown(
            description="Caractéristique :", options=[], layout=w.Layout(width="520px")
        )
        self.compare_feature.style.description_width = "initial"
        self.compare_feature.add_class("cs-compare-feature")
        self.compare_out = w.HTML()
        self.compare_out.add_class("cs-compare")
        self.compare_table = w.HTML()
        self.compare_intro = w.HTML()
        self.compare_intro.add_class("cs-compare-intro")
        self.compare_feature.observe(lambda _: self._render_compare_plot(), "value")

        self.credit_input = w.BoundedFloatText(
            min=1000, max=10_000_000, step=1000, description="Montant du crédit (€) :"
        )
        self.term_input = w.BoundedIntText(min=3, max=120, description="Durée (mois) :")
        self.income_input = w.BoundedFloatText(
            min=1000, max=100_000_000, step=1000, description="Revenu annuel (€) :"
        )
        for box, name in (
            (self.credit_input, "cs-credit"),
            (self.term_input, "cs-term"),
            (self.income_input, "cs-income"),
        ):
            box.style.description_width = "200px"
            box.layout.width = "360px"
            box.add_class(name)
            box.observe(lambda _: self._on_what_if(), "value")
        self.what_if_out = w.HTML()
        self.what_if_out.add_class("cs-what-if")
        self.reset_button = w.Button(description="Revenir au dossier", icon="undo")
        self.reset_button.on_click(lambda _: self._reset_what_if())
        self.counterfactual_out = w.HTML()
        self.counterfactual_out.add_class("cs-counterfactual")
        self.apply_button = w.Button(
            description="Appliquer la suggestion", icon="magic", layout=w.Layout(display="none")
        )
        self.apply_button.add_class("cs-apply")
        self.apply_button.on_click(lambda _: self._apply_counterfactual())

        self.tabs = w.Tab(
            children=[
                w.VBox([self.why, self.scorecard_out]),
                w.VBox([self.importance_out]),
                w.VBox(
                    [self.compare_intro, self.compare_feature, self.compare_out, self.compare_table]
                ),
                w.VBox(
                    [
                        w.HTML(
                            "<h2>Et si… ?</h2><p>Modifiez le montant, la durée ou le revenu : "
                            "le score est recalculé aussitôt (rien n'est enregistré).</p>"
                        ),
                        self.credit_input,
                        self.term_input,
                        self.income_input,
                        self.reset_button,
                        self.what_if_out,
                        self.counterfactual_out,
                        self.apply_button,
                    ]
                ),
            ],
            layout=w.Layout(display="none"),
        )
        for k, title in enumerate(TABS):
            self.tabs.set_title(k, title)
        self.tabs.observe(lambda _: self._render_tab(), "selected_index")

        self.search.observe(lambda _: self._on_search(), "value")
        self.picker.observe(lambda change: self._on_pick(change["new"]), "value")
        self.client_view.observe(lambda _: self._on_view(), "value")

        toolbar = w.HBox([self.search, self.picker, self.client_view])
        toolbar.add_class("cs-toolbar")
        self.widget = w.VBox([self.header, toolbar, self.status, self.main, self.tabs])
        self.widget.add_class("cs-app")

    # ------------------------------------------------------------------ loading

    def _load_safely(self) -> None:
        try:
            self.load()
        except Exception as error:  # shown to the advisor; the log keeps the traceback
            log.exception("dashboard load failed")
            message = str(error) if isinstance(error, DashboardError) else type(error).__name__
            self._show_error(f"Le tableau de bord n'a pas pu démarrer : {message}")
        self._resync()

    def _resync(self, delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> None:
        """Send again what the loading thread changed, a few times.

        The page's widget manager drops an update that arrives while it is still creating the
        widget models (the loading often ends just then); sending the state again is harmless
        and closes that window. It stops once the advisor has picked a client.
        """
        for delay in delays:
            time.sleep(delay)
            if self.client_id is not None:
                return
            for widget in (self.header, self.legend, self.status):
                widget.send_state("value")
            self.search.send_state("disabled")
            self.picker.send_state(["_options_labels", "index", "disabled"])

    def load(self) -> None:
        """Open the backend, ask it for the client list, labels and reference population."""
        from credit_scoring.dashboard.backend import open_backend
        from credit_scoring.explain.text import Phrasebook
        from credit_scoring.features import feature_dictionary

        started = time.perf_counter()
        if self.backend is None:
            self.backend = (self._backend_factory or open_backend)()
        self.info = self.backend.model_info()
        origin = self.info.data_origin
        self.header.value = (
            CSS + "<h1>Prêt à dépenser — tableau de bord du conseiller</h1>"
            f'<div class="cs-origin cs-origin-{origin or "unknown"}" role="note">'
            f"{origin_note(origin)}</div>"
        )
        self.legend.value = legend_html(self.info.review_band)
        self.phrasebook = Phrasebook.from_dictionary(feature_dictionary())
        total = self.backend.client_count()
        first = self.backend.search("", limit=50)
        self.picker.options = [("Choisissez un client", None), *((str(i), i) for i in first)]
        self.picker.value = None
        self.search.disabled = False
        self.picker.disabled = False
        self.status.value = (
            '<div role="status" aria-live="polite" class="cs-ready">'
            f"{number(total)} clients dans le lot de production. Tapez le début d'un "
            "numéro de client, puis choisissez-le dans la liste.</div>"
        )
        self.timings.loaded = time.perf_counter() - started
        self._ready.set()
        # Asked for after the list is usable; without them the advisor still scores and
        # decides, and the two tabs say what is missing.
        try:
            self.importance = self.backend.importance()
            self.reference = self.backend.reference()
        except DashboardError as error:  # the detail is for the support, not the client
            log.warning("comparisons unavailable: %s", error)
            self.reference_missing = True
            return
        self.compare_feature.options = [
            (self.phrasebook.label(f), f) for f in self.reference.key_features
        ]
        self.compare_feature.value = self.reference.key_features[0]

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Wait until the client list is usable (tests)."""
        return self._ready.wait(timeout)

    def _show_error(self, message: str) -> None:
        self.status.value = f'<div class="cs-error" role="alert">⚠ {html.escape(message)}</div>'

    # ------------------------------------------------------------------ search and switch

    def _on_search(self) -> None:
        assert self.backend is not None
        try:
            matches = self.backend.search(self.search.value, limit=50)
        except DashboardError as error:
            self._show_error(str(error))
            return
        if not matches:
            self.picker.options = [("Aucun client ne correspond", None)]
            return
        self.picker.options = [("Choisissez un client", None), *((str(i), i) for i in matches)]
        if len(matches) == 1 or (self.search.value.strip() == str(matches[0])):
            self.picker.value = matches[0]

    def _on_pick(self, client_id: Any) -> None:
        if client_id is None or client_id == self.client_id:
            return
        try:
            self.select(int(client_id))
        except Exception:  # never a silent failure in a widget callback
            log.exception("showing a client failed")
            self._show_error("Ce client n'a pas pu être affiché : réessayez ou prévenez-nous.")

    def select(self, client_id: int) -> None:
        """Show a client: score first, then the open tab."""
        started = time.perf_counter()
        assert self.backend is not None
        try:
            score = self.backend.score(client_id)
            application = self.backend.application(client_id)
        except DashboardError as error:
            self._show_error(str(error))
            return
        self.client_id = int(client_id)
        self.current = score
        self.application = application
        self.explanation = None
        self.scorecard = None
        self._scorecard_asked = False
        self.scorecard_out.value = ""
        self.comparison = None
        self.counterfactual = None
        self.what_if = None
        self._rendered.clear()
        self.status.value = ""
        self._render_score()
        self.main.layout.display = "flex"
        self.tabs.layout.display = "flex"
        self.timings.last_switch = time.perf_counter() - started
        self._reset_what_if(render=False)
        self._render_tab()
        self.timings.steps["switch_total"] = time.perf_counter() - started

    def _render_score(self) -> None:
        assert self.current is not None and self.phrasebook is not None
        result = self.current.result
        client_view = self.client_view.value
        self.gauge.value = gauge_svg(result.risk_score, result.decision, result.review_band)
        self.score_card.value = score_card_html(result, client_view=client_view)
        self.details.value = application_html(
            self.client_id or 0, self.application, self.phrasebook
        )
        self._render_decision_form()

    def _render_decision_form(self) -> None:
        assert self.current is not None
        result = self.current.result
        if self.client_view.value:
            self.decision_box.layout.display = "none"
            return
        low, high = result.review_band
        if result.decision == "review":
            title = (
                "<h2>Décision du conseiller</h2><p>Le score est dans la zone orange "
                f"({number(low)} à {number(high)}) : accordez ou refusez, avec un motif.</p>"
            )
        else:
            label = band_style(result.decision).label.lower()
            title = (
                f"<h2>Déroger à la décision</h2><p>Le modèle indique : {html.escape(label)}. "
                "Vous pouvez décider autrement, avec un motif (enregistré comme dérogation).</p>"
            )
        self.decision_title.value = title
        self.reason.value = ""
        self.decision_result.value = ""
        self.decision_box.layout.display = "flex"

    def _on_view(self) -> None:
        if self.current is None:
            return
        self._render_score()
        self._rendered.discard(WHY)
        self._render_tab()

    # ------------------------------------------------------------------ tabs

    def _render_tab(self) -> None:
        index = self.tabs.selected_index
        if self.client_id is None or index is None or index in self._rendered:
            return
        started = time.perf_counter()
        try:
            if index == WHY:
                self._render_why()
            elif index == IMPORTANCE:
                self._render_importance()
            elif index == COMPARE:
                self._render_compare()
            elif index == WHAT_IF:
                self._render_what_if()
        except DashboardError as error:
            self._show_error(str(error))
            return
        except Exception:  # never a silent failure in a widget callback
            log.exception("rendering tab %s failed", TABS[index])
            self._show_error(f"L'onglet « {TABS[index]} » n'a pas pu être affiché.")
            return
        self._rendered.add(index)
        self.timings.steps[TABS[index]] = time.perf_counter() - started

    def _render_why(self) -> None:
        from credit_scoring.dashboard.compare import figure_png, plot_reasons
        from credit_scoring.explain.local import waterfall

        assert self.backend is not None and self.client_id is not None
        assert self.phrasebook is not None
        if self.explanation is None:
            self.explanation = self.backend.explanation(self.client_id, top=5)
        explanation = self.explanation
        if self.client_view.value:
            png = figure_png(plot_reasons(explanation, self.phrasebook))  # client view
            chart = image_html(
                png, "Les éléments du dossier qui ont le plus pesé sur le score", "cs-chart"
            )
        else:
            png = figure_png(waterfall(explanation, self.phrasebook, max_display=10))
            chart = image_html(
                png,
                "Cascade des contributions au score : en rouge ce qui augmente le risque, "
                "en bleu ce qui le diminue",
                "cs-chart cs-waterfall",
            )
        self.why.value = reasons_html(explanation) + chart
        self._render_scorecard()

    def _render_scorecard(self) -> None:
        """The second reading below the reasons; a failure shows in its own section and
        leaves the reasons shown."""
        from credit_scoring.dashboard.scorecard import scorecard_error_html, scorecard_html

        assert self.backend is not None and self.client_id is not None
        assert self.phrasebook is not None
        started = time.perf_counter()
        try:
            if not self._scorecard_asked:
                self.scorecard = self.backend.scorecard(self.client_id)
                self._scorecard_asked = True
            self.scorecard_out.value = scorecard_html(self.scorecard, self.phrasebook)
        except DashboardError as error:
            self.scorecard_out.value = scorecard_error_html(str(error))
        except Exception:  # never a silent failure in a widget callback
            log.exception("rendering the scorecard reading failed")
            self.scorecard_out.value = scorecard_error_html("réessayez ou prévenez le support.")
        self.timings.steps["scorecard"] = time.perf_counter() - started

    def _render_importance(self) -> None:
        from credit_scoring.dashboard.compare import figure_png, plot_importance

        assert self.phrasebook is not None
        if self.importance is None or self.importance.empty:
            self.importance_out.value = "<p>L'importance globale n'est pas disponible.</p>"
            return
        png = figure_png(plot_importance(self.importance, self.phrasebook))
        self.importance_out.value = (
            "<p>Part de chaque caractéristique dans les écarts de score entre clients "
            "(moyenne sur le lot de production).</p>"
            + image_html(png, "Importance globale des caractéristiques", "cs-chart")
        )

    def _render_compare(self) -> None:
        from credit_scoring.dashboard.compare import Comparison

        if self.reference_missing:
            raise DashboardError(
                "La comparaison n'est pas disponible (population de référence absente) : "
                "prévenez le support."
            )
        if self.reference is None or self.phrasebook is None:
            raise DashboardError("La comparaison est en cours de chargement : rouvrez l'onglet.")
        assert self.backend is not None and self.client_id is not None
        if self.comparison is None:
            neighbours = self.backend.neighbours(self.client_id)
            self.comparison = Comparison(self.reference, neighbours, self.phrasebook)
        comparison = self.comparison
        table = comparison.summary()
        self.compare_intro.value = (
            "<h2>Ce client comparé aux autres</h2>"
            f"<p>Parmi les {comparison.k} clients les plus semblables (mêmes "
            f"caractéristiques clés), {percent(comparison.default_rate, 0)} ont fait défaut. "
            "Clients de référence : ceux dont on connaît l'issue du crédit.</p>"
        )
        self.compare_table.value = table.to_html(
            index=False, classes="cs-table cs-compare-table", border=0
        )
        self._render_compare_plot()

    def _render_compare_plot(self) -> None:
        if self.comparison is None or not self.compare_feature.value:
            return
        from credit_scoring.dashboard.compare import figure_png

        feature = str(self.compare_feature.value)
        png = figure_png(self.comparison.plot(feature))
        label = self.comparison.phrasebook.label(feature)
        self.compare_out.value = image_html(
            png,
            f"{label} : ce client comparé à tous les clients, à ceux qui ont remboursé, à ceux "
            "en défaut et aux clients similaires",
            "cs-chart cs-compare-chart",
        )

    def _render_what_if(self) -> None:
        self._show_what_if()
        self._render_counterfactual()

    # ------------------------------------------------------------------ what if

    def _reset_what_if(self, render: bool = True) -> None:
        app = self.application
        self._busy = True  # one re-score, not one per field
        try:
            self.credit_input.value = round(float(app.get(CREDIT) or 1000.0))
            self.term_input.value = round(term_months(app) or 12)
            income = app.get(INCOME)
            self.income_input.value = float(income) if present(income) else 1000.0
        finally:
            self._busy = False
        self.what_if = None
        if render:
            self._on_what_if()

    def _on_what_if(self) -> None:
        if self._busy or self.client_id is None or self.backend is None:
            return
        changes = self._what_if_changes()
        try:
            self.what_if = self.backend.score_what_if(self.client_id, changes)
        except DashboardError as error:
            message = html.escape(str(error))
            self.what_if_out.value = f'<p class="cs-error" role="alert">{message}</p>'
            return
        self._show_what_if()

    def _what_if_changes(self) -> dict[str, float]:
        return what_if_changes(
            self.credit_input.value,
            self.term_input.value,
            self.income_input.value,
            self.application,
        )

    def _show_what_if(self) -> None:
        assert self.current is not None
        base = self.current.result
        result = self.what_if or base
        style = band_style(result.decision)
        delta = result.risk_score - base.risk_score
        annuity = self._what_if_changes()[ANNUITY]
        self.what_if_out.value = (
            '<div class="cs-card" role="status" aria-live="polite">'
            f"<p>Échéance correspondante : {euros(annuity)} par mois.</p>"
            f'<p>Score avec ces valeurs : <b class="cs-what-if-score" '
            f'data-score="{result.risk_score:.4f}">{score_text(result.risk_score)}</b> / 100 '
            f"({'+' if delta > 0 else ''}{number(delta, 1)} point(s) par rapport au dossier) "
            f'<span class="cs-badge cs-decision-{result.decision}" data-decision='
            f'"{result.decision}" style="background:{style.colour};color:{style.text_colour};'
            f'font-size:16px">{style.icon} {html.escape(style.label)}</span></p></div>'
        )

    def _render_counterfactual(self) -> None:
        assert self.backend is not None and self.client_id is not None
        if self.counterfactual is None:
            try:
                self.counterfactual = self.backend.counterfactual(self.client_id)
            except DashboardError as error:
                self.counterfactual_out.value = f"<p>{html.escape(str(error))}</p>"
                return
        found = self.counterfactual
        self.counterfactual_out.value = (
            "<h2>Suggestion</h2>"
            f'<p class="cs-counterfactual-message">{html.escape(str(found["message"]))}</p>'
        )
        changes = found.get("changes") or {}
        self.apply_button.layout.display = "flex" if found.get("feasible") and changes else "none"

    def _apply_counterfactual(self) -> None:
        found = self.counterfactual or {}
        changes = found.get("changes") or {}
        self._busy = True
        try:
            if CREDIT in changes:
                self.credit_input.value = float(changes[CREDIT][1])
            if "term_months" in changes:
                self.term_input.value = round(float(changes["term_months"][1]))
        finally:
            self._busy = False
        self._on_what_if()

    # ------------------------------------------------------------------ decisions

    def record(self, decision: str) -> None:
        """Record the advisor's decision on the current client (reason required)."""
        if self.current is None or self.client_id is None or self.backend is None:
            return
        try:
            recorded = self.backend.record_decision(
                self.client_id,
                decision,
                self.reason.value,
                decision_id=self.current.decision_id,
            )
        except DashboardError as error:
            self.decision_result.value = (
                f'<p class="cs-error" role="alert">⚠ {html.escape(str(error))}</p>'
            )
            return
        label = band_style(decision).label.lower()
        kind = "dérogation" if recorded.override else "décision"
        self.decision_result.value = (
            f'<p class="cs-ok cs-recorded" role="status" data-decision-id="{recorded.decision_id}" '
            f'data-override="{str(recorded.override).lower()}">✔ {kind.capitalize()} enregistrée '
            f"dans le journal des décisions (n° {recorded.decision_id}) : {html.escape(label)}.</p>"
        )
        self.reason.value = ""


def show(backend: ScoringBackend | None = None) -> Dashboard:
    """Display the dashboard in the notebook (what ``notebooks/dashboard.ipynb`` calls).

    The page shows the shell at once; the model and data load in the background.
    """
    from IPython.display import display

    dashboard = Dashboard(backend)
    display(dashboard.widget)
    return dashboard
