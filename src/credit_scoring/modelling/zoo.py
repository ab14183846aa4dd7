"""The model zoo: every model family times every imbalance strategy, as one pipeline each.

Each candidate is an imbalanced-learn :class:`~imblearn.pipeline.Pipeline`::

    schema -> prep -> sampler -> model

- ``schema`` (:class:`FrameSchema`) pins the columns and dtypes seen in training, so the
  same pipeline scores a served row whose categories arrive as plain strings;
- ``prep`` is what the family needs (imputation, scaling and one-hot encoding for the
  logistic regression, ordinal codes for the random forest, nothing for the boosters, which
  handle missing values and pandas categories natively);
- ``sampler`` (SMOTE, random undersampling) runs inside the pipeline, so it only ever sees
  the rows the pipeline is fitted on (the training folds); at prediction time
  imbalanced-learn skips it;
- ``model`` carries the class weights of the ``class_weight`` strategy.

Examples
--------
>>> import numpy as np, pandas as pd
>>> X = pd.DataFrame({"x": [0.0, 1.0, np.nan, 3.0] * 10, "c": pd.Categorical(["a", "b"] * 20)})
>>> y = np.array([0, 0, 0, 1] * 10)
>>> pipe = build_pipeline("logreg", "smote", y, seed=0).fit(X, y)
>>> pipe.predict_proba(X.head(2)).shape
(2, 2)
"""

from __future__ import annotations

from typing import Any, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

Model = Literal["dummy", "logreg", "random_forest", "xgboost", "lightgbm"]
Strategy = Literal["none", "class_weight", "smote", "undersample"]
MODELS: tuple[Model, ...] = get_args(Model)
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

#: French names for tables and figures.
MODEL_LABELS_FR: dict[str, str] = {
    "dummy": "Référence (probabilité constante)",
    "logreg": "Régression logistique",
    "random_forest": "Forêt aléatoire",
    "xgboost": "XGBoost",
    "lightgbm": "LightGBM",
}
STRATEGY_LABELS_FR: dict[str, str] = {
    "none": "aucune",
    "class_weight": "pondération des classes",
    "smote": "SMOTE (sur-échantillonnage)",
    "undersample": "sous-échantillonnage aléatoire",
}

#: Defaults of each family before tuning: sensible for a few hundred features and 10^4 to
#: 10^5 rows, and fast enough for the comparison on 2 cores.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "dummy": {},
    "logreg": {"C": 0.1},
    "random_forest": {
        "n_estimators": 200,
        "min_samples_leaf": 20,
        "max_features": "sqrt",
        "max_samples": 0.5,
    },
    # Shallow, strongly regularised boosters: at 10^4 rows the deeper defaults overfit
    # (measured on the twin: 10 default trees beat 300), and the search starts from here.
    "xgboost": {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "max_bin": 64,
        "max_depth": 4,
        "min_child_weight": 10.0,
        "subsample": 0.8,
        "colsample_bytree": 0.3,
        "reg_lambda": 5.0,
    },
    "lightgbm": {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "max_bin": 63,
        "num_leaves": 15,
        "min_child_samples": 100,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.3,
        "reg_lambda": 5.0,
    },
}


class FrameSchema(TransformerMixin, BaseEstimator):
    """Pin a frame to the columns and dtypes seen in ``fit``.

    Numeric columns become ``float64`` (infinities become missing); categorical columns
    (pandas ``category``, ``object``, ``string`` or ``bool`` in training) become ``category``
    with the training levels, so a level never seen in training is missing rather than an
    error. A column absent at transform time raises: serving must send every feature, never a
    filled-in stand-in.

    Examples
    --------
    >>> train = pd.DataFrame({"n": [1, 2], "c": pd.Categorical(["a", "b"])})
    >>> served = pd.DataFrame({"c": ["b", "zzz"], "n": [3, None], "extra": [0, 0]})
    >>> out = FrameSchema().fit(train).transform(served)
    >>> out.columns.tolist(), out["c"].tolist(), out["n"].dtype.name
    (['n', 'c'], ['b', nan], 'float64')
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> FrameSchema:
        """Record the columns, which of them are categorical, and their levels."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("FrameSchema needs a pandas DataFrame (column names carry meaning)")
        self.columns_: list[str] = [str(c) for c in X.columns]
        self.categories_: dict[str, list[Any]] = {}
        for name in X.columns:
            col = X[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                self.categories_[str(name)] = list(col.cat.categories)
            elif not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                self.categories_[str(name)] = sorted(col.dropna().astype(str).unique())
        self.n_features_in_ = len(self.columns_)
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return ``X`` restricted to the training columns, in order, with the training dtypes."""
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise KeyError(f"{len(missing)} feature(s) missing from the input: {shown}")
        numeric = [c for c in self.columns_ if c not in self.categories_]
        try:  # one block conversion: hundreds of float64 columns, copied once
            block = X[numeric].to_numpy(dtype=np.float64, copy=True)
        except (TypeError, ValueError):  # text in a numeric column: coerce column by column
            block = (
                np.column_stack(
                    [
                        pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=np.float64)
                        for c in numeric
                    ]
                )
                if numeric
                else np.empty((len(X), 0))
            )
        block[np.isinf(block)] = np.nan
        out = pd.DataFrame(block, columns=numeric, index=X.index)
        for name, levels in self.categories_.items():
            col = X[name]
            if not isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype(object)
                if levels and isinstance(levels[0], str):
                    col = col.where(col.isna(), col.astype(str))
            out[name] = pd.Categorical(col, categories=levels)
        return out[self.columns_] if self.categories_ else out

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """The training columns."""
        return np.asarray(self.columns_, dtype=object)

    def serving_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` as an integrator sends it: categories as strings, numbers as floats.

        This is the form of the MLflow signature and input example.
        """
        out = self.transform(X)
        for name in self.categories_:
            out[name] = out[name].astype(object).where(out[name].notna(), None)
        return out


_numeric = make_column_selector(dtype_exclude="category")
_categorical = make_column_selector(dtype_include="category")


def dense_preprocessor() -> ColumnTransformer:
    """Mean imputation with missing-value indicators, scaling, one-hot encoding.

    The logistic regression needs it; SMOTE needs it too (its nearest neighbours need
    complete, comparable, numeric rows), whatever model follows.
    """
    numeric = make_pipeline(
        SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
    )
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return ColumnTransformer(
        [("num", numeric, _numeric), ("cat", categorical, _categorical)],
        verbose_feature_names_out=False,
    )


def ordinal_preprocessor() -> ColumnTransformer:
    """Categories as integer codes, missing and unseen levels left missing.

    scikit-learn's random forest handles missing values natively but not categories.
    """
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    return ColumnTransformer(
        [("num", "passthrough", _numeric), ("cat", codes, _categorical)],
        verbose_feature_names_out=False,
    )


def positive_weight(y: npt.ArrayLike) -> float:
    """Negatives per positive: the weight that balances the classes (XGBoost's
    ``scale_pos_weight``).

    Examples
    --------
    >>> positive_weight([0, 0, 0, 1])
    3.0
    """
    y = np.asarray(y)
    return float((y == 0).sum() / max((y == 1).sum(), 1))


class ReproducibleForest(RandomForestClassifier):
    """A random forest whose probabilities are the same bytes at every run.

    scikit-learn fits the trees on ``n_jobs`` threads (each tree seeded: the same trees), but
    also *sums* their probabilities from several threads, in the order they finish: the last
    bits of a client's probability then change from run to run, and so may a threshold, a
    tie and the chosen model. Summing in tree order costs little: prediction is the cheap
    half.
    """

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        fit_jobs, self.n_jobs = self.n_jobs, 1
        try:
            return super().predict_proba(X)
        finally:
            self.n_jobs = fit_jobs


def make_estimator(
    model: Model,
    strategy: Strategy,
    y: npt.ArrayLike,
    params: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    n_jobs: int = 1,
) -> BaseEstimator:
    """The final estimator of a family, with the class weights of the ``class_weight`` strategy.

    ``y`` is only used for XGBoost's class weight (the other families compute it themselves).
    """
    params = {**DEFAULT_PARAMS[model], **(params or {})}
    balanced = strategy == "class_weight"
    if model == "dummy":
        return DummyClassifier(strategy="prior")
    if model == "logreg":
        return LogisticRegression(
            max_iter=2000, class_weight="balanced" if balanced else None, **params
        )
    if model == "random_forest":
        return ReproducibleForest(
            class_weight="balanced_subsample" if balanced else None,
            random_state=seed,
            n_jobs=n_jobs,
            **params,
        )
    if model == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(
            tree_method="hist",
            enable_categorical=True,
            max_cat_to_onehot=8,
            eval_metric="logloss",
            scale_pos_weight=positive_weight(y) if balanced else 1.0,
            random_state=seed,
            n_jobs=n_jobs,
            **params,
        )
    if model == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            class_weight="balanced" if balanced else None,
            random_state=seed,
            n_jobs=n_jobs,
            verbose=-1,
            # Column-wise histograms: same trees, half the time on a few hundred features
            # (LightGBM's own row/column probe picks wrong here, and its choice depends on
            # timing). ``deterministic`` makes the trees the same bytes at every run.
            force_col_wise=True,
            deterministic=True,
            **params,
        )
    raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")


def make_sampler(strategy: Strategy, *, seed: int = 0) -> BaseEstimator | None:
    """The resampler of a strategy, or ``None`` when the strategy does not resample."""
    if strategy == "smote":
        return SMOTE(random_state=seed)
    if strategy == "undersample":
        return RandomUnderSampler(random_state=seed)
    if strategy in ("none", "class_weight"):
        return None
    raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")


def build_pipeline(
    model: Model,
    strategy: Strategy,
    y: npt.ArrayLike,
    params: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    n_jobs: int = 1,
    sampler: BaseEstimator | None = None,
) -> Pipeline:
    """One candidate: ``schema -> prep -> sampler -> model``.

    Parameters
    ----------
    model, strategy
        The family and the imbalance strategy.
    y
        Training labels: the class balance for XGBoost's class weight.
    params
        Hyperparameters of the model, over :data:`DEFAULT_PARAMS`.
    seed, n_jobs
        Randomness and threads of the model and the sampler.
    sampler
        Replaces the strategy's sampler (tests put a spy here).
    """
    sampler = sampler if sampler is not None else make_sampler(strategy, seed=seed)
    if model == "logreg" or strategy == "smote":
        prep: Any = dense_preprocessor()
    elif model == "random_forest":
        prep = ordinal_preprocessor()
    else:
        prep = "passthrough"
    return Pipeline(
        [
            ("schema", FrameSchema()),
            ("prep", prep),
            ("sampler", sampler if sampler is not None else "passthrough"),
            ("model", make_estimator(model, strategy, y, params, seed=seed, n_jobs=n_jobs)),
        ]
    )


def candidates(
    models: list[str] | tuple[str, ...] = MODELS,
    strategies: list[str] | tuple[str, ...] = STRATEGIES,
) -> list[tuple[Model, Strategy]]:
    """Every (model, strategy) pair to compare; the constant baseline only without strategy.

    A constant probability ignores class weights, and resampling only moves its constant.

    Examples
    --------
    >>> candidates(["dummy", "lightgbm"], ["none", "smote"])
    [('dummy', 'none'), ('lightgbm', 'none'), ('lightgbm', 'smote')]
    """
    for name in models:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    for name in strategies:
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy {name!r}; expected {', '.join(STRATEGIES)}")
    pairs: list[tuple[Model, Strategy]] = []
    for m in models:
        for s in strategies:
            if m == "dummy" and s != "none":
                continue
            pairs.append((cast(Model, m), cast(Strategy, s)))
    return pairs
