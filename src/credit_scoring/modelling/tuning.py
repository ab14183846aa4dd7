"""Hyperparameter search with Optuna on the best family of the comparison.

Each trial cross-validates one set of hyperparameters on stratified folds. The objective is
the mean validation ROC AUC by default: the business cost at the best threshold is a step
function of the ranking, noisy on small folds, while the AUC rewards the ranking the
threshold then cuts. ``objective="cost"`` optimises the OOF cost at the cost-minimising
threshold instead. Trials whose first folds trail the median of earlier trials are pruned.
The family's defaults are always the first trial, so tuning never returns worse than them
on its own objective.

Examples
--------
>>> search_space("dummy") == {}
True
>>> sorted(search_space("logreg"))
['C']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from credit_scoring.modelling.cost import best_threshold, cost_per_client
from credit_scoring.modelling.evaluate import cross_validate_model, stratified_folds
from credit_scoring.modelling.zoo import DEFAULT_PARAMS, Model, Strategy, build_pipeline

log = logging.getLogger(__name__)

Objective = Literal["roc_auc", "cost"]

#: name -> (kind, low, high, log scale); kind is "int" or "float".
Space = dict[str, tuple[str, float, float, bool]]

_SPACES: dict[str, Space] = {
    "dummy": {},
    "logreg": {"C": ("float", 1e-4, 10.0, True)},
    "random_forest": {
        "n_estimators": ("int", 100, 500, True),
        "min_samples_leaf": ("int", 1, 200, True),
        "max_features": ("float", 0.05, 0.6, False),
        "max_samples": ("float", 0.3, 1.0, False),
    },
    "xgboost": {
        "n_estimators": ("int", 100, 1000, True),
        "learning_rate": ("float", 0.01, 0.2, True),
        "max_depth": ("int", 2, 8, False),
        "min_child_weight": ("float", 1.0, 100.0, True),
        "subsample": ("float", 0.5, 1.0, False),
        "colsample_bytree": ("float", 0.1, 0.9, False),
        "reg_lambda": ("float", 1e-3, 50.0, True),
        "reg_alpha": ("float", 1e-3, 10.0, True),
    },
    "lightgbm": {
        "n_estimators": ("int", 100, 1000, True),
        "learning_rate": ("float", 0.01, 0.2, True),
        "num_leaves": ("int", 4, 128, True),
        "min_child_samples": ("int", 10, 500, True),
        "subsample": ("float", 0.5, 1.0, False),
        "colsample_bytree": ("float", 0.1, 0.9, False),
        "reg_lambda": ("float", 1e-3, 50.0, True),
        "reg_alpha": ("float", 1e-3, 10.0, True),
    },
}


def search_space(model: Model) -> Space:
    """The hyperparameters searched for a family, with their ranges."""
    return dict(_SPACES[model])


@dataclass
class TuningResult:
    """The outcome of a search.

    Attributes
    ----------
    params
        The best hyperparameters, over the family defaults.
    value
        The best objective value (mean CV AUC, or negative cost per client).
    trials
        One row per trial: ``number``, ``state``, ``value``, ``roc_auc_mean``,
        ``cost_per_client`` and ``params_*``.
    seconds
        Wall time of the search.
    """

    params: dict[str, Any]
    value: float
    trials: pd.DataFrame
    seconds: float


def _suggest(trial: Any, space: Space) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, (kind, low, high, log_scale) in space.items():
        if kind == "int":
            params[name] = trial.suggest_int(name, int(low), int(high), log=log_scale)
        else:
            params[name] = trial.suggest_float(name, low, high, log=log_scale)
    return params


def tune(
    model: Model,
    strategy: Strategy,
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    n_trials: int,
    folds: int = 3,
    seed: int = 0,
    n_jobs: int = 1,
    objective: Objective = "roc_auc",
    cost_fn: float = 10.0,
    cost_fp: float = 1.0,
    on_trial: Callable[[Any], None] | None = None,
) -> TuningResult:
    """Search the family's hyperparameters with Optuna (TPE sampler, median pruner).

    Parameters
    ----------
    model, strategy
        The family and the imbalance strategy chosen by the comparison.
    X, y
        The tuning data: part of the training split, never the test split.
    n_trials
        The budget: exactly ``n_trials`` trials (a count, never a duration, so that the
        machine's load cannot change which parameters win).
    folds, seed, n_jobs
        Cross-validation folds, randomness and threads.
    objective
        ``roc_auc`` (maximise the mean fold AUC) or ``cost`` (minimise the OOF cost per
        client at its best threshold).
    on_trial
        Called with each finished ``optuna.trial.FrozenTrial`` (MLflow child runs).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    y = np.asarray(y)
    space = search_space(model)
    defaults = dict(DEFAULT_PARAMS[model])
    if not space or n_trials <= 0:
        return TuningResult(defaults, float("nan"), pd.DataFrame(), 0.0)
    cv = stratified_folds(folds, seed)

    def run_trial(trial: Any) -> float:
        params = _suggest(trial, space)
        pipe = build_pipeline(model, strategy, y, params, seed=seed, n_jobs=n_jobs)

        def report(k: int, auc: float) -> None:
            if objective == "roc_auc":
                trial.report(auc, k)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        start = time.perf_counter()
        result = cross_validate_model(pipe, X, y, cv, on_fold=report)
        trial.set_user_attr("seconds", time.perf_counter() - start)
        trial.set_user_attr("roc_auc_std", float(result.folds["roc_auc"].std(ddof=1)))
        trial.set_user_attr("fit_time_mean", float(result.folds["fit_time"].mean()))
        threshold = best_threshold(y, result.oof, cost_fn=cost_fn, cost_fp=cost_fp)
        cost = cost_per_client(y, result.oof >= threshold, cost_fn=cost_fn, cost_fp=cost_fp)
        trial.set_user_attr("roc_auc_mean", float(result.folds["roc_auc"].mean()))
        trial.set_user_attr("cost_per_client", cost)
        return float(result.folds["roc_auc"].mean()) if objective == "roc_auc" else -cost

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )
    study.enqueue_trial({k: v for k, v in defaults.items() if k in space}, skip_if_exists=True)
    callbacks = [lambda _study, trial: on_trial(trial)] if on_trial is not None else None
    start = time.perf_counter()
    study.optimize(run_trial, n_trials=n_trials, callbacks=callbacks, catch=(ValueError,))
    seconds = time.perf_counter() - start
    trials = pd.DataFrame(
        [
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "roc_auc_mean": t.user_attrs.get("roc_auc_mean", np.nan),
                "cost_per_client": t.user_attrs.get("cost_per_client", np.nan),
                **{f"params_{k}": v for k, v in t.params.items()},
            }
            for t in study.trials
        ]
    )
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        log.warning("no tuning trial completed: the family defaults are kept")
        return TuningResult(defaults, float("nan"), trials, seconds)
    return TuningResult({**defaults, **study.best_params}, float(study.best_value), trials, seconds)
