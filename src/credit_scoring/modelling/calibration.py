"""Calibration: turn the champion's scores into probabilities of default.

:func:`fit_calibrated` wraps the champion pipeline in scikit-learn's
``CalibratedClassifierCV`` (``ensemble=True``): on each of K stratified folds, a copy of the
pipeline is fitted on the other folds and a calibrator (isotonic or sigmoid) on this fold's
predictions; the served probability is the mean of the K calibrated copies. The K fits are
also the champion's cross-validation, so calibration costs no extra fit.

Out-of-fold probabilities, on which the threshold is chosen, come from the same K copies:
each row is scored by the copy that did not see it, then calibrated by a calibrator fitted on
the *other* folds' out-of-fold scores (cross-fitting), so no row's calibrated probability
has seen its own label.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"x": rng.normal(size=600)})
>>> y = (rng.random(600) < 1 / (1 + np.exp(2 - X["x"]))).astype(int)
>>> fit = fit_calibrated(LogisticRegression(), X, y, method="sigmoid", folds=3, seed=0)
>>> fit.oof_calibrated.shape, bool(np.all((fit.oof_calibrated >= 0) & (fit.oof_calibrated <= 1)))
((600,), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve

from credit_scoring.modelling.evaluate import stratified_folds

FloatArray = npt.NDArray[np.float64]
Method = Literal["isotonic", "sigmoid"]


def _response(estimator: BaseEstimator, X: pd.DataFrame) -> FloatArray:
    """What scikit-learn's calibrators are fitted on: the decision function when the model
    has one, else the probability of the positive class."""
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(X), dtype=float)
    return np.asarray(estimator.predict_proba(X)[:, 1], dtype=float)


@dataclass
class CalibratedFit:
    """The calibrated champion and its out-of-fold predictions.

    Attributes
    ----------
    model
        The fitted ``CalibratedClassifierCV`` (what is registered and served).
    oof_raw
        Out-of-fold probabilities before calibration.
    oof_calibrated
        Out-of-fold calibrated probabilities (cross-fitted calibrators).
    fold
        The fold of each training row.
    fit_seconds
        Wall time of the K fits.
    """

    model: CalibratedClassifierCV
    oof_raw: FloatArray
    oof_calibrated: FloatArray
    fold: npt.NDArray[np.int64]
    fit_seconds: float

    def predict_raw(self, X: pd.DataFrame) -> FloatArray:
        """Uncalibrated probabilities: the mean of the K copies' own ``predict_proba``."""
        probs = [c.estimator.predict_proba(X)[:, 1] for c in self.model.calibrated_classifiers_]
        return np.mean(probs, axis=0)

    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities of default (what is served)."""
        return self.model.predict_proba(X)[:, 1]


def fit_calibrated(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    method: Method = "isotonic",
    folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
) -> CalibratedFit:
    """Fit ``CalibratedClassifierCV(estimator)`` on K folds; return it and its OOF predictions.

    Parameters
    ----------
    estimator
        The unfitted champion pipeline.
    X, y
        The whole training part (never the test split).
    method
        ``isotonic`` (non-parametric, needs a few thousand rows per fold) or ``sigmoid``
        (Platt scaling, two parameters: safer on small data).
    folds, seed
        The stratified folds.
    n_jobs
        Folds fitted in parallel (each copy also uses its own threads).
    """
    import time

    if method not in ("isotonic", "sigmoid"):
        raise ValueError(f"calibration method must be 'isotonic' or 'sigmoid', got {method!r}")
    y = np.asarray(y)
    cv = stratified_folds(folds, seed)
    start = time.perf_counter()
    model = CalibratedClassifierCV(estimator, method=method, cv=cv, ensemble=True, n_jobs=n_jobs)
    model.fit(X, y)
    seconds = time.perf_counter() - start

    splits = list(cv.split(X, y))
    fold = np.full(y.size, -1, dtype=np.int64)
    raw = np.full(y.size, np.nan)
    response = np.full(y.size, np.nan)
    for k, ((_, valid), member) in enumerate(
        zip(splits, model.calibrated_classifiers_, strict=True)
    ):
        fold[valid] = k
        Xv = X.iloc[valid]
        raw[valid] = member.estimator.predict_proba(Xv)[:, 1]
        response[valid] = _response(member.estimator, Xv)

    calibrated = np.full(y.size, np.nan)
    template = model.calibrated_classifiers_[0].calibrators[0]
    for k in range(folds):
        inside = fold == k
        calibrator = clone(template).fit(response[~inside], y[~inside])
        calibrated[inside] = calibrator.predict(response[inside])
    return CalibratedFit(
        model=model,
        oof_raw=raw,
        oof_calibrated=np.clip(calibrated, 0.0, 1.0),
        fold=fold,
        fit_seconds=seconds,
    )


def reliability_table(
    y: npt.ArrayLike, probabilities: dict[str, npt.ArrayLike], n_bins: int = 10
) -> pd.DataFrame:
    """Observed default rate against mean predicted probability, by quantile bin.

    Quantile bins (equal numbers of clients) because most probabilities are small.

    Returns
    -------
    DataFrame
        Columns ``series``, ``predicted`` (mean probability of the bin), ``observed``
        (default rate of the bin).

    Examples
    --------
    >>> t = reliability_table([0, 0, 1, 1], {"m": [0.1, 0.2, 0.8, 0.9]}, n_bins=2)
    >>> t["observed"].tolist()
    [0.0, 1.0]
    """
    frames = []
    for name, p in probabilities.items():
        observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
        frames.append(pd.DataFrame({"series": name, "predicted": predicted, "observed": observed}))
    return pd.concat(frames, ignore_index=True)


def calibration_summary(
    y: npt.ArrayLike, raw: npt.ArrayLike, calibrated: npt.ArrayLike
) -> dict[str, Any]:
    """Brier score and mean predicted probability before and after calibration.

    Examples
    --------
    >>> s = calibration_summary([0, 1], [0.5, 0.5], [0.1, 0.9])
    >>> s["brier_raw"], round(s["brier_calibrated"], 2)
    (0.25, 0.01)
    """
    from sklearn.metrics import brier_score_loss

    return {
        "brier_raw": float(brier_score_loss(y, raw)),
        "brier_calibrated": float(brier_score_loss(y, calibrated)),
        "mean_raw": float(np.mean(raw)),
        "mean_calibrated": float(np.mean(calibrated)),
        "default_rate": float(np.mean(y)),
    }
