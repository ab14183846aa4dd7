"""Explanations: SHAP global and local, plain-French reasons, counterfactuals, precomputed batch.

Public API (the scoring API and the dashboard call exactly these):

- :class:`Explainer` (``from_scorer``, ``explain``, ``waterfall``), :class:`Explanation`,
  :class:`Reason`: why the model scored a client as it did, on the model's log-odds;
- :func:`counterfactual`, :class:`Counterfactual`, :class:`CounterfactualBounds`: the smallest
  change of credit amount and term that gets an application granted;
- :func:`precompute_explanations`, :func:`load_explanation`: the production batch explained in
  advance, looked up in microseconds;
- :func:`run_explain`, :func:`load_report`: the ``explain`` stage and its outputs.

The fairness audit lives in :mod:`credit_scoring.fairness`.
"""

from credit_scoring.explain.counterfactual import (
    Counterfactual,
    CounterfactualBounds,
    counterfactual,
)
from credit_scoring.explain.local import Explainer, Explanation, Reason
from credit_scoring.explain.stage import ExplainParams, ExplainReport, load_report, run_explain
from credit_scoring.explain.store import load_explanation, precompute_explanations

__all__ = [
    "Counterfactual",
    "CounterfactualBounds",
    "ExplainParams",
    "ExplainReport",
    "Explainer",
    "Explanation",
    "Reason",
    "counterfactual",
    "load_explanation",
    "load_report",
    "precompute_explanations",
    "run_explain",
]
