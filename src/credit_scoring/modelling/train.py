"""The ``train`` stage: compare, tune, calibrate, choose the threshold, register the champion.

1. Hold out a stratified test split, used for no choice at all (only the final report).
2. Cross-validate every model x imbalance strategy (on a stratified subsample of the training
   part when ``compare_rows`` is set): the results table.
3. Tune the hyperparameters of the best pair of the blend's families with Optuna (each trial
   an MLflow child run).
4. Fit the champion, a blend of boosters (:mod:`~credit_scoring.modelling.blend`): each
   member's number of trees by early stopping on out-of-fold predictions, weights on the
   out-of-fold log-odds, calibration after blending, members refitted on the whole training
   part; choose the cost-minimising threshold on its calibrated out-of-fold probabilities.
5. Score the test split once: AUC, cost per client, bootstrap intervals, and, on the data
   twin, the oracle (the true probabilities) on the same clients.
6. Log everything to MLflow, register the champion with alias ``champion``, and write
   ``data/models/`` (tables and predictions for the report) and ``data/metrics/train.json``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from credit_scoring import paths, runlog
from credit_scoring.fairness import sensitive_features_in
from credit_scoring.modelling import plots, registry
from credit_scoring.modelling.band import band_policies, band_sweep
from credit_scoring.modelling.blend import BOOSTERS, BlendFit, MemberSpec, fit_blend
from credit_scoring.modelling.calibration import (
    Method,
    calibration_summary,
    reliability_table,
)
from credit_scoring.modelling.cost import (
    best_threshold,
    cost_curve,
    cost_per_client,
    summarise_cost,
    theoretical_threshold,
)
from credit_scoring.modelling.evaluate import (
    TIMING_COLUMNS,
    bootstrap_ci,
    compare_candidates,
    probability_metrics,
    roc_auc,
    selection_table,
    stratified_folds,
    stratified_subsample,
)
from credit_scoring.modelling.scorecard import Scorecard, fit_scorecard
from credit_scoring.modelling.tuning import Objective, TuningResult, tune
from credit_scoring.modelling.zoo import (
    MODELS,
    STRATEGIES,
    Model,
    Strategy,
    candidates,
)
from credit_scoring.scoring import check_band, risk_score

log = logging.getLogger(__name__)

CLIENT_ID = "SK_ID_CURR"
TARGET = "TARGET"
TRUTH_COLUMN = "probability_default"

# Files of data/models/ (the report reads them back with load_report).
RESULTS_FILE = "results.csv"
SELECTION_FILE = "selection.csv"
CHAMPION_FILE = "champion.json"
OOF_FILE = "oof_predictions.parquet"
TEST_FILE = "test_predictions.parquet"
COST_CURVE_FILE = "cost_curve.csv"
TRIALS_FILE = "tuning_trials.csv"
EARLY_STOPPING_FILE = "early_stopping.csv"
SCORECARD_FILE = "scorecard.json"
SCORECARD_TABLE_FILE = "scorecard.csv"
BLEND_FILE = "blend.csv"
GAINS_FILE = "gains.csv"
BAND_SWEEP_FILE = "band_sweep.csv"
PLOTS_DIR = "plots"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "train.json"
#: The figures of ``train.json`` (``dvc metrics show`` and ``diff``); the rest is in
#: ``data/models/summary.json``, which the report and the site read.
HEADLINE = (
    "cv_auc",
    "test_auc",
    "test_auc_ci",
    "test_cost_per_client",
    "test_cost_ci",
    "threshold",
    "test_recall",
    "test_refusal_rate",
)


@dataclass(frozen=True)
class TrainParams:
    """The ``train`` section of ``params.yaml`` (defaults: the full-scale settings).

    Attributes
    ----------
    seed
        Seed of every split, sampler and model.
    test_size
        Share of clients held out for the final test (stratified).
    cost_fn, cost_fp
        Business cost of a missed default and of a refused good client.
    review_band
        Risk-score band (bounds included) of the ``review`` decision.
    models, strategies
        What the comparison crosses (the constant baseline only without strategy).
    compare_rows, compare_folds
        Stratified subsample of the training part for the comparison (0 = all rows), folds.
    select_by
        ``cost`` or ``roc_auc``: the criterion that picks the pair to tune (see
        :func:`~credit_scoring.modelling.evaluate.selection_table`: among the pairs within
        one paired standard error of the best, the better other measure wins).
    tune_trials, tune_rows, tune_folds, tune_objective
        Optuna budget (a number of trials, never a duration), its data (0 = all training
        rows) and folds, and its objective (``roc_auc`` or ``cost``).
    blend, blend_strategies
        The booster families blended into the champion, each with its best strategy of the
        comparison among ``blend_strategies`` (``none`` when it was not compared); the best
        pair among them is tuned, the others keep their defaults. Resampling strategies
        multiply the cost of the early stopping's fits; the comparison still weighs them all.
    max_trees, tree_step, patience
        Early stopping: the most trees tried per member, the spacing of the numbers of trees
        scored out of fold, and the trees without a better validation AUC after which a
        fold's copy stops growing (0: every fold grows ``max_trees``).
    blend_weight_step, seeds
        The spacing of the blend's weight grid, and the random seeds averaged per member.
    calibration, calibration_folds
        ``isotonic`` or ``sigmoid``, and the folds of the champion's early stopping,
        weights and calibration (also the folds of its out-of-fold predictions).
    points_to_double_odds
        The risk score's scale: points between two odds of default one double the other.
    scorecard_candidates, scorecard_features
        The scorecard challenger: its candidates (the champion's features of largest gain)
        and the most features it keeps.
    bootstrap
        Resamples of the test split for the 95 % intervals.
    n_jobs
        Threads per model (and BLAS threads): from ``params.yaml``, never from the machine.
    model_name, experiment
        Registered model name and MLflow experiment.
    exclude_features
        Features the model never sees, and every feature derived from them (the sensitive
        attribute ``CODE_GENDER`` by default: it is kept for the fairness audit only).
    """

    seed: int = 42
    test_size: float = 0.2
    cost_fn: float = 10.0
    cost_fp: float = 1.0
    review_band: tuple[float, float] = (45.0, 55.0)
    models: tuple[str, ...] = MODELS
    strategies: tuple[str, ...] = STRATEGIES
    compare_rows: int = 10_000
    compare_folds: int = 3
    select_by: str = "cost"
    tune_trials: int = 20
    tune_rows: int = 30_000
    tune_folds: int = 3
    tune_objective: str = "roc_auc"
    blend: tuple[str, ...] = BOOSTERS
    blend_strategies: tuple[str, ...] = ("none", "class_weight")
    max_trees: int = 1500
    tree_step: int = 25
    patience: int = 250
    blend_weight_step: float = 0.05
    seeds: int = 1
    calibration: str = "isotonic"
    calibration_folds: int = 4
    points_to_double_odds: float = 10.0
    scorecard_candidates: int = 50
    scorecard_features: int = 15
    bootstrap: int = 1000
    n_jobs: int = 2
    model_name: str = "credit-scoring"
    experiment: str = "credit-scoring"
    exclude_features: tuple[str, ...] = ("CODE_GENDER",)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> TrainParams:
        """Build from the ``train`` section; unknown keys are an error (typos would be
        silently ignored otherwise).

        Examples
        --------
        >>> TrainParams.from_dict({"tune_trials": 3, "review_band": [40, 60]}).review_band
        (40.0, 60.0)
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"params.yaml train: unknown key(s) {unknown}; known: {sorted(known)}")
        values = dict(params)
        if "review_band" in values:
            values["review_band"] = check_band(values["review_band"])
        for key in ("models", "strategies", "exclude_features", "blend", "blend_strategies"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("select_by", "cost") not in ("cost", "roc_auc"):
            raise ValueError("params.yaml train.select_by must be 'cost' or 'roc_auc'")
        if values.get("tune_objective", "roc_auc") not in ("cost", "roc_auc"):
            raise ValueError("params.yaml train.tune_objective must be 'cost' or 'roc_auc'")
        if values.get("calibration", "isotonic") not in ("isotonic", "sigmoid"):
            raise ValueError("params.yaml train.calibration must be 'isotonic' or 'sigmoid'")
        unknown_members = sorted(set(values.get("blend", BOOSTERS)) - set(BOOSTERS))
        if unknown_members or not values.get("blend", BOOSTERS):
            raise ValueError(
                f"params.yaml train.blend: a non-empty list of {', '.join(BOOSTERS)}, "
                f"got {values.get('blend')!r}"
            )
        return cls(**values)


def load_training_table(
    features_dir: Path, exclude: Sequence[str] = ()
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, target and client ids from ``train.parquet``.

    Every column but ``SK_ID_CURR``, ``TARGET`` and the excluded attributes (with the
    features derived from them, see :func:`~credit_scoring.fairness.sensitive_features_in`)
    is a feature; ``object`` columns become ``category`` (the pipelines treat categories
    natively or encode them).
    """
    frame = pd.read_parquet(Path(features_dir) / "train.parquet")
    if frame.index.name == CLIENT_ID:
        frame = frame.reset_index()
    for column in (CLIENT_ID, TARGET):
        if column not in frame:
            raise KeyError(f"{features_dir}/train.parquet has no {column} column")
    y = frame[TARGET].to_numpy().astype(np.int64)
    ids = frame[CLIENT_ID].to_numpy().astype(np.int64)
    excluded = {f for a in exclude for f in sensitive_features_in(list(frame.columns), a)}
    X = frame.drop(columns=[CLIENT_ID, TARGET, *sorted(excluded)])
    for column in X.select_dtypes(include=["object", "string"]).columns:
        X[column] = X[column].astype("category")
    return X, y, ids


def find_truth(metrics_dir: Path, raw_dir: Path = paths.RAW_DIR) -> Path | None:
    """The twin's true probabilities, when the data stage says it ran on the twin."""
    from credit_scoring.data.twin import TRUTH_FILE

    data_metrics = Path(metrics_dir) / "data.json"
    if not data_metrics.exists():
        return None
    if json.loads(data_metrics.read_text(encoding="utf-8")).get("origin") != "twin":
        return None
    truth = Path(raw_dir) / "twin" / TRUTH_FILE
    return truth if truth.exists() else None


def oracle_metrics(
    truth_file: Path, ids: np.ndarray, y: np.ndarray, *, cost_fn: float, cost_fp: float
) -> tuple[dict[str, float], np.ndarray] | None:
    """AUC and cost per client of the true probabilities on the clients ``ids``, at the
    theoretical threshold; ``None`` when the truth does not cover them."""
    truth = pd.read_parquet(truth_file, columns=[CLIENT_ID, TRUTH_COLUMN]).set_index(CLIENT_ID)
    p_true = truth[TRUTH_COLUMN].reindex(ids).to_numpy()
    if np.isnan(p_true).any():
        log.warning("the twin truth does not cover the test clients: no oracle comparison")
        return None
    t = theoretical_threshold(cost_fn, cost_fp)
    return {
        "oracle_auc": roc_auc(y, p_true),
        "oracle_cost_per_client": cost_per_client(y, p_true >= t, cost_fn=cost_fn, cost_fp=cost_fp),
        "oracle_threshold": t,
        "oracle_brier": probability_metrics(y, p_true)["brier"],
    }, p_true


@dataclass
class _Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    def step(self, name: str, start: float) -> None:
        self.seconds[name] = round(time.perf_counter() - start, 2)


def _save_figure(fig: Any, path: Path) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _compare(
    p: TrainParams, X: pd.DataFrame, y: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Step 2: every model x strategy on the same folds: the results table and the selection
    table (the chosen pair first; never the baseline)."""
    X_cmp, y_cmp = stratified_subsample(X, y, p.compare_rows, p.seed)

    def log_candidate(model: str, strategy: str, row: dict[str, float], _: Any) -> None:
        registry.log_run(
            f"compare {model} + {strategy}",
            params={"model": model, "strategy": strategy, "rows": len(y_cmp)},
            metrics=row,
            tags={"step": "comparison"},
        )

    results, details = compare_candidates(
        X_cmp,
        y_cmp,
        candidates(p.models, p.strategies),
        folds=p.compare_folds,
        seed=p.seed,
        cost_fn=p.cost_fn,
        cost_fp=p.cost_fp,
        n_jobs=p.n_jobs,
        on_result=log_candidate,
    )
    # In params.yaml's order (the results table is sorted by cost): the last tie-break.
    # The champion blends boosters: the pair to tune is chosen among the blend's families.
    order = [pair for pair in details if pair[0] in p.blend and pair[1] in p.blend_strategies]
    contenders = results.set_index(["model", "strategy"]).loc[order].reset_index()
    if contenders.empty:
        raise ValueError(
            "params.yaml train.models and strategies: the comparison needs one of the blend's "
            f"families ({', '.join(p.blend)}) with one of its strategies "
            f"({', '.join(p.blend_strategies)})"
        )
    selection = selection_table(contenders, details, p.select_by)
    return results, selection, len(y_cmp)


def _tune(
    p: TrainParams, model: Model, strategy: Strategy, X: pd.DataFrame, y: np.ndarray
) -> tuple[TuningResult, int]:
    """Step 3: Optuna on the best pair, in a ``tuning`` run with one child run per trial."""
    mlflow = registry.import_mlflow()
    X_tune, y_tune = stratified_subsample(X, y, p.tune_rows, p.seed)
    with registry.child_run(f"tuning {model} + {strategy}"):
        mlflow.log_params(
            {"model": model, "strategy": strategy, "rows": len(y_tune), "folds": p.tune_folds}
        )

        def log_trial(trial: Any) -> None:
            registry.log_run(
                f"trial {trial.number}",
                params=trial.params,
                metrics={"objective": trial.value, **trial.user_attrs},
                tags={"step": "tuning", "state": trial.state.name.lower()},
            )

        tuned = tune(
            model,
            strategy,
            X_tune,
            y_tune,
            n_trials=p.tune_trials,
            folds=p.tune_folds,
            seed=p.seed,
            n_jobs=p.n_jobs,
            objective=cast(Objective, p.tune_objective),
            cost_fn=p.cost_fn,
            cost_fp=p.cost_fp,
            on_trial=log_trial,
        )
        mlflow.log_metrics(registry.clean_metrics({"best_objective": tuned.value}))
    return tuned, len(y_tune)


def blend_members(
    p: TrainParams, selection: pd.DataFrame, tuned_params: dict[str, Any]
) -> list[MemberSpec]:
    """The blend's members: the chosen (tuned) pair first, then each other family of
    ``p.blend`` with its best-ranked strategy of the selection table (``none`` when the
    family was not compared) and its default hyperparameters.

    Examples
    --------
    >>> selection = pd.DataFrame({"model": ["lightgbm", "xgboost", "lightgbm"],
    ...                           "strategy": ["smote", "none", "none"]})
    >>> [m.name for m in blend_members(TrainParams(), selection, {"num_leaves": 7})]
    ['lightgbm + smote', 'xgboost + none']
    """
    lead = selection.iloc[0]
    specs = [MemberSpec(lead["model"], lead["strategy"], dict(tuned_params))]
    for family in p.blend:
        if family == lead["model"]:
            continue
        ranked = selection.loc[selection["model"] == family, "strategy"]
        strategy = ranked.iloc[0] if len(ranked) else "none"
        specs.append(MemberSpec(cast(Model, family), cast(Strategy, strategy), {}))
    return specs


def _blend_tables(fit: BlendFit, models_dir: Path) -> None:
    """The early-stopping curves and the members' table, for the report."""
    pd.concat([m.curve.assign(member=m.spec.name) for m in fit.members], ignore_index=True).to_csv(
        models_dir / EARLY_STOPPING_FILE, index=False
    )
    fit.members_table().to_csv(models_dir / BLEND_FILE, index=False)
    fit.gains().to_csv(models_dir / GAINS_FILE, index=False)


def scorecard_candidates(model: Any, features: Sequence[str], n: int) -> list[str]:
    """The ``n`` features of largest split gain in the champion (its members' gains, each
    normalised, weighted like their log-odds), in order of gain then of name."""
    from credit_scoring.explain._model import ShapEngine

    gain = ShapEngine(model, features).gain_importance()
    ranked = sorted(gain.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, value in ranked[:n] if value > 0]


def _scorecard(
    p: TrainParams,
    candidates: list[str],
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
) -> tuple[Scorecard, dict[str, Any], np.ndarray]:
    """The scorecard challenger: fitted on the training part, its threshold on cross-fitted
    out-of-fold probabilities (same folds as the champion), scored once on the test split."""
    kw = {"candidates": candidates, "max_features": p.scorecard_features}
    oof = np.full(len(y_train), np.nan)
    for train_idx, valid_idx in stratified_folds(p.calibration_folds, p.seed).split(
        X_train, y_train
    ):
        fold_card = fit_scorecard(X_train.iloc[train_idx], y_train[train_idx], **kw)
        oof[valid_idx] = fold_card.predict_proba(X_train.iloc[valid_idx])[:, 1]
    card = fit_scorecard(X_train, y_train, **kw)
    threshold = best_threshold(y_train, oof, cost_fn=p.cost_fn, cost_fp=p.cost_fp)
    p_test = card.predict_proba(X_test)[:, 1]
    test = _test_metrics(p, y_test, p_test, p_test, threshold)
    metrics = {
        "features": list(card.names),
        "candidates": len(candidates),
        "cv_auc": roc_auc(y_train, oof),
        "threshold": threshold,
        **{k: test[k] for k in _SCORECARD_TEST_KEYS},
    }
    return card, metrics, p_test


_SCORECARD_TEST_KEYS = (
    "test_auc",
    "test_auc_ci",
    "test_brier",
    "test_cost_per_client",
    "test_cost_ci",
    "test_recall",
    "test_refusal_rate",
)


def _cost_curves(
    p: TrainParams, y_oof: np.ndarray, p_oof: np.ndarray, y_test: np.ndarray, p_test: np.ndarray
) -> pd.DataFrame:
    """Cost per client on a grid of thresholds, out of fold and on the test split."""
    grid = np.round(np.linspace(0.0, 1.0, 401), 4)
    kw = {"cost_fn": p.cost_fn, "cost_fp": p.cost_fp}
    series = {"hors échantillon (entraînement)": (y_oof, p_oof), "jeu de test": (y_test, p_test)}
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "series": name,
                    "threshold": grid,
                    "cost_per_client": cost_curve(yy, pp, grid, **kw),
                }
            )
            for name, (yy, pp) in series.items()
        ],
        ignore_index=True,
    )


def _test_metrics(
    p: TrainParams, y_test: np.ndarray, p_test: np.ndarray, p_raw: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Step 5: the held-out test split, scored once, with bootstrap intervals."""
    kw = {"cost_fn": p.cost_fn, "cost_fp": p.cost_fp}
    cost = summarise_cost(y_test, p_test, threshold, **kw)
    prob = probability_metrics(y_test, p_test)

    def cost_at_threshold(yy: np.ndarray, pp: np.ndarray) -> float:
        return cost_per_client(yy, pp >= threshold, **kw)

    auc_ci = bootstrap_ci(y_test, p_test, roc_auc, n_boot=p.bootstrap, seed=p.seed)
    cost_ci = bootstrap_ci(y_test, p_test, cost_at_threshold, n_boot=p.bootstrap, seed=p.seed)
    return {
        "test_auc": prob["roc_auc"],
        "test_auc_ci": list(auc_ci),
        "test_pr_auc": prob["pr_auc"],
        "test_brier": prob["brier"],
        "test_brier_raw": calibration_summary(y_test, p_raw, p_test)["brier_raw"],
        "test_cost_per_client": cost.cost_per_client,
        "test_cost_ci": list(cost_ci),
        "test_cost_at_half": cost.cost_at_half,
        "test_cost_accept_all": cost.cost_accept_all,
        "test_recall": cost.recall,
        "test_precision": cost.precision,
        "test_refusal_rate": cost.refusal_rate,
        "saving_vs_accept_all": 1.0 - cost.cost_per_client / cost.cost_accept_all,
        "saving_vs_half": 1.0 - cost.cost_per_client / cost.cost_at_half,
    }


def train_pipeline(
    params: dict[str, Any],
    features_dir: Path = paths.FEATURES_DIR,
    models_dir: Path = paths.MODELS_DIR,
    metrics_dir: Path = paths.METRICS_DIR,
    mlflow_dir: Path = paths.MLFLOW_DIR,
    *,
    truth_file: Path | str | None = "auto",
) -> dict[str, Any]:
    """Run the ``train`` stage; return its summary (``models_dir/summary.json``; the headline
    figures of :func:`headline` go to ``metrics_dir/train.json``).

    Parameters
    ----------
    params
        The ``train`` section of ``params.yaml`` (see :class:`TrainParams`).
    features_dir
        Holds ``train.parquet`` (``SK_ID_CURR``, ``TARGET``, features).
    models_dir
        Receives the results table, the champion's description, predictions, cost curve,
        tuning trials and figures.
    metrics_dir
        Receives ``train.json``; its ``data.json`` says whether the data is the twin.
    mlflow_dir
        The MLflow store (SQLite + artifacts).
    truth_file
        The twin's true probabilities for the oracle comparison: ``"auto"`` finds them when
        the data stage ran on the twin; ``None`` skips the comparison. Read only after every
        choice is made, and only for the test split.
    """
    p = TrainParams.from_dict(params)
    # BLAS threads (logistic regression, SMOTE's neighbours) follow n_jobs like the boosters'
    # OpenMP threads: on a busy machine, spinning BLAS threads slow everything down.
    with threadpool_limits(limits=p.n_jobs, user_api="blas"):
        return _train(
            p, Path(features_dir), Path(models_dir), Path(metrics_dir), Path(mlflow_dir), truth_file
        )


def _train(
    p: TrainParams,
    features_dir: Path,
    models_dir: Path,
    metrics_dir: Path,
    mlflow_dir: Path,
    truth_file: Path | str | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    timer = _Timer()
    plot_dir = models_dir / PLOTS_DIR
    plot_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)

    # 1. The held-out test split.
    X, y, ids = load_training_table(features_dir, p.exclude_features)
    train_idx, test_idx = (
        np.sort(part)
        for part in train_test_split(
            np.arange(len(y)), test_size=p.test_size, stratify=y, random_state=p.seed
        )
    )
    X_train, y_train = X.iloc[train_idx], y[train_idx]
    X_test, y_test = X.iloc[test_idx], y[test_idx]
    log.info("%d training and %d test clients, %d features", len(y_train), len(y_test), X.shape[1])

    mlflow = registry.import_mlflow()
    registry.configure(mlflow_dir)
    experiment = registry.experiment_id(p.experiment, mlflow_dir)
    with mlflow.start_run(experiment_id=experiment, run_name="train") as parent:
        mlflow.log_params(registry.flat_params(asdict(p)))
        mlflow.log_params({"n_features": X.shape[1], "n_train": len(y_train)})

        t0 = time.perf_counter()
        results, selection, compare_rows = _compare(p, X_train, y_train)
        results.drop(columns=list(TIMING_COLUMNS)).to_csv(models_dir / RESULTS_FILE, index=False)
        selection.to_csv(models_dir / SELECTION_FILE, index=False)
        model, strategy = selection.loc[0, "model"], selection.loc[0, "strategy"]
        timer.step("comparison", t0)
        log.info("best pair: %s + %s", model, strategy)

        t0 = time.perf_counter()
        tuned, tune_rows = _tune(p, model, strategy, X_train, y_train)
        tuned.trials.to_csv(models_dir / TRIALS_FILE, index=False)
        timer.step("tuning", t0)

        # 4. The champion: the blend, early-stopped, weighted and calibrated out of fold on
        # the whole training part; the threshold on its calibrated out-of-fold probabilities.
        t0 = time.perf_counter()
        specs = blend_members(p, selection, tuned.params)
        fit = fit_blend(
            specs,
            X_train,
            y_train,
            folds=p.calibration_folds,
            seed=p.seed,
            method=cast(Method, p.calibration),
            max_trees=p.max_trees,
            tree_step=p.tree_step,
            patience=p.patience,
            weight_step=p.blend_weight_step,
            seeds=p.seeds,
            n_jobs=p.n_jobs,
        )
        _blend_tables(fit, models_dir)
        timer.step("champion_fit", t0)
        threshold = best_threshold(
            y_train, fit.oof_calibrated, cost_fn=p.cost_fn, cost_fp=p.cost_fp
        )
        if threshold >= 1.0:
            log.warning("granting every credit is the cheapest policy on the OOF predictions")
        fold_auc = [
            roc_auc(y_train[fit.fold == k], fit.oof_calibrated[fit.fold == k])
            for k in range(p.calibration_folds)
        ]

        # 5. The test split, once.
        t0 = time.perf_counter()
        p_test = fit.predict(X_test)
        predict_seconds = time.perf_counter() - t0
        p_test_raw = fit.predict_raw(X_test)
        test = _test_metrics(p, y_test, p_test, p_test_raw, threshold)
        curve = _cost_curves(p, y_train, fit.oof_calibrated, y_test, p_test)
        curve.to_csv(models_dir / COST_CURVE_FILE, index=False)
        scale = {
            "threshold": max(threshold, 1e-9),
            "points_to_double_odds": p.points_to_double_odds,
            "cost_fn": p.cost_fn,
            "cost_fp": p.cost_fp,
        }
        band = band_policies(y_test, p_test, band=p.review_band, **scale)
        band_sweep(y_test, p_test, **scale).to_csv(models_dir / BAND_SWEEP_FILE, index=False)
        timer.step("test_evaluation", t0)

        # The scorecard challenger, on the champion's most important features.
        t0 = time.perf_counter()
        candidates = scorecard_candidates(fit.model, list(X.columns), p.scorecard_candidates)
        with registry.child_run("scorecard"):
            card, card_metrics, p_test_card = _scorecard(
                p, candidates, X_train, y_train, X_test, y_test
            )
            card_metrics["auc_gap"] = test["test_auc"] - card_metrics["test_auc"]
            mlflow.log_params({"candidates": len(candidates), "features": len(card.names)})
            mlflow.log_metrics(registry.clean_metrics(_flat_numbers(card_metrics)))
            mlflow.log_dict(card.to_dict(), SCORECARD_FILE)
        # What a reader of the points needs: the scorecard, its threshold and the scale.
        saved_card = {
            "threshold": card_metrics["threshold"],
            "points_to_double_odds": p.points_to_double_odds,
            "scorecard": card.to_dict(),
        }
        (models_dir / SCORECARD_FILE).write_text(json.dumps(saved_card, indent=2), encoding="utf-8")
        card.table(
            threshold=card_metrics["threshold"], points_to_double_odds=p.points_to_double_odds
        ).to_csv(models_dir / SCORECARD_TABLE_FILE, index=False)
        timer.step("scorecard", t0)

        # 6. The oracle: read only now, on the test clients, for the report.
        truth_path = find_truth(metrics_dir) if truth_file == "auto" else truth_file
        oracle = None
        if truth_path:
            oracle = oracle_metrics(
                Path(truth_path), ids[test_idx], y_test, cost_fn=p.cost_fn, cost_fp=p.cost_fp
            )

        pd.DataFrame(
            {
                CLIENT_ID: ids[train_idx],
                TARGET: y_train,
                "fold": fit.fold,
                "p_raw": fit.oof_raw,
                "p_calibrated": fit.oof_calibrated,
            }
        ).to_parquet(models_dir / OOF_FILE, index=False)
        test_frame = pd.DataFrame(
            {
                CLIENT_ID: ids[test_idx],
                TARGET: y_test,
                "p_raw": p_test_raw,
                "p_calibrated": p_test,
                "risk_score": risk_score(
                    p_test, max(threshold, 1e-9), points_to_double_odds=p.points_to_double_odds
                ),
            }
        )
        test_frame["p_scorecard"] = p_test_card
        if oracle is not None:
            test_frame["p_true"] = oracle[1]
        test_frame.to_parquet(models_dir / TEST_FILE, index=False)

        calib_oof = calibration_summary(y_train, fit.oof_raw, fit.oof_calibrated)
        metrics: dict[str, Any] = {
            "champion": {
                "model": model,
                "strategy": strategy,
                "calibration": p.calibration,
                "members": fit.members_table().to_dict("records"),
                "blend_oof_auc": fit.oof_auc,
            },
            "points_to_double_odds": p.points_to_double_odds,
            "scorecard": card_metrics,
            "band": {
                k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in band.items()
            },
            "rows": {
                "train": len(y_train),
                "test": len(y_test),
                "comparison": compare_rows,
                "tuning": tune_rows,
                "features": X.shape[1],
            },
            "default_rate": {"train": float(y_train.mean()), "test": float(y_test.mean())},
            "cv_auc": float(np.mean(fold_auc)),
            "oof_auc": roc_auc(y_train, fit.oof_calibrated),
            "cv_auc_std": float(np.std(fold_auc, ddof=1)) if len(fold_auc) > 1 else 0.0,
            "comparison_best": {
                k: float(v)
                for k, v in results.iloc[0].items()
                if str(k).endswith("_mean") and k not in TIMING_COLUMNS
            },
            "selection": _selection_summary(selection),
            "tuning": {
                "trials": len(tuned.trials),
                "objective": p.tune_objective,
                "best_objective": tuned.value,
                "params": tuned.params,
            },
            "threshold": threshold,
            "theoretical_threshold": theoretical_threshold(p.cost_fn, p.cost_fp),
            "review_band": list(p.review_band),
            "oof_brier_raw": calib_oof["brier_raw"],
            "oof_brier": calib_oof["brier_calibrated"],
            **test,
        }
        if oracle is not None:
            o = oracle[0]
            metrics["oracle"] = {
                "auc": o["oracle_auc"],
                "cost_per_client": o["oracle_cost_per_client"],
                "threshold": o["oracle_threshold"],
                "brier": o["oracle_brier"],
                "auc_gap": o["oracle_auc"] - test["test_auc"],
                "cost_ratio": test["test_cost_per_client"] / o["oracle_cost_per_client"],
            }

        # Figures for MLflow (the notebook redraws them from the saved tables).
        _save_figure(plots.plot_comparison(results), plot_dir / "comparison.png")
        _save_figure(
            plots.plot_cost_curve(curve, threshold, theoretical=metrics["theoretical_threshold"]),
            plot_dir / "cost_curve.png",
        )
        reliability = reliability_table(
            y_test, {"avant calibration": p_test_raw, "après calibration": p_test}
        )
        _save_figure(plots.plot_reliability(reliability), plot_dir / "reliability.png")
        roc_series = {"modèle retenu": p_test, "grille de score (challenger)": p_test_card}
        if oracle is not None:
            roc_series["oracle (vraies probabilités)"] = oracle[1]
        _save_figure(plots.plot_roc(y_test, roc_series), plot_dir / "roc.png")
        if len(tuned.trials):
            _save_figure(plots.plot_tuning(tuned.trials), plot_dir / "tuning.png")

        # The model with its contract, registered as the champion.
        t0 = time.perf_counter()
        features = [str(c) for c in X.columns]
        contract = {
            "threshold": threshold,
            "review_band": list(p.review_band),
            "features": features,
            "cost_fn": p.cost_fn,
            "cost_fp": p.cost_fp,
            "model": model,
            "strategy": strategy,
            "calibration": p.calibration,
            "points_to_double_odds": p.points_to_double_odds,
            "members": [
                {"member": name, "weight": weight}
                for name, weight in zip(fit.model.names, fit.model.weights, strict=True)
            ],
        }
        info = registry.log_model(fit.model, X_train.head(5), contract)
        version = registry.register(
            info.model_uri,
            p.model_name,
            tags={
                "threshold": threshold,
                "review_band": list(p.review_band),
                "features": features,
                "model": model,
                "strategy": strategy,
                "members": [m.spec.name for m in fit.members],
                "test_auc": round(test["test_auc"], 4),
            },
        )
        timer.step("registry", t0)
        metrics["model_name"] = p.model_name
        timer.seconds["predict_per_1000_clients"] = round(
            1000 * predict_seconds / max(len(y_test), 1), 4
        )
        timer.step("total", started)

        mlflow.log_metrics(registry.clean_metrics(_flat_numbers(metrics)))
        mlflow.log_metrics({f"seconds.{k}": v for k, v in timer.seconds.items()})
        mlflow.log_artifacts(str(plot_dir), artifact_path="plots")
        mlflow.log_artifact(str(models_dir / RESULTS_FILE))
        mlflow.log_artifact(str(models_dir / COST_CURVE_FILE))
        mlflow.log_artifact(str(models_dir / BLEND_FILE))
        mlflow.log_artifact(str(models_dir / EARLY_STOPPING_FILE))
        mlflow.log_dict(contract, "scoring_contract.json")
        mlflow.set_tags(
            {
                "champion": " | ".join(
                    f"{n} x {w:.2f}"
                    for n, w in zip(fit.model.names, fit.model.weights, strict=True)
                ),
                "model_version": version,
            }
        )

    # The run id and the registry version differ at every run: they go to the stage's log,
    # never into data/models or train.json, whose bytes DVC hashes.
    runlog.record(
        "train",
        {
            "run_id": parent.info.run_id,
            "model_version": version,
            "seconds": timer.seconds,
            "comparison_seconds": results[["model", "strategy", *TIMING_COLUMNS]].to_dict(
                "records"
            ),
        },
    )
    champion = dict(contract)
    champion["params"] = tuned.params
    champion["settings"] = asdict(p)
    for path, content in (
        (models_dir / CHAMPION_FILE, champion),
        (models_dir / SUMMARY_FILE, metrics),
        (metrics_dir / METRICS_FILE, headline(metrics)),
    ):
        path.write_text(json.dumps(content, indent=2, default=_json_default), encoding="utf-8")
    return metrics


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The few figures of ``train.json``: flat numbers, so that ``dvc metrics diff`` between
    two settings reads at a glance.

    Examples
    --------
    >>> headline({"test_auc": 0.79, "test_auc_ci": [0.77, 0.81], "threshold": 0.1,
    ...           "oracle": {"auc": 0.85, "cost_per_client": 0.4},
    ...           "selection": {"runner_up_gap_in_se": 1.5}})
    {'test_auc': 0.79, 'test_auc_low': 0.77, 'test_auc_high': 0.81, 'threshold': 0.1, \
'oracle_auc': 0.85, 'oracle_cost_per_client': 0.4, 'runner_up_gap_in_se': 1.5}
    """
    out: dict[str, float] = {}
    for key in HEADLINE:
        if key not in metrics:
            continue
        if key.endswith("_ci"):
            stem = key.removesuffix("_ci")
            out[f"{stem}_low"], out[f"{stem}_high"] = map(float, metrics[key])
        else:
            out[key] = float(metrics[key])
    if "oracle" in metrics:
        out["oracle_auc"] = float(metrics["oracle"]["auc"])
        out["oracle_cost_per_client"] = float(metrics["oracle"]["cost_per_client"])
    if "scorecard" in metrics:
        out["scorecard_test_auc"] = float(metrics["scorecard"]["test_auc"])
    if "band" in metrics:
        out["review_share"] = float(metrics["band"]["share_review"])
    gap = metrics.get("selection", {}).get("runner_up_gap_in_se")
    if gap is not None:
        out["runner_up_gap_in_se"] = float(gap)
    return out


def _selection_summary(selection: pd.DataFrame) -> dict[str, Any]:
    """How sure the choice of the pair to tune is: the runner-up's paired gap to it in
    standard errors, how many other pairs cross-validation cannot tell from the best, how
    many folds the chosen pair won."""
    chosen = selection.iloc[0]
    runner_up = selection.iloc[1] if len(selection) > 1 else None
    return {
        "others_tied": int(selection["tied"].sum()) - 1,
        "chosen_fold_wins": int(chosen["fold_wins"]),
        "runner_up": None
        if runner_up is None
        else f"{runner_up['model']} + {runner_up['strategy']}",
        "runner_up_gap_in_se": None if runner_up is None else float(runner_up["gap_in_se"]),
    }


def _flat_numbers(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_numbers(value, f"{name}."))
        elif isinstance(value, list) and len(value) == 2 and key.endswith("_ci"):
            out[f"{name}_low"], out[f"{name}_high"] = value
        else:
            out[name] = value
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


@dataclass
class TrainReport:
    """Everything the ``train`` notebook shows, read back from the stage's outputs."""

    metrics: dict[str, Any]
    champion: dict[str, Any]
    results: pd.DataFrame
    oof: pd.DataFrame
    test: pd.DataFrame
    cost_curve: pd.DataFrame
    trials: pd.DataFrame
    selection: pd.DataFrame
    blend: pd.DataFrame
    early_stopping: pd.DataFrame
    scorecard: pd.DataFrame
    gains: pd.DataFrame
    band_sweep: pd.DataFrame


def load_report(models_dir: Path = paths.MODELS_DIR) -> TrainReport:
    """Read the outputs of :func:`train_pipeline` for the report."""
    models_dir = Path(models_dir)
    trials_path = models_dir / TRIALS_FILE
    try:
        trials = pd.read_csv(trials_path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        trials = pd.DataFrame()
    return TrainReport(
        metrics=json.loads((models_dir / SUMMARY_FILE).read_text(encoding="utf-8")),
        champion=json.loads((models_dir / CHAMPION_FILE).read_text(encoding="utf-8")),
        results=pd.read_csv(models_dir / RESULTS_FILE),
        oof=pd.read_parquet(models_dir / OOF_FILE),
        test=pd.read_parquet(models_dir / TEST_FILE),
        cost_curve=pd.read_csv(models_dir / COST_CURVE_FILE),
        trials=trials,
        selection=pd.read_csv(models_dir / SELECTION_FILE),
        blend=pd.read_csv(models_dir / BLEND_FILE),
        early_stopping=pd.read_csv(models_dir / EARLY_STOPPING_FILE),
        scorecard=pd.read_csv(models_dir / SCORECARD_TABLE_FILE, keep_default_na=False),
        gains=pd.read_csv(models_dir / GAINS_FILE),
        band_sweep=pd.read_csv(models_dir / BAND_SWEEP_FILE),
    )
