"""Counterfactuals: the smallest realistic change to the application that gets it granted.

Only what the client can change in the application moves: the credit amount (by a down
payment, the goods price kept, or by a cheaper purchase, the goods price lowered with it) and
the repayment term (the annuity spread over more months). Everything else — age, income,
history, external scores — is held fixed. Every derived feature (credit / income, annuity /
income, payment rate, goods ratio...) is recomputed by the feature code itself, from the
modified application rows and the client's unchanged history, so the ratios move together.

The search is a grid over (credit share, term, lever), scored in one batch (about a hundred
rows: milliseconds); the chosen change is then re-scored through the public serving path
(``features_for_clients(ids, applications=...)``) so the answer is exactly what the API would
say for that application.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from credit_scoring import paths
from credit_scoring.labels import number, percent
from credit_scoring.scoring import DECISION_LABELS_FR, decision

if TYPE_CHECKING:
    from credit_scoring.scoring import Scorer

CLIENT_ID = "SK_ID_CURR"
CREDIT, ANNUITY, GOODS = "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"
#: The application inputs a counterfactual may change.
ACTIONABLE_INPUTS: tuple[str, ...] = (CREDIT, ANNUITY, GOODS)
TERM = "term_months"
Lever = Literal["down_payment", "cheaper_goods"]


@dataclass(frozen=True)
class CounterfactualBounds:
    """What counts as a realistic change.

    Attributes
    ----------
    min_credit_share
        The credit may go down to this share of the amount asked (0.5: half).
    max_term_months
        The repayment may be spread up to this many monthly payments (never shortened).
    credit_steps, term_steps
        Points of the grid over ``[min_credit_share, 1]`` and ``[current term, max term]``.
    down_payment
        Allow a lower credit with the same goods price (the client pays the difference).
    cheaper_goods
        Allow a lower credit with a goods price lowered in proportion.
    term_weight
        Effort of a longer term against a smaller credit: doubling the term counts as
        cutting the credit by ``term_weight`` (0.5: by half). The smallest effort wins.
    """

    min_credit_share: float = 0.5
    max_term_months: float = 60.0
    credit_steps: int = 11
    term_steps: int = 7
    down_payment: bool = True
    cheaper_goods: bool = True
    term_weight: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.min_credit_share <= 1.0:
            raise ValueError(f"min_credit_share must be in (0, 1], got {self.min_credit_share}")
        if self.max_term_months <= 0:
            raise ValueError(f"max_term_months must be positive, got {self.max_term_months}")
        if self.credit_steps < 1 or self.term_steps < 1:
            raise ValueError("credit_steps and term_steps must be at least 1")

    @classmethod
    def from_dict(cls, params: dict[str, Any] | None) -> CounterfactualBounds:
        """From the ``explain.counterfactual`` section of ``params.yaml``."""
        return cls(**(params or {}))


@dataclass
class Counterfactual:
    """The answer to « what would get this application granted? ».

    Attributes
    ----------
    client_id
        The client.
    feasible
        Whether a change within the bounds gets the application granted.
    changes
        Changed inputs, ``name: (old, new)``: among ``AMT_CREDIT``, ``AMT_GOODS_PRICE``,
        ``AMT_ANNUITY`` and ``term_months`` (credit / annuity); empty when no change is needed
        or none works.
    new_probability, new_risk_score, new_decision
        The score with the changes (feasible), or the best reachable within the bounds.
    message
        The answer in French, for the advisor and the client.
    probability, risk_score, decision
        The score of the application as it is.
    lever
        ``down_payment`` or ``cheaper_goods`` when the credit goes down, else None.
    """

    client_id: int | None
    feasible: bool
    changes: dict[str, tuple[Any, Any]]
    new_probability: float | None
    new_risk_score: float | None
    new_decision: str | None
    message: str
    probability: float = float("nan")
    risk_score: float = float("nan")
    decision: str = ""
    lever: str | None = None
    candidates: int = 0
    seconds: float = 0.0
    application: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (changes as ``[old, new]`` pairs; no application frame)."""
        out = asdict(self)
        out.pop("application", None)
        out["changes"] = {k: [_py(a), _py(b)] for k, (a, b) in self.changes.items()}
        return {k: _py(v) if not isinstance(v, dict | list) else v for k, v in out.items()}


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _euros(value: float) -> str:
    return f"{number(round(value, -2) if value >= 1000 else value)}\u00a0€"


def _assemble(
    applications: pd.DataFrame, history: pd.DataFrame, levels: dict[str, list[str]]
) -> pd.DataFrame:
    """Features of application rows sharing one client's history, by the feature code itself.

    Rows get surrogate ids 0..n-1: the feature code keys rows by ``SK_ID_CURR`` and a client's
    variants would collide; no feature depends on the id.
    """
    from credit_scoring.features import build

    rows = applications.reset_index(drop=True).assign(**{CLIENT_ID: np.arange(len(applications))})
    repeated = pd.concat([history] * len(rows), ignore_index=True)
    return build._assemble(rows, repeated, levels)


@dataclass(frozen=True)
class _Grid:
    share: np.ndarray
    term: np.ndarray
    lever: np.ndarray
    effort: np.ndarray


def variants(application: pd.DataFrame, bounds: CounterfactualBounds) -> tuple[pd.DataFrame, _Grid]:
    """Modified copies of one application row over the grid of changes (the first row is the
    application unchanged)."""
    row = application.iloc[0]
    credit = float(row.get(CREDIT, np.nan))
    annuity = float(row.get(ANNUITY, np.nan))
    goods = float(row.get(GOODS, np.nan))
    if not np.isfinite(credit) or credit <= 0:
        raise ValueError("the application has no credit amount to change")
    term0 = credit / annuity if np.isfinite(annuity) and annuity > 0 else np.nan
    shares = np.unique(np.r_[1.0, np.linspace(bounds.min_credit_share, 1.0, bounds.credit_steps)])
    terms = np.array([term0])
    if np.isfinite(term0) and term0 < bounds.max_term_months:
        terms = np.unique(
            np.r_[term0, np.linspace(term0, bounds.max_term_months, bounds.term_steps)]
        )
    levers: list[Lever] = []
    if bounds.down_payment or not np.isfinite(goods):
        levers.append("down_payment")
    if bounds.cheaper_goods and np.isfinite(goods):
        levers.append("cheaper_goods")
    if not levers:
        levers = ["down_payment"]

    share_col, term_col, lever_col = [], [], []
    for lever in levers:
        for s in shares[::-1]:
            if s == 1.0 and lever != levers[0]:
                continue  # the same rows as the first lever's
            for t in terms:
                share_col.append(s)
                term_col.append(t)
                lever_col.append(lever)
    share = np.array(share_col)
    term = np.array(term_col)
    lever_arr = np.array(lever_col)
    frame = pd.concat([application.iloc[[0]]] * len(share), ignore_index=True)
    frame[CREDIT] = credit * share
    if np.isfinite(term0):
        # The annuity follows the credit and the term: annuity = credit / term, at the same
        # implicit cost as the original offer.
        frame[ANNUITY] = annuity * share * term0 / term
    if np.isfinite(goods):
        frame[GOODS] = np.where(lever_arr == "cheaper_goods", goods * share, goods)
    relative_term = np.nan_to_num((term - term0) / term0) if np.isfinite(term0) else 0.0 * term
    effort = (1.0 - share) + bounds.term_weight * relative_term
    return frame, _Grid(share, term, lever_arr, effort)


def _history(client_id: int, interim_dir: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    from credit_scoring.features import application as app_features
    from credit_scoring.features import engine

    history = engine.history_aggregates([client_id], interim_dir, restrict=True)
    return history.reset_index(drop=True), app_features.category_levels(interim_dir)


def _describe(changes: dict[str, tuple[Any, Any]], lever: str | None) -> str:
    """The changes as an action: « ramener le crédit à ... et étaler le remboursement sur ... »,
    then what the client would pay per month."""
    parts = []
    if CREDIT in changes:
        old, new = changes[CREDIT]
        if lever == "cheaper_goods" and GOODS in changes:
            g_old, g_new = changes[GOODS]
            parts.append(
                f"choisir un bien de {_euros(g_new)} au lieu de {_euros(g_old)}, "
                f"pour un crédit de {_euros(new)} au lieu de {_euros(old)}"
            )
        else:
            parts.append(
                f"ramener le crédit à {_euros(new)} au lieu de {_euros(old)}, "
                f"grâce à un apport de {_euros(old - new)}"
            )
    if TERM in changes:
        old_t, new_t = changes[TERM]
        parts.append(f"étaler le remboursement sur {number(new_t)} mois au lieu de {number(old_t)}")
    text = " et ".join(parts)
    if ANNUITY in changes:
        a_old, a_new = changes[ANNUITY]
        text += f" ; l'échéance serait de {_euros(a_new)} au lieu de {_euros(a_old)}"
    return text


def _best_text(score: float, best: float, label: str) -> str:
    """The best score reachable, said plainly.

    >>> _best_text(53.2, 53.0, "refusé")
    'le score de risque (53) ne baisserait pas'
    """
    if round(best) >= round(score):
        return f"le score de risque ({number(score)}) ne baisserait pas"
    return (
        f"au mieux, le score de risque passerait de {number(score)} à {number(best)} "
        f"(décision : {label})"
    )


def _bounds_text(bounds: CounterfactualBounds, credit: float, term0: float) -> str:
    parts = []
    if bounds.min_credit_share < 1:
        cut = 1 - bounds.min_credit_share
        floor = _euros(credit * bounds.min_credit_share)
        parts.append(f"un crédit réduit jusqu'à {percent(cut, 0)} (soit {floor})")
    if np.isfinite(term0) and term0 < bounds.max_term_months:
        parts.append(f"un remboursement étalé jusqu'à {number(bounds.max_term_months)} mois")
    return " et ".join(parts) if parts else "les seules modifications autorisées"


def counterfactual(
    scorer: Scorer,
    client_id: int | None = None,
    application: pd.DataFrame | None = None,
    bounds: CounterfactualBounds | None = None,
    *,
    interim_dir: Path = paths.INTERIM_DIR,
    verify: bool = True,
) -> Counterfactual:
    """The smallest change to the credit amount and term that gets an application granted.

    Parameters
    ----------
    scorer
        The served scorer (model, threshold, review band).
    client_id
        The client; its stored application is used unless ``application`` is given.
    application
        One application row (the columns of application_test); its ``SK_ID_CURR`` is
        replaced by ``client_id`` when given.
    bounds
        The realistic changes (default :class:`CounterfactualBounds`).
    interim_dir
        The ingested tables (the client's history and the category levels).
    verify
        Re-score the chosen change through ``features_for_clients`` (the API's path).

    Returns
    -------
    Counterfactual
        Feasible with its changes, or not feasible with the best score reachable.
    """
    import time

    from credit_scoring.features import engine as feature_engine
    from credit_scoring.features import features_for_clients

    started = time.perf_counter()
    bounds = bounds or CounterfactualBounds()
    interim_dir = Path(interim_dir)
    if application is None:
        if client_id is None:
            raise ValueError("counterfactual needs a client_id or an application")
        application = feature_engine.lookup_applications([int(client_id)], interim_dir)
        if application.empty:
            raise KeyError(f"no stored application for client {client_id}")
    if len(application) != 1:
        raise ValueError(f"counterfactual takes one application row, got {len(application)}")
    application = application.reset_index(drop=True).copy()
    if client_id is not None:
        application[CLIENT_ID] = int(client_id)
    if CLIENT_ID not in application or application[CLIENT_ID].isna().any():
        raise ValueError(f"the application needs a {CLIENT_ID} or a client_id")
    cid = int(application[CLIENT_ID].iloc[0])

    history, levels = _history(cid, interim_dir)
    frame, grid = variants(application, bounds)
    features = _assemble(frame, history, levels)
    proba = scorer.predict_proba(features)
    scores = np.asarray(scorer.risk_score(proba), dtype=float)
    decisions = np.array([decision(s, scorer.review_band) for s in scores])

    p0, s0, d0 = float(proba[0]), float(scores[0]), str(decisions[0])
    credit0 = float(frame[CREDIT].iloc[0])
    term0 = float(grid.term[0])
    base = {"probability": p0, "risk_score": s0, "decision": d0, "client_id": cid}

    def done(**kw: Any) -> Counterfactual:
        return Counterfactual(
            **base, **kw, candidates=len(frame), seconds=time.perf_counter() - started
        )

    if d0 == "grant":
        return done(
            feasible=True,
            changes={},
            new_probability=p0,
            new_risk_score=s0,
            new_decision=d0,
            message="La demande est déjà accordée : aucune modification n'est nécessaire.",
        )

    granted = np.flatnonzero(decisions == "grant")
    if granted.size == 0:
        best = int(np.argmin(scores))
        label = DECISION_LABELS_FR[str(decisions[best])].lower()
        return done(
            feasible=False,
            changes={},
            new_probability=float(proba[best]),
            new_risk_score=float(scores[best]),
            new_decision=str(decisions[best]),
            message=(
                f"Même avec {_bounds_text(bounds, credit0, term0)}, la demande ne serait pas "
                f"accordée : {_best_text(s0, float(scores[best]), label)}. La décision tient "
                "surtout à d'autres éléments du dossier, que le montant et la durée ne "
                "compensent pas."
            ),
        )

    # Smallest effort first; among equal efforts, the lowest risk.
    ranked = granted[np.lexsort((scores[granted], grid.effort[granted]))]
    for k in ranked:
        new_row = frame.iloc[[int(k)]].reset_index(drop=True)
        changes: dict[str, tuple[Any, Any]] = {}
        for column in ACTIONABLE_INPUTS:
            old, new = application[column].iloc[0], new_row[column].iloc[0]
            if pd.notna(old) and pd.notna(new) and not np.isclose(float(old), float(new)):
                changes[column] = (float(old), float(new))
        if np.isfinite(term0) and not np.isclose(grid.term[k], term0):
            changes[TERM] = (round(term0, 1), round(float(grid.term[k]), 1))
        p_new, s_new = float(proba[k]), float(scores[k])
        if verify:
            served = features_for_clients([cid], interim_dir, applications=new_row)
            p_new = float(scorer.predict_proba(served)[0])
            s_new = float(scorer.risk_score(p_new))
        d_new = decision(s_new, scorer.review_band)
        if d_new != "grant":  # the batch and the serving path disagree: try the next one
            continue
        lever = None
        if CREDIT in changes:
            lever = str(grid.lever[k])
        return done(
            feasible=True,
            changes=changes,
            new_probability=p_new,
            new_risk_score=s_new,
            new_decision=d_new,
            lever=lever,
            application=new_row,
            message=(
                f"Pour que la demande soit accordée, il suffirait de {_describe(changes, lever)}. "
                f"Le score de risque passerait de {number(s0)} à {number(s_new)}."
            ),
        )
    raise RuntimeError("the serving path disagrees with the batch features on every candidate")
