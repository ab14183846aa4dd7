"""The ``explain`` stage: global importance, stability, precomputed SHAP of the production batch,
three example clients with counterfactuals, the fairness audit, and latency.

:func:`run_explain` writes ``data/reports/explain/`` (tables, figures, the precomputed
explanations and the full summary ``summary.json``) and the headline figures
``data/metrics/explain.json`` (:func:`headline_metrics`); :func:`load_report` reads them back
for the ``04_explain`` notebook.

DVC hashes every one of these files, so none holds what changes from run to run on the same
inputs: the latency, the durations and the champion's registry version go to the stage log
``data/logs/explain.json`` (:mod:`credit_scoring.runlog`).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit_scoring import fairness, paths, runlog
from credit_scoring.explain import importance as imp
from credit_scoring.explain.counterfactual import CounterfactualBounds, counterfactual
from credit_scoring.explain.local import Explainer, Explanation, training_background, waterfall
from credit_scoring.explain.store import EXPLAIN_DIR, load_explanation, precompute_explanations
from credit_scoring.explain.text import Phrasebook
from credit_scoring.labels import number, percent
from credit_scoring.scoring import DECISION_LABELS_FR, DECISIONS, decision, risk_score

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from credit_scoring.scoring import Scorer

log = logging.getLogger(__name__)

CLIENT_ID = "SK_ID_CURR"
TARGET = "TARGET"
METRICS_FILE = "explain.json"
# Files of data/reports/explain/ (load_report reads them back).
SUMMARY = "summary.json"
EXPLANATIONS = "explanations.parquet"
IMPORTANCE = "importance.csv"
FOLDS = "fold_importance.csv"
SAMPLE_SHAP = "sample_shap.parquet"
SAMPLE_VALUES = "sample_values.parquet"
EXAMPLES = "examples.json"
FAIRNESS_RATES = "fairness_rates.csv"
FAIRNESS_GAPS = "fairness_gaps.csv"
TRADEOFF = "fairness_tradeoff.csv"
FIGURES = "figures"
#: Decimals of the additivity error written: float64 boosters add up to about 1e-12, float32
#: ones (XGBoost) to about 1e-6; below 1e-4 it is noise, not a wrong explanation.
ADDITIVITY_DECIMALS = 4
#: The headline figures of ``data/metrics/explain.json``, at most: what ``dvc metrics diff``
#: shows between two runs.
HEADLINE_KEYS: tuple[str, ...] = (
    "shap_additivity_max_error",
    "top1_share",
    "top3_share",
    "gain_shap_overlap",
    "stability_overlap_mean",
    "stability_rank_correlation",
    "gender_refusal_gap",
    "age_band_refusal_gap",
)


@dataclass(frozen=True)
class FairnessParams:
    """The ``explain.fairness`` section."""

    age_edges: tuple[int, ...] = fairness.AGE_EDGES
    min_group_size: int = 30
    tradeoff_rows: int = 10_000  # 0: skip the with/without comparison
    tradeoff_folds: int = 3


@dataclass(frozen=True)
class ExplainParams:
    """The ``explain`` section of ``params.yaml``.

    Attributes
    ----------
    sample_rows
        Clients of the global SHAP sample (drawn from the held-out test split when known).
    top_features
        Features shown in the global figures and written to ``explain.json``.
    reasons, stored_reasons
        Reasons shown per client, and stored per client in the precomputed batch.
    stability_top_k
        Size of the top compared across folds.
    stability_folds, stability_rows
        Only for a champion with a single fitted copy: folds and rows of the refits.
    beeswarm_features
        Features of the SHAP beeswarm.
    waterfall_features
        Bars of a client's waterfall (the rest grouped in one bar).
    latency_clients
        Clients timed one at a time for the latency figures of the stage log (0: not timed).
    seed
        Every sample.
    model_name
        The registered model (its ``champion`` alias).
    counterfactual
        :class:`~credit_scoring.explain.counterfactual.CounterfactualBounds` fields.
    fairness
        :class:`FairnessParams` fields.
    """

    sample_rows: int = 2000
    top_features: int = 20
    reasons: int = 5
    stored_reasons: int = 10
    stability_top_k: int = 10
    stability_folds: int = 5
    stability_rows: int = 10_000
    beeswarm_features: int = 15
    waterfall_features: int = 10
    latency_clients: int = 200
    seed: int = 42
    model_name: str = "credit-scoring"
    counterfactual: CounterfactualBounds = field(default_factory=CounterfactualBounds)
    fairness: FairnessParams = field(default_factory=FairnessParams)

    @classmethod
    def from_dict(cls, params: dict[str, Any] | None) -> ExplainParams:
        """Build from the ``explain`` section; unknown keys are an error.

        Examples
        --------
        >>> p = ExplainParams.from_dict({"sample_rows": 500, "fairness": {"age_edges": [25, 65]}})
        >>> p.sample_rows, p.fairness.age_edges, p.counterfactual.max_term_months
        (500, (25, 65), 60.0)
        """
        values = dict(params or {})
        _check_keys("explain", values, cls)
        if "counterfactual" in values:
            _check_keys("explain.counterfactual", values["counterfactual"], CounterfactualBounds)
            values["counterfactual"] = CounterfactualBounds.from_dict(values["counterfactual"])
        if "fairness" in values:
            section = dict(values["fairness"])
            _check_keys("explain.fairness", section, FairnessParams)
            if "age_edges" in section:
                section["age_edges"] = tuple(int(a) for a in section["age_edges"])
            values["fairness"] = FairnessParams(**section)
        return cls(**values)


def _check_keys(section: str, values: dict[str, Any], kind: type) -> None:
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"params.yaml {section}: unknown key(s) {unknown}; known: {sorted(known)}")


def _percentiles(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 3), "p95_ms": round(p95, 3)}


def _timed(call: Any) -> tuple[float, float]:
    """Wall and CPU milliseconds of one call (CPU of the whole process: the SHAP values of the
    model's copies are computed on worker threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def measure_latency(
    explainer: Explainer, features: pd.DataFrame, store: Path, clients: int, seed: int = 0
) -> dict[str, Any]:
    """Milliseconds per client, one at a time: on-demand explanation of one feature row
    (SHAP + reasons), and look-up of the precomputed one (after the first, loading, call).

    Wall time is what a caller waits; CPU time is the work itself, which is what wall time
    would be on an idle machine (a busy, shared machine inflates wall time).
    """
    frame = features if CLIENT_ID in features.columns else features.reset_index()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=min(clients, len(frame)), replace=False)
    ids = frame[CLIENT_ID].to_numpy()
    explainer.explain(frame.iloc[[int(rows[0])]])  # warm-up: first-call allocations
    on_demand = [_timed(lambda k=k: explainer.explain(frame.iloc[[int(k)]])) for k in rows]
    first, _ = _timed(lambda: load_explanation(int(ids[rows[0]]), store))
    lookup = [_timed(lambda k=k: load_explanation(int(ids[k]), store)) for k in rows]
    out: dict[str, Any] = {"clients": len(rows)}
    for name, timings in (("on_demand", on_demand), ("lookup", lookup)):
        out[name] = _percentiles([w for w, _ in timings]) | {
            "cpu_" + k: v for k, v in _percentiles([c for _, c in timings]).items()
        }
    out["lookup"]["first_call_ms"] = round(first, 1)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["cpus"] = os.cpu_count()
    return out


def pick_examples(ids: np.ndarray, scores: np.ndarray, band: tuple[float, float]) -> dict[str, int]:
    """One client per decision: the median score of the granted and of the refused, the one
    nearest the threshold (50) for review.

    Examples
    --------
    >>> pick_examples(np.array([1, 2, 3, 4, 5]), np.array([10.0, 20, 30, 51, 90]), (45, 55))
    {'grant': 2, 'review': 4, 'refuse': 5}
    """
    out: dict[str, int] = {}
    decisions = np.array([decision(s, band) for s in scores])
    for d in DECISIONS:
        inside = np.flatnonzero(decisions == d)
        if inside.size == 0:
            continue
        target = 50.0 if d == "review" else float(np.median(scores[inside]))
        out[d] = int(ids[inside[np.argmin(np.abs(scores[inside] - target))]])
    return out


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _read_table(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    if frame.index.name == CLIENT_ID:
        frame = frame.reset_index()
    return frame


def run_explain(
    params: dict[str, Any] | None = None,
    *,
    scorer: Scorer | None = None,
    features_dir: Path = paths.FEATURES_DIR,
    models_dir: Path = paths.MODELS_DIR,
    interim_dir: Path = paths.INTERIM_DIR,
    out_dir: Path = EXPLAIN_DIR,
    metrics_dir: Path = paths.METRICS_DIR,
    mlflow_dir: Path = paths.MLFLOW_DIR,
    logs_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the ``explain`` stage; return the summary written to ``out_dir/summary.json``.

    Parameters
    ----------
    params
        The ``explain`` section of ``params.yaml`` (:class:`ExplainParams`).
    scorer
        The model explained; default: the registered champion.
    features_dir
        ``train.parquet`` (global sample, fairness attributes) and ``production.parquet``
        (the batch explained in advance).
    models_dir
        The train stage's ``test_predictions.parquet`` (fairness on held-out clients).
    interim_dir
        The ingested tables (counterfactuals rebuild features from them).
    out_dir
        Receives the tables, figures, ``explanations.parquet`` and ``summary.json``.
    metrics_dir
        Receives ``explain.json`` (:func:`headline_metrics`); its ``data.json`` tells twin
        from real data.
    mlflow_dir
        The registry, when ``scorer`` is not given.
    logs_dir
        The stage log's folder (default ``data/logs``): the latency, the durations and the
        model's registry version, which no output may hold.
    """
    from credit_scoring.features import feature_dictionary
    from credit_scoring.modelling import registry
    from credit_scoring.scoring import Scorer

    p = ExplainParams.from_dict(params)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    out_dir, metrics_dir, models_dir = Path(out_dir), Path(metrics_dir), Path(models_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    figures = out_dir / FIGURES
    if scorer is None:
        scorer = Scorer.from_registry(
            p.model_name, tracking_uri=registry.tracking_uri(Path(mlflow_dir))
        )
    dictionary = feature_dictionary()
    explainer = Explainer.from_scorer(
        scorer, dictionary, background=training_background(Path(features_dir))
    )
    labels = {f: explainer.phrasebook.label(f) for f in scorer.features}
    train = _read_table(Path(features_dir) / "train.parquet")
    test_file = models_dir / "test_predictions.parquet"
    test = pd.read_parquet(test_file) if test_file.exists() else None

    # Global: SHAP on a sample of held-out clients, beside the boosters' gain.
    t0 = time.perf_counter()
    pool = train[train[CLIENT_ID].isin(test[CLIENT_ID])] if test is not None else train
    sample = pool.sample(n=min(p.sample_rows, len(pool)), random_state=p.seed)
    # One pass over the copies gives both the served model's SHAP values (their mean) and each
    # fold model's, for the stability below.
    parts = explainer.engine.per_copy(sample)
    values = np.mean([v for v, _ in parts], axis=0)
    base = np.mean([b for _, b in parts], axis=0)
    # The contributions must add up to the log-odds they explain: checked on every sampled
    # client, the first figure a reviewer of the explanations reads.
    additivity = float(
        np.max(np.abs(values.sum(axis=1) + base - explainer.engine.margin(sample)), initial=0.0)
    )
    table = imp.importance_table(
        values, scorer.features, explainer.engine.gain_importance(), labels
    )
    table.to_csv(out_dir / IMPORTANCE)
    top = list(table.index[: max(p.top_features, 30)])
    pd.DataFrame(values, columns=scorer.features)[top].astype("float32").assign(
        **{CLIENT_ID: sample[CLIENT_ID].to_numpy()}
    ).to_parquet(out_dir / SAMPLE_SHAP, index=False)
    sample[[CLIENT_ID, *top]].to_parquet(out_dir / SAMPLE_VALUES, index=False)
    _save(imp.plot_importance(table, p.top_features), figures / "importance.png")
    _save(
        imp.plot_beeswarm(
            values, sample, scorer.features, explainer.phrasebook, p.beeswarm_features, p.seed
        ),
        figures / "beeswarm.png",
    )
    seconds["global"] = time.perf_counter() - t0

    # Stability of the top features across the fold models.
    t0 = time.perf_counter()
    # Only a cross-validated calibration's copies are fold models; a blend's are families.
    if len(parts) > 1 and hasattr(scorer.model, "calibrated_classifiers_"):
        folds = imp.folds_table([v for v, _ in parts], scorer.features)
        stability_source = "calibrated copies (one model per cross-validation fold)"
    else:
        pool_train = train[~train[CLIENT_ID].isin(test[CLIENT_ID])] if test is not None else train
        refit = pool_train.sample(n=min(p.stability_rows, len(pool_train)), random_state=p.seed)
        engines = imp.refit_fold_engines(
            scorer.model,
            scorer.features,
            refit,
            refit[TARGET],
            folds=p.stability_folds,
            seed=p.seed,
        )
        folds = imp.fold_importance(engines, sample)
        stability_source = f"refits on {p.stability_folds} folds of {len(refit)} training clients"
    folds.to_csv(out_dir / FOLDS)
    stab = imp.stability(folds, p.stability_top_k, reference=table["mean_abs_shap"])
    stab["source"] = stability_source
    _save(imp.plot_stability(folds, labels, p.stability_top_k), figures / "stability.png")
    seconds["stability"] = time.perf_counter() - t0

    # The production batch, explained in advance.
    t0 = time.perf_counter()
    production = _read_table(Path(features_dir) / "production.parquet")
    store = out_dir / EXPLANATIONS
    precompute_explanations(explainer, production, store, reasons=p.stored_reasons)
    seconds["precompute"] = time.perf_counter() - t0
    seconds["precompute_per_1000"] = 1000 * seconds["precompute"] / max(len(production), 1)

    # Three example clients of the production batch, with counterfactuals.
    t0 = time.perf_counter()
    proba = scorer.predict_proba(production)
    scores = np.asarray(
        risk_score(proba, scorer.threshold, scorer.points_to_double_odds), dtype=float
    )
    ids = production[CLIENT_ID].to_numpy()
    picked = pick_examples(ids, scores, scorer.review_band)
    candidates = production
    if len(picked) < len(DECISIONS) and test is not None:
        # A decision nobody in the batch gets: take its example among held-out clients.
        held_out = train[train[CLIENT_ID].isin(test[CLIENT_ID])]
        held_scores = np.asarray(
            risk_score(
                scorer.predict_proba(held_out), scorer.threshold, scorer.points_to_double_odds
            ),
            dtype=float,
        )
        more = pick_examples(held_out[CLIENT_ID].to_numpy(), held_scores, scorer.review_band)
        picked = {d: picked.get(d, more.get(d)) for d in DECISIONS if d in picked or d in more}
        candidates = pd.concat([production, held_out.drop(columns=[TARGET])], ignore_index=True)
    examples: dict[str, Any] = {}
    for d, cid in picked.items():
        row = candidates[candidates[CLIENT_ID] == cid]
        explanation = explainer.explain(row, top=p.reasons)[0]
        result = scorer.score_features(row)[0]
        result.reasons = [r.to_dict() for r in explanation.reasons]
        # The registry version and the search's duration differ from run to run: the API
        # answers with them, the stage's outputs must not hold them.
        score = {k: v for k, v in result.to_dict().items() if k != "model_version"}
        entry: dict[str, Any] = {"score": score, "explanation": explanation.to_dict()}
        if d != "grant":
            cf = counterfactual(scorer, cid, bounds=p.counterfactual, interim_dir=interim_dir)
            entry["counterfactual"] = {k: v for k, v in cf.to_dict().items() if k != "seconds"}
        examples[d] = entry
        _save(
            explainer.waterfall(explanation, p.waterfall_features), figures / f"waterfall_{d}.png"
        )
    (out_dir / EXAMPLES).write_text(
        json.dumps(examples, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    seconds["examples"] = time.perf_counter() - t0
    decision_shares = {
        d: float(np.mean([decision(s, scorer.review_band) == d for s in scores])) for d in DECISIONS
    }

    # Fairness on held-out predictions (else, flagged, in-sample on training clients).
    t0 = time.perf_counter()
    f = p.fairness
    if test is not None:
        audited = test.merge(train[[CLIENT_ID, "CODE_GENDER", "AGE_YEARS"]], on=CLIENT_ID)
        audited_p = audited["p_calibrated"].to_numpy()
        fairness_source = "held-out test split of the train stage"
    else:
        audited = train.sample(n=min(20_000, len(train)), random_state=p.seed)
        audited_p = scorer.predict_proba(audited)
        fairness_source = "training clients, in-sample (no test predictions found): optimistic"
    result_audit = fairness.audit(
        audited[TARGET].to_numpy(),
        audited_p,
        scorer.threshold,
        fairness.sensitive_frame(audited, f.age_edges),
        min_group_size=f.min_group_size,
    )
    result_audit.rates.to_csv(out_dir / FAIRNESS_RATES, index=False)
    result_audit.gaps.to_csv(out_dir / FAIRNESS_GAPS, index=False)
    in_model = fairness.sensitive_features_in(scorer.features)
    tradeoff = None
    if f.tradeoff_rows > 0:
        tradeoff = _tradeoff(scorer, train, test, in_model, p)
        tradeoff.to_csv(out_dir / TRADEOFF)
    seconds["fairness"] = time.perf_counter() - t0

    latency = None
    if p.latency_clients > 0:
        t0 = time.perf_counter()
        latency = measure_latency(explainer, production, store, p.latency_clients, p.seed)
        seconds["latency"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - started

    summary: dict[str, Any] = {
        "model_copies": len(explainer.engine.copies),
        "model_kind": sorted(set(explainer.engine.kinds)),
        "explained_output": "raw log-odds: the members' weighted log-odds, before calibration",
        "features": len(scorer.features),
        "sample_rows": len(sample),
        "base_value": float(np.mean(base)),
        # Rounded: the error is float noise, which may differ between machines.
        "additivity_max_error": round(additivity, ADDITIVITY_DECIMALS),
        "top_features": [
            {
                "feature": str(name),
                "label": str(row["label"]),
                "mean_abs_shap": float(row["mean_abs_shap"]),
                "share": float(row["share"]),
                "gain_share": None if pd.isna(row["gain_share"]) else float(row["gain_share"]),
            }
            for name, row in table.head(p.top_features).iterrows()
        ],
        "gain_shap_rank_overlap": float(
            len(
                set(table.index[: p.stability_top_k])
                & set(table.sort_values("gain_share", ascending=False).index[: p.stability_top_k])
            )
            / p.stability_top_k
        ),
        "stability": stab,
        "production": {"clients": len(production), "decision_shares": decision_shares},
        "examples": {
            d: {
                "client_id": e["score"]["client_id"],
                "risk_score": e["score"]["risk_score"],
                "reasons": [r["sentence"] for r in e["explanation"]["reasons"]],
                "counterfactual": e.get("counterfactual", {}).get("message"),
            }
            for d, e in examples.items()
        },
        "fairness": {
            "source": fairness_source,
            "sensitive_features_in_model": in_model,
            **result_audit.to_dict(),
            "tradeoff": None if tradeoff is None else tradeoff.to_dict("index"),
        },
        "settings": _jsonable(asdict(p)),
    }
    origin = Path(metrics_dir) / "data.json"
    if origin.exists():
        summary["origin"] = json.loads(origin.read_text(encoding="utf-8")).get("origin")
    (out_dir / SUMMARY).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (metrics_dir / METRICS_FILE).write_text(
        json.dumps(headline_metrics(summary), indent=2), encoding="utf-8"
    )
    runlog.record(
        "explain",
        {
            "model_version": scorer.model_version,
            "latency": latency,
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
        },
        logs_dir,
    )
    return summary


def _rounded(value: Any, decimals: int = 4) -> float | None:
    """A float for the metrics file, ``None`` for a missing or non-finite one (JSON has no NaN)."""
    if value is None or not np.isfinite(float(value)):
        return None
    return round(float(value), decimals)


def headline_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The few figures of the explain summary worth comparing between runs, flat and numeric.

    - ``shap_additivity_max_error``: the largest gap between a sampled client's log-odds and its
      base value plus contributions (0 up to float noise);
    - ``top1_share``, ``top3_share``: share of the total mean |SHAP| of the first and of the
      first three features;
    - ``gain_shap_overlap``: share of the SHAP top-k also in the gain's top-k;
    - ``stability_overlap_mean``, ``stability_rank_correlation``: how much the top-k moves
      between the fold models;
    - ``gender_refusal_gap``, ``age_band_refusal_gap``: the largest difference of refusal rate
      between groups (left out when no two groups are large enough to compare).

    Shares are rounded to 4 decimals: enough to read a change, few enough to read at a glance.

    Examples
    --------
    >>> summary = {
    ...     "additivity_max_error": 0.0,
    ...     "top_features": [{"share": 0.2}, {"share": 0.1}, {"share": 0.05}, {"share": 0.01}],
    ...     "gain_shap_rank_overlap": 0.7,
    ...     "stability": {"overlap_mean": 0.9, "rank_correlation_mean": float("nan")},
    ...     "fairness": {"gaps": {"gender": {"refusal_rate": {"difference": 0.031234}}}},
    ... }
    >>> headline_metrics(summary)  # doctest: +NORMALIZE_WHITESPACE
    {'shap_additivity_max_error': 0.0, 'top1_share': 0.2, 'top3_share': 0.35,
     'gain_shap_overlap': 0.7, 'stability_overlap_mean': 0.9, 'gender_refusal_gap': 0.0312}
    """
    top = summary["top_features"]
    stab = summary["stability"]
    gaps = summary["fairness"]["gaps"]
    values: dict[str, Any] = {
        "shap_additivity_max_error": _rounded(summary["additivity_max_error"], ADDITIVITY_DECIMALS),
        "top1_share": _rounded(top[0]["share"]) if top else None,
        "top3_share": _rounded(sum(t["share"] for t in top[:3])) if top else None,
        "gain_shap_overlap": _rounded(summary["gain_shap_rank_overlap"]),
        "stability_overlap_mean": _rounded(stab["overlap_mean"]),
        "stability_rank_correlation": _rounded(stab.get("rank_correlation_mean")),
    }
    for attribute in ("gender", "age_band"):
        gap = gaps.get(attribute, {}).get("refusal_rate")
        values[f"{attribute}_refusal_gap"] = _rounded(gap["difference"]) if gap else None
    return {k: v for k, v in values.items() if v is not None}


def _tradeoff(
    scorer: Scorer,
    train: pd.DataFrame,
    test: pd.DataFrame | None,
    in_model: list[str],
    p: ExplainParams,
) -> pd.DataFrame:
    """AUC, cost and refusal-rate gap of the champion's pipeline with and without gender, by
    cross-validation on training clients (never the test split)."""
    from sklearn.base import clone

    from credit_scoring.explain._model import fitted_copies
    from credit_scoring.modelling.evaluate import stratified_subsample

    attribute = sorted(set(in_model) | {"CODE_GENDER"})
    columns = [c for c in scorer.features if c not in attribute] + attribute
    pool = train[~train[CLIENT_ID].isin(test[CLIENT_ID])] if test is not None else train
    X, y = stratified_subsample(
        pool[columns], pool[TARGET].to_numpy(), p.fairness.tradeoff_rows, p.seed
    )
    groups = pool.loc[X.index, "CODE_GENDER"].astype(object)
    cost = scorer.metadata
    return fairness.attribute_tradeoff(
        clone(fitted_copies(scorer.model)[0]),
        X.reset_index(drop=True),
        y,
        attribute,
        groups.reset_index(drop=True),
        folds=p.fairness.tradeoff_folds,
        seed=p.seed,
        cost_fn=float(cost.get("cost_fn", 10.0)),
        cost_fp=float(cost.get("cost_fp", 1.0)),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class ExplainReport:
    """Everything the ``explain`` notebook shows, read back from the stage's outputs.

    ``summary`` is ``summary.json``, the full summary of the stage (:func:`run_explain`).
    """

    summary: dict[str, Any]
    importance: pd.DataFrame
    folds: pd.DataFrame
    sample_shap: pd.DataFrame
    sample_values: pd.DataFrame
    examples: dict[str, Any]
    fairness_rates: pd.DataFrame
    fairness_gaps: pd.DataFrame
    tradeoff: pd.DataFrame | None
    out_dir: Path

    def labels(self) -> dict[str, str]:
        """French label of each feature."""
        return self.importance["label"].to_dict()

    def phrasebook(self) -> Phrasebook:
        """Labels and value formats of the features."""
        from credit_scoring.features import feature_dictionary

        return Phrasebook.from_dictionary(feature_dictionary())

    def explanation(self, decision_name: str) -> Explanation:
        """The example client of a decision (``grant``, ``review``, ``refuse``)."""
        return Explanation.from_dict(self.examples[decision_name]["explanation"])

    def plot_importance(self, top: int = 20) -> Figure:
        """Mean |SHAP| beside the gain share, top features."""
        return imp.plot_importance(self.importance, top)

    def plot_beeswarm(self, top: int = 15) -> Figure:
        """The SHAP values of the sample, coloured by the feature's value."""
        features = [c for c in self.sample_shap.columns if c != CLIENT_ID]
        values = self.sample_shap[features].to_numpy(dtype=float)
        return imp.plot_beeswarm(
            values, self.sample_values[features], features, self.phrasebook(), top
        )

    def stability_table(self) -> pd.DataFrame:
        """Rank of each top feature in each fold model."""
        top_k = int(self.summary["stability"]["top_k"])
        return imp.stability_table(self.folds, top_k, self.labels())

    def plot_stability(self) -> Figure:
        """Ranks of the top features across the fold models."""
        return imp.plot_stability(
            self.folds, self.labels(), int(self.summary["stability"]["top_k"])
        )

    def waterfall(self, decision_name: str, max_display: int = 10) -> Figure | None:
        """The waterfall of a decision's example client (None when the run found none)."""
        if decision_name not in self.examples:
            return None
        return waterfall(self.explanation(decision_name), self.phrasebook(), max_display)

    def example_markdown(self, decision_name: str) -> str:
        """The example client of a decision, in French: score, reasons, counterfactual."""
        if decision_name not in self.examples:
            said = DECISION_LABELS_FR[decision_name]
            return f"Aucun client du lot ne reçoit la décision « {said} »."
        example = self.examples[decision_name]
        score = example["score"]
        lines = [
            f"**Client {score['client_id']}** : score de risque **{number(score['risk_score'])}** "
            f"sur 100 (probabilité de défaut {percent(score['probability_default'])}), "
            f"décision « {DECISION_LABELS_FR[score['decision']]} ». Ce qui a le plus pesé :",
            "",
        ]
        lines += [f"- {r['sentence']}" for r in example["explanation"]["reasons"]]
        if "counterfactual" in example:
            lines += [
                "",
                f"**Ce qui changerait la décision.** {example['counterfactual']['message']}",
            ]
        return "\n".join(lines)

    def audit(self) -> fairness.FairnessAudit:
        """The fairness audit as computed by the stage."""
        fm = self.summary["fairness"]
        return fairness.FairnessAudit(
            rates=self.fairness_rates,
            gaps=self.fairness_gaps,
            overall=fm["overall"],
            excluded=fm["excluded"],
            threshold=fm["threshold"],
        )


def load_report(out_dir: Path = EXPLAIN_DIR) -> ExplainReport:
    """Read the outputs of :func:`run_explain` (all in ``out_dir``)."""
    out_dir = Path(out_dir)
    tradeoff_path = out_dir / TRADEOFF
    return ExplainReport(
        summary=json.loads((out_dir / SUMMARY).read_text(encoding="utf-8")),
        importance=pd.read_csv(out_dir / IMPORTANCE, index_col="feature"),
        folds=pd.read_csv(out_dir / FOLDS, index_col="feature"),
        sample_shap=pd.read_parquet(out_dir / SAMPLE_SHAP),
        sample_values=pd.read_parquet(out_dir / SAMPLE_VALUES),
        examples=json.loads((out_dir / EXAMPLES).read_text(encoding="utf-8")),
        fairness_rates=pd.read_csv(out_dir / FAIRNESS_RATES),
        fairness_gaps=pd.read_csv(out_dir / FAIRNESS_GAPS),
        tradeoff=pd.read_csv(tradeoff_path, index_col=0) if tradeoff_path.exists() else None,
        out_dir=out_dir,
    )
