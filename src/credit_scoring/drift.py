"""Data drift between training (reference) and the production batch (current).

One module for the ``drift`` stage and its report ``notebooks/05_drift.ipynb``:

- :func:`drift_report`: the Evidently 0.7 data-drift report (``DataDriftPreset``) on a row
  sample of chosen columns; a self-contained HTML page that opens offline, and per column the
  method, the score and the drifted flag of Evidently's own test;
- :func:`population_stability_index` and :func:`psi_table`: the PSI per column, quantile bins of
  the reference, read with the usual 0.1 / 0.25 thresholds;
- :func:`prediction_drift`: the drift of the model's output (risk scores in, no model here);
- :func:`monitoring_timeline`: the production batch cut into pseudo-months by ``SK_ID_CURR``
  order, one Evidently run per month, and the first month the alert would fire;
- :func:`run_drift`: all of it, writing ``data/reports/drift.html``, the full summary
  ``data/reports/drift.json`` and the headline figures ``data/metrics/drift.json``
  (:func:`headline_metrics`).

Every file written is the same, byte for byte, at every run on the same inputs: the durations,
the model's registry version and Evidently's random widget ids stay out of them
(:func:`deterministic_ids`; the durations go to the stage log, :mod:`credit_scoring.runlog`).

Evidently is imported inside the functions that run it: importing it takes seconds, and
``import credit_scoring.drift`` should not.

Examples
--------
>>> psi_reading(0.05), psi_reading(0.1), psi_reading(0.3)
('stable', 'à surveiller', 'dérive significative')
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from scipy import stats

from credit_scoring import paths, runlog
from credit_scoring.labels import label, number, percent

CLIENT_ID = "SK_ID_CURR"

#: Raw application columns watched whatever the model: the client's profile and the amounts.
RAW_COLUMNS: tuple[str, ...] = (
    "DAYS_BIRTH",
    "DAYS_EMPLOYED",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    "CODE_GENDER",
    "NAME_CONTRACT_TYPE",
    "NAME_INCOME_TYPE",
    "NAME_EDUCATION_TYPE",
    "NAME_FAMILY_STATUS",
    "OCCUPATION_TYPE",
    "REGION_RATING_CLIENT",
)
#: Engineered features watched when the champion's importances are not available.
FALLBACK_FEATURES: tuple[str, ...] = (
    "EXT_SOURCES_WEIGHTED",
    "EXT_SOURCES_MEAN",
    "EXT_SOURCES_MIN",
    "CREDIT_TERM",
    "CREDIT_GOODS_RATIO",
    "ANNUITY_INCOME_RATIO",
    "CREDIT_INCOME_RATIO",
    "INST_PAYMENT_RATIO_MEAN",
    "BURO_DEBT_RATIO_MEAN",
    "PREV_APP_CREDIT_RATIO_MEAN",
)

#: PSI thresholds: below the first, stable; from the second up, a significant shift.
PSI_WATCH, PSI_SIGNIFICANT = 0.1, 0.25
PSI_READINGS: tuple[str, ...] = ("stable", "à surveiller", "dérive significative")
# Okabe-Ito, colour-blind safe: green / orange / vermilion for the three PSI readings.
READING_COLOURS = {
    "stable": "#009E73",
    "à surveiller": "#E69F00",
    "dérive significative": "#D55E00",
}
REFERENCE_COLOUR, CURRENT_COLOUR = "#0072B2", "#D55E00"
# A share of zero would make the PSI infinite: empty bins count as this share instead.
PSI_FLOOR = 1e-4

#: The method shown for a column empty on one side (no test possible: counted as drifted).
EMPTY_METHOD = "empty column"
#: Evidently's method names, in French for the tables.
METHOD_LABELS_FR: dict[str, str] = {
    "Wasserstein distance (normed)": "distance de Wasserstein normalisée",
    "Jensen-Shannon distance": "distance de Jensen-Shannon",
    "K-S p_value": "test de Kolmogorov-Smirnov (p-valeur)",
    "chi-square p_value": "test du khi-deux (p-valeur)",
    "Z-test p_value": "test Z de proportions (p-valeur)",
    "PSI": "indice de stabilité (PSI)",
    EMPTY_METHOD: "colonne vide d'un côté",
}
# Tags and CSS that would make a browser fetch something: the report must open offline.
_EXTERNAL = re.compile(
    r"""<(?:script|img|iframe)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//[^"'\s>]+"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//[^"'\s>]+"""
    r"""|@import\s+(?:url\()?\s*["']?(?:https?:)?//[^"')\s;]+""",
    re.IGNORECASE,
)
# Evidently 0.7 stamps every widget with a fresh uuid7 and the page with a random
# ``metric_<uuid4>`` variable: the same report would differ at each run.
_UUID7 = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b")
_DASHBOARD_ID = re.compile(r"metric_[0-9a-f]{32}\b")
#: The snapshot's timestamp: a fixed one, or Evidently takes the clock's (the HTML does not
#: show it, but the snapshot's results would differ from run to run).
REPORT_TIMESTAMP = datetime(2000, 1, 1)


# --------------------------------------------------------------------------- settings


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    """Column names from a list or a string separated by spaces or commas (papermill ``-p``).

    >>> _names("A, B  C"), _names(["A", "B"])
    (('A', 'B', 'C'), ('A', 'B'))
    """
    if isinstance(value, str):
        return tuple(n for n in re.split(r"[\s,]+", value) if n)
    return tuple(str(n) for n in value)


@dataclass(frozen=True)
class DriftSettings:
    """The ``drift`` section of ``params.yaml``.

    Attributes
    ----------
    sample_rows
        Rows drawn from each side for the Evidently report (all rows when a side has fewer).
    alert_share
        Share of drifted columns from which the data set counts as drifted and the alert fires.
    months
        Pseudo-months the production batch is cut into, by ``SK_ID_CURR`` order.
    timeline_rows
        Reference rows drawn for the monthly runs (and the most rows kept per month).
    timeline_columns
        The first columns of the report kept for the monthly runs; 0 keeps them all.
    psi_bins
        Quantile bins of the reference for the PSI.
    top_features
        How many of the champion's most important features join the raw columns.
    seed
        Seed of every sample.
    num_method, cat_method
        Evidently drift methods (``wasserstein``, ``ks``, ``psi``, ``jensenshannon``, ...) for
        numeric and categorical columns; ``None``: Evidently's choice (distances when the
        reference has more than 1,000 rows, p-values below).
    raw_columns
        Raw application columns always watched.
    features
        Engineered features watched when the champion's importances are unavailable.

    Examples
    --------
    >>> s = DriftSettings.from_params({"sample_rows": 500, "raw_columns": "A B"})
    >>> s.sample_rows, s.raw_columns, s.alert_share
    (500, ('A', 'B'), 0.3)
    """

    sample_rows: int = 20_000
    alert_share: float = 0.3
    months: int = 6
    timeline_rows: int = 5_000
    timeline_columns: int = 0
    psi_bins: int = 10
    top_features: int = 10
    seed: int = 42
    num_method: str | None = None
    cat_method: str | None = None
    raw_columns: tuple[str, ...] = RAW_COLUMNS
    features: tuple[str, ...] = FALLBACK_FEATURES

    def __post_init__(self) -> None:
        if self.sample_rows < 1 or self.timeline_rows < 1:
            raise ValueError("drift: sample_rows and timeline_rows must be positive")
        if not 0.0 < self.alert_share <= 1.0:
            raise ValueError(f"drift: alert_share must be in (0, 1], got {self.alert_share}")
        if self.months < 1 or self.psi_bins < 2:
            raise ValueError("drift: months must be >= 1 and psi_bins >= 2")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DriftSettings:
        """Settings from the ``drift`` section; an unknown key is an error (a typo otherwise
        silently keeps the default)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise KeyError(f"params.yaml drift: unknown key(s) {', '.join(unknown)}")
        values = dict(params)
        for key in ("raw_columns", "features"):
            if key in values:
                values[key] = _names(values[key])
        for key in ("num_method", "cat_method"):
            if values.get(key) in ("", "auto", "None", "null"):
                values[key] = None
        return cls(**values)


def monitored_columns(
    raw_columns: Sequence[str],
    features: Sequence[str],
    top: int | None = None,
    same: Mapping[str, str] | None = None,
) -> list[str]:
    """The raw columns, then the first ``top`` features that are not already watched.

    A feature that only restates a watched raw column (``AGE_YEARS`` is ``DAYS_BIRTH`` in
    years) is skipped: counted twice, one shift would weigh double in the drifted share.

    Parameters
    ----------
    raw_columns, features
        Raw application columns, and features by decreasing importance.
    top
        How many features to add (all when ``None``).
    same
        Feature -> the raw column it restates; default: the day offsets the features stage
        turns into years.

    Examples
    --------
    >>> monitored_columns(["A", "B"], ["B", "C", "D"], top=2)
    ['A', 'B', 'C', 'D']
    >>> monitored_columns(["DAYS_BIRTH"], ["AGE_YEARS", "X", "Y"], top=1)
    ['DAYS_BIRTH', 'X']
    """
    if same is None:
        from credit_scoring.features.application import DAYS_TO_YEARS

        same = {years: days for days, years in DAYS_TO_YEARS.items()}
    out = list(dict.fromkeys(raw_columns))
    extra = [f for f in dict.fromkeys(features) if f not in out and same.get(f) not in out]
    return out + extra[: len(extra) if top is None else top]


def top_features(importance: Mapping[str, float] | pd.Series, n: int) -> list[str]:
    """The ``n`` features of largest importance (absolute value), largest first.

    >>> top_features({"a": 0.1, "b": -0.5, "c": 0.3}, 2)
    ['b', 'c']
    """
    series = pd.Series(importance, dtype=float).dropna()
    return series.abs().sort_values(ascending=False, kind="stable").head(n).index.tolist()


#: Where the ``explain`` stage writes the champion's global SHAP importance.
EXPLAIN_IMPORTANCE = paths.REPORTS_DIR / "explain" / "importance.csv"


def champion_importance(
    model: Any = None,
    features: Sequence[str] | None = None,
    importance_file: Path = EXPLAIN_IMPORTANCE,
) -> tuple[pd.Series | None, str]:
    """The champion's importance per feature, and where it comes from (in French).

    First the ``explain`` stage's mean |SHAP| on held-out clients (``importance_file``), else
    the model's own importances (:func:`model_importance`), else ``None``: the caller falls
    back to the features of ``params.yaml``.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "importance.csv"
    >>> shap = pd.Series([0.5, 0.9], pd.Index(["B", "A"], name="feature"), name="mean_abs_shap")
    >>> shap.to_csv(f)
    >>> importance, source = champion_importance(importance_file=f)
    >>> top_features(importance, 1), source
    (['A'], 'valeurs SHAP moyennes (étape explain)')
    >>> champion_importance(importance_file=f.with_name("absent.csv"))
    (None, 'liste de params.yaml')
    """
    importance_file = Path(importance_file)
    if importance_file.exists():
        table = pd.read_csv(importance_file, index_col=0)
        return table["mean_abs_shap"], "valeurs SHAP moyennes (étape explain)"
    if model is not None and features is not None:
        importance = model_importance(model, features)
        if importance is not None:
            return importance, "importances internes du modèle"
    return None, "liste de params.yaml"


def model_importance(model: Any, features: Sequence[str]) -> pd.Series | None:
    """Importance of each input feature from a fitted model, or ``None`` if it exposes none.

    Walks a blend or a ``CalibratedClassifierCV`` (weighted mean over its fitted copies) and
    pipelines down to the final estimator, reads LightGBM's gain, else
    ``feature_importances_``, else ``|coef_|`` (on the scaled inputs of the project's logistic
    regression), and gives each output column of the preprocessing (one-hot levels, missing
    indicators) back to the input feature it comes from.

    Parameters
    ----------
    model
        The champion as loaded from the registry (``Scorer.model``).
    features
        The model's input features (``Scorer.features``).

    Returns
    -------
    pandas.Series or None
        Importances indexed by input feature, normalised to sum to 1, largest first.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = pd.DataFrame({"a": [0, 1, 0, 1] * 5, "b": [0, 0, 0, 1] * 5})
    >>> tree = DecisionTreeClassifier(random_state=0).fit(X, X["a"])
    >>> model_importance(tree, ["a", "b"]).to_dict()
    {'a': 1.0, 'b': 0.0}
    """
    from credit_scoring.modelling.blend import weighted_members

    parts, weights = [], []
    for estimator, weight in weighted_members(model):
        part = _one_importance(estimator, list(features))
        if part is not None and part.sum() > 0:
            # Each member's importances sum to 1 first: families measure them in other units.
            parts.append(part / part.sum())
            weights.append(weight)
    if not parts:
        return None
    mean = (pd.concat(parts, axis=1).fillna(0.0) * weights).sum(axis=1)
    total = mean.sum()
    mean = mean / total if total > 0 else mean
    return mean.reindex(list(features), fill_value=0.0).sort_values(ascending=False, kind="stable")


def _one_importance(estimator: Any, features: list[str]) -> pd.Series | None:
    names: list[str] = features
    final = estimator
    steps = getattr(estimator, "steps", None)
    if steps:
        final = steps[-1][1]
        head = estimator[:-1]
        try:
            names = [str(n) for n in head.get_feature_names_out(features)]
        except (AttributeError, TypeError, ValueError):
            names = features
    booster = getattr(final, "booster_", None)
    if booster is not None and hasattr(booster, "feature_importance"):
        # LightGBM's default counts splits, which favours many-level categories; gain does not.
        values = np.asarray(booster.feature_importance(importance_type="gain"), dtype=float)
    elif hasattr(final, "feature_importances_"):
        values = np.asarray(final.feature_importances_, dtype=float)
    elif hasattr(final, "coef_"):
        values = np.abs(np.asarray(final.coef_, dtype=float)).ravel()
    else:
        return None
    if len(values) != len(names):
        return None
    owner = [_input_feature(n, features) for n in names]
    frame = pd.DataFrame({"feature": owner, "value": values}).dropna()
    return frame.groupby("feature")["value"].sum()


def _input_feature(name: str, features: Sequence[str]) -> str | None:
    """The input feature an output column comes from: itself, its one-hot levels
    (``F_level``) or its missing indicator (``missingindicator_F``).

    >>> _input_feature("CODE_GENDER_M", ["CODE", "CODE_GENDER"])
    'CODE_GENDER'
    >>> _input_feature("missingindicator_EXT_SOURCE_1", ["EXT_SOURCE_1"])
    'EXT_SOURCE_1'
    """
    if name in features:
        return name
    name = name.removeprefix("missingindicator_")
    if name in features:
        return name
    owners = [f for f in features if name.startswith(f"{f}_")]
    return max(owners, key=len) if owners else None


# --------------------------------------------------------------------------- data


def load_frames(
    raw_columns: Sequence[str],
    features: Sequence[str] = (),
    interim_dir: Path = paths.INTERIM_DIR,
    features_dir: Path = paths.FEATURES_DIR,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference (training) and current (production) rows: ``SK_ID_CURR``, the raw columns
    from ``data/interim``, the features from ``data/features``, joined by client.

    Features whose name is a raw column are read once, from ``data/interim``.
    """
    raw = list(dict.fromkeys(raw_columns))
    extra = [f for f in dict.fromkeys(features) if f not in raw]
    frames = []
    for application, table in (
        ("application_train", "train"),
        ("application_test", "production"),
    ):
        frame = pd.read_parquet(interim_dir / f"{application}.parquet", columns=[CLIENT_ID, *raw])
        if extra:
            engineered = pd.read_parquet(
                features_dir / f"{table}.parquet", columns=[CLIENT_ID, *extra]
            )
            frame = frame.merge(engineered, on=CLIENT_ID, how="left", validate="one_to_one")
        frames.append(frame)
    return frames[0], frames[1]


def column_kinds(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Numerical and categorical columns: numbers (booleans excepted) are numerical.

    >>> column_kinds(pd.DataFrame({"x": [1.0], "c": ["a"], "b": [True]}), ["x", "c", "b"])
    (['x'], ['c', 'b'])
    """
    numerical, categorical = [], []
    for column in columns:
        dtype = frame[column].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        (numerical if numeric else categorical).append(column)
    return numerical, categorical


def _for_evidently(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The columns, categories as plain strings: the two sides' ``category`` dtypes may hold
    different level sets, which pandas refuses to concatenate or compare."""
    out = frame.loc[:, list(columns)].copy()
    _, categorical = column_kinds(out, columns)
    for column in categorical:
        values = out[column]
        out[column] = values.astype("object").where(values.notna(), np.nan)
    return out.reset_index(drop=True)


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` rows drawn without replacement (all of them when there are fewer), in their
    original order.

    >>> frame = pd.DataFrame({"a": range(10)})
    >>> sample(frame, 3, seed=0)["a"].tolist(), len(sample(frame, 30, seed=0))
    ([2, 4, 8], 10)
    """
    if len(frame) <= rows:
        return frame
    return frame.sample(rows, random_state=seed).sort_index()


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], side: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{side} data has no column(s) {', '.join(missing)}")


# --------------------------------------------------------------------------- Evidently


@dataclass
class DriftResult:
    """An Evidently data-drift run: its snapshot and what was found.

    Attributes
    ----------
    snapshot
        The Evidently ``Snapshot`` (HTML and full results).
    columns
        One row per column (index): ``kind`` (numerical or categorical), ``method``,
        ``threshold``, ``score``, ``drifted`` (Evidently's column test failed).
    drifted_share
        Share of drifted columns (Evidently's ``DriftedColumnsCount``).
    alert_share
        The share from which the data set counts as drifted.
    sampled
        Rows used and available per side, and the seed.
    seconds
        Wall time of the Evidently run (for the stage log: no written summary holds it).
    """

    snapshot: Any
    columns: pd.DataFrame
    drifted_share: float
    alert_share: float
    sampled: dict[str, int]
    seconds: float

    @property
    def drifted_count(self) -> int:
        """Number of drifted columns."""
        return int(self.columns["drifted"].sum())

    @property
    def dataset_drift(self) -> bool:
        """Whether the share of drifted columns reaches the alert share."""
        return bool(self.drifted_share >= self.alert_share)

    def save_html(self, path: Path) -> Path:
        """Write the self-contained HTML report; refuse one that would fetch anything."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        page = deterministic_ids(self.snapshot.get_html_str(as_iframe=False))
        found = external_resources(page)
        if found:
            raise RuntimeError(f"{path} would load external resources: {found[:3]}")
        path.write_text(page, encoding="utf-8")
        return path

    def summary(self) -> dict[str, Any]:
        """JSON-ready: share and count of drifted columns, dataset flag, per-column results."""
        return {
            "columns": len(self.columns),
            "drifted_columns": self.drifted_count,
            "drifted_share": self.drifted_share,
            "alert_share": self.alert_share,
            "dataset_drift": self.dataset_drift,
            "per_column": {
                str(name): {
                    "kind": row["kind"],
                    "method": row["method"],
                    "threshold": _number(row["threshold"]),
                    "score": _number(row["score"]),
                    "drifted": bool(row["drifted"]),
                }
                for name, row in self.columns.iterrows()
            },
            "sampled": dict(self.sampled),
        }


def _number(value: Any) -> float | None:
    """A float for JSON to 12 significant digits, ``None`` for a missing value (no NaN in JSON).

    Evidently sums the categories of a column in the order of a Python ``set``, which the
    process's hash seed decides: the last bits of a score change from run to run. Twelve
    digits keep the score and drop that noise.

    >>> _number(0.03756430028054064), _number(0.037564300280540544), _number(float("nan"))
    (0.0375643002805, 0.0375643002805, None)
    """
    return None if pd.isna(value) else float(f"{float(value):.12g}")


def _dataset(frame: pd.DataFrame, columns: Sequence[str], numerical: Sequence[str]) -> Any:
    """An Evidently ``Dataset`` of the columns, typed as given (the reference's types, for
    both sides: a column is compared as one kind)."""
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(
        numerical_columns=[c for c in columns if c in numerical],
        categorical_columns=[c for c in columns if c not in numerical],
    )
    return Dataset.from_pandas(_for_evidently(frame, columns), data_definition=definition)


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    settings: DriftSettings | None = None,
) -> DriftResult:
    """Evidently's data-drift preset on a sample of each side, with its tests.

    Parameters
    ----------
    reference, current
        Training and production rows; only ``columns`` are used.
    columns
        The columns compared; numbers are numerical, anything else categorical.
    settings
        Sample size, seed, alert share and methods.

    Returns
    -------
    DriftResult
        Per column, Evidently's method, score and drifted flag (its column test failed:
        a distance at or above its threshold, or a p-value below it).

    Raises
    ------
    KeyError
        When a column is absent from either side.
    """
    from evidently import Report
    from evidently.presets import DataDriftPreset

    settings = settings or DriftSettings()
    columns = list(dict.fromkeys(columns))
    _check_columns(reference, columns, "reference")
    _check_columns(current, columns, "current")
    started = time.perf_counter()
    ref = sample(reference, settings.sample_rows, settings.seed)
    cur = sample(current, settings.sample_rows, settings.seed)
    numerical, _ = column_kinds(ref, columns)
    empty = empty_columns((ref, cur), columns)
    tested = [c for c in columns if c not in empty]
    ref_data, cur_data = (_dataset(f, tested, numerical) for f in (ref, cur))
    preset = DataDriftPreset(
        columns=tested,
        drift_share=settings.alert_share,
        num_method=settings.num_method,
        cat_method=settings.cat_method,
    )
    snapshot = Report([preset], include_tests=True).run(
        current_data=cur_data, reference_data=ref_data, timestamp=REPORT_TIMESTAMP
    )
    table, share = _parse_snapshot(snapshot.dict(), tested)
    if empty:
        blank = pd.DataFrame(
            {"method": EMPTY_METHOD, "threshold": np.nan, "score": np.nan, "drifted": True},
            index=empty,
        )
        table = pd.concat([table, blank]).loc[columns]
        table["drifted"] = table["drifted"].astype(bool)
        share = (share * len(tested) + len(empty)) / len(columns)
    table.insert(0, "kind", ["numerical" if c in numerical else "categorical" for c in table.index])
    return DriftResult(
        snapshot=snapshot,
        columns=table,
        drifted_share=share,
        alert_share=settings.alert_share,
        sampled={
            "reference_rows": len(ref),
            "reference_total": len(reference),
            "current_rows": len(cur),
            "current_total": len(current),
            "seed": settings.seed,
        },
        seconds=time.perf_counter() - started,
    )


def empty_columns(frames: Sequence[pd.DataFrame], columns: Sequence[str]) -> list[str]:
    """Columns without a single value in one of the frames.

    Evidently refuses them; a column that empties in production is a broken feed, the worst
    drift of all: the callers count it as drifted without a test.

    >>> empty_columns([pd.DataFrame({"a": [1.0], "b": [2.0]}), pd.DataFrame({"a": [None],
    ...     "b": [3.0]})], ["a", "b"])
    ['a']
    """
    empty = [c for c in columns if any(f[c].notna().sum() == 0 for f in frames)]
    if len(empty) == len(columns):
        raise ValueError(f"no column has values on both sides: {', '.join(columns)}")
    return empty


def _parse_snapshot(result: dict[str, Any], columns: Sequence[str]) -> tuple[pd.DataFrame, float]:
    """Per-column method, threshold, score and test status, and the drifted share, from
    ``Snapshot.dict()``."""
    rows: dict[str, dict[str, Any]] = {}
    by_metric: dict[str, str] = {}
    share = float("nan")
    for metric in result["metrics"]:
        config = metric["config"]
        kind = config.get("type", "")
        if kind.endswith(":ValueDrift"):
            rows[config["column"]] = {
                "method": config["method"],
                "threshold": float(config["threshold"]),
                "score": float(metric["value"]),
            }
            by_metric[metric["id"]] = config["column"]
        elif kind.endswith(":DriftedColumnsCount"):
            share = float(metric["value"]["share"])
    for test in result.get("tests", []):
        column = by_metric.get(test["metric_config"]["metric_id"])
        if column is not None:
            status = getattr(test["status"], "value", test["status"])
            rows[column]["drifted"] = status == "FAIL"
    missing = [c for c in columns if c not in rows or "drifted" not in rows[c]]
    if missing:
        raise RuntimeError(f"Evidently returned no drift test for {', '.join(missing)}")
    table = pd.DataFrame.from_dict(rows, orient="index").loc[list(columns)]
    table["drifted"] = table["drifted"].astype(bool)
    return table, share


def drifted_share(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    settings: DriftSettings | None = None,
) -> tuple[float, int]:
    """Share and count of drifted columns, Evidently's ``DriftedColumnsCount`` alone.

    No sampling and no HTML widgets for the columns: the quick check of the monthly runs.
    Columns empty on one side count as drifted (:func:`empty_columns`).
    """
    columns = list(dict.fromkeys(columns))
    numerical, _ = column_kinds(reference, columns)
    empty = empty_columns((reference, current), columns)
    tested = [c for c in columns if c not in empty]
    _, count = _drifted_share(
        _dataset(reference, tested, numerical),
        _dataset(current, tested, numerical),
        tested,
        settings or DriftSettings(),
    )
    count += len(empty)
    return count / len(columns), count


def _drifted_share(
    reference: Any, current: Any, columns: list[str], settings: DriftSettings
) -> tuple[float, int]:
    from evidently import Report
    from evidently.metrics import DriftedColumnsCount

    metric = DriftedColumnsCount(
        columns=columns,
        drift_share=settings.alert_share,
        num_method=settings.num_method,
        cat_method=settings.cat_method,
    )
    snapshot = Report([metric]).run(
        current_data=current, reference_data=reference, timestamp=REPORT_TIMESTAMP
    )
    value = snapshot.dict()["metrics"][0]["value"]
    return float(value["share"]), int(value["count"])


def deterministic_ids(html: str) -> str:
    """The page with Evidently's random ids replaced by ids numbered in order of appearance.

    Every occurrence of one id gets the same replacement, so the page's references between
    widgets still hold; the fixed uuids of the page's JavaScript (nil, namespaces: not version
    7) are left alone. Two runs on the same inputs then give the same bytes.

    Examples
    --------
    >>> page = ('var metric_0123456789abcdef0123456789abcdef = {"id": '
    ...         '"01a23cc8-0088-7d02-a293-408282fa76cc", "link": '
    ...         '"01a23cc8-0088-7d02-a293-408282fa76cc", "nil": '
    ...         '"00000000-0000-0000-0000-000000000000"}')
    >>> print(deterministic_ids(page))  # doctest: +NORMALIZE_WHITESPACE
    var metric_00000000000000000000000000000000 = {"id": "00000000-0000-7000-8000-000000000001",
    "link": "00000000-0000-7000-8000-000000000001", "nil": "00000000-0000-0000-0000-000000000000"}
    """
    numbered: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        return numbered.setdefault(
            match.group(0), f"00000000-0000-7000-8000-{len(numbered) + 1:012x}"
        )

    page = _UUID7.sub(renumber, html)
    dashboards: dict[str, str] = {}
    return _DASHBOARD_ID.sub(
        lambda m: dashboards.setdefault(m.group(0), f"metric_{len(dashboards):032x}"), page
    )


def external_resources(html: str) -> list[str]:
    """What an HTML page would fetch from the network: scripts, style sheets, images, frames.

    >>> external_resources('<script src="https://cdn.x/a.js"></script><a href="https://x">x</a>')
    ['<script src="https://cdn.x/a.js']
    >>> external_resources("<script>var u = 'https://plotly.com/';</script>")
    []
    """
    return _EXTERNAL.findall(html)


# --------------------------------------------------------------------------- PSI


def _bin_codes(
    reference: pd.Series, current: pd.Series, bins: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """Bin indices of both sides, bins from the reference; missing values in a bin of their own.

    Numbers with more distinct values than ``bins``: quantile bins of the reference (ties
    merged). Otherwise one bin per reference level, and one more for levels it never had.
    """
    numeric = pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference)
    ref_values = reference.dropna()
    if numeric and ref_values.nunique() > bins:
        edges = np.unique(np.quantile(ref_values.to_numpy(float), np.arange(1, bins) / bins))

        def codes(s: pd.Series) -> npt.NDArray[np.int64]:
            return np.searchsorted(edges, s.to_numpy(float), side="right").astype(np.int64)

        n_bins = len(edges) + 1
    else:
        levels = pd.Index(pd.unique(ref_values.astype("object")))

        def codes(s: pd.Series) -> npt.NDArray[np.int64]:
            found = levels.get_indexer(s.astype("object"))
            return np.where(found < 0, len(levels), found).astype(np.int64)

        n_bins = len(levels) + 1
    out = []
    for s in (reference, current):
        c = codes(s)
        out.append(np.where(s.isna().to_numpy(), n_bins, c))
    return out[0], out[1], n_bins + 1


def population_stability_index(
    reference: pd.Series | npt.ArrayLike, current: pd.Series | npt.ArrayLike, bins: int = 10
) -> float:
    """Population stability index of ``current`` against ``reference``.

    ``PSI = sum_i (c_i - r_i) * ln(c_i / r_i)`` over bins ``i`` fixed on the reference:
    its quantiles for a number with more than ``bins`` distinct values, else its levels.
    Missing values and levels the reference never had get bins of their own; an empty bin
    counts as a share of 0.0001.

    Parameters
    ----------
    reference, current
        The two samples (Series or arrays).
    bins
        Quantile bins of the reference.

    Returns
    -------
    float
        0 for identical distributions; below 0.1 stable, from 0.25 a significant shift.

    Examples
    --------
    Identical samples:

    >>> x = np.arange(100.0)
    >>> population_stability_index(x, x)
    0.0

    Two bins split at the reference median; a quarter of the current sample below it,
    three quarters above: ``(0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)``.

    >>> round(population_stability_index(x, [0.0] * 25 + [99.0] * 75, bins=2), 4)
    0.2747
    >>> round(float(0.25 * np.log(2) + 0.25 * np.log(1.5)), 4)
    0.2747

    The same shift on a categorical column:

    >>> round(population_stability_index(["a", "b"] * 50, ["a"] * 25 + ["b"] * 75), 4)
    0.2747
    """
    ref = reference if isinstance(reference, pd.Series) else pd.Series(np.asarray(reference))
    cur = current if isinstance(current, pd.Series) else pd.Series(np.asarray(current))
    if len(ref) == 0 or len(cur) == 0:
        raise ValueError("the PSI needs two non-empty samples")
    ref_codes, cur_codes, n = _bin_codes(ref, cur, bins)
    r = np.bincount(ref_codes, minlength=n) / len(ref_codes)
    c = np.bincount(cur_codes, minlength=n) / len(cur_codes)
    r, c = np.maximum(r, PSI_FLOOR), np.maximum(c, PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_reading(value: float) -> str:
    """The usual reading of a PSI: ``stable`` below 0.1, ``à surveiller`` below 0.25,
    ``dérive significative`` from 0.25."""
    if value < PSI_WATCH:
        return PSI_READINGS[0]
    if value < PSI_SIGNIFICANT:
        return PSI_READINGS[1]
    return PSI_READINGS[2]


def psi_table(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    bins: int = 10,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """PSI of each column, largest first, with its French label and reading.

    >>> ref = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    >>> cur = pd.DataFrame({"x": np.arange(100.0), "c": ["a"] * 25 + ["b"] * 75})
    >>> table = psi_table(ref, cur, ["x", "c"])
    >>> table["psi"].round(4).to_dict(), table["lecture"].tolist()
    ({'c': 0.2747, 'x': 0.0}, ['dérive significative', 'stable'])
    """
    _check_columns(reference, columns, "reference")
    _check_columns(current, columns, "current")
    values = {c: population_stability_index(reference[c], current[c], bins) for c in columns}
    table = pd.DataFrame(
        {
            "libellé": [_label(c, labels) for c in values],
            "psi": list(values.values()),
            "lecture": [psi_reading(v) for v in values.values()],
        },
        index=pd.Index(list(values), name="variable"),
    )
    return table.sort_values("psi", ascending=False, kind="stable")


# --------------------------------------------------------------------------- model output


def prediction_drift(
    reference_scores: npt.ArrayLike, current_scores: npt.ArrayLike, bins: int = 10
) -> dict[str, float | str | int]:
    """How far the risk scores of production moved from those of training.

    Parameters
    ----------
    reference_scores, current_scores
        Risk scores (0-100) of training clients and of the production batch; missing
        values are dropped.
    bins
        Quantile bins of the reference for the PSI.

    Returns
    -------
    dict
        ``psi`` and its ``reading``, the Kolmogorov-Smirnov statistic ``ks`` (largest gap
        between the two cumulative distributions) and its ``ks_pvalue``, the ``wasserstein``
        distance (in score points: the mean shift needed to turn one distribution into the
        other), the means, medians and counts.

    Examples
    --------
    >>> d = prediction_drift(np.arange(100.0), np.arange(100.0) + 10)
    >>> d["wasserstein"], d["ks"], d["mean_shift"]
    (10.0, 0.1, 10.0)
    """
    ref = pd.Series(np.asarray(reference_scores, dtype=float)).dropna()
    cur = pd.Series(np.asarray(current_scores, dtype=float)).dropna()
    ks = stats.ks_2samp(ref, cur)
    psi = population_stability_index(ref, cur, bins)
    return {
        "psi": psi,
        "reading": psi_reading(psi),
        "ks": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "wasserstein": float(stats.wasserstein_distance(ref, cur)),
        "mean_reference": float(ref.mean()),
        "mean_current": float(cur.mean()),
        "mean_shift": float(cur.mean() - ref.mean()),
        "median_reference": float(ref.median()),
        "median_current": float(cur.median()),
        "rows_reference": len(ref),
        "rows_current": len(cur),
    }


# --------------------------------------------------------------------------- timeline


def monthly_batches(order: pd.Series | npt.ArrayLike, months: int) -> npt.NDArray[np.int64]:
    """The pseudo-month (1 to ``months``) of each row: rows sorted by ``order`` and cut into
    ``months`` batches of equal size (sizes differ by one at most).

    >>> monthly_batches([30, 10, 20, 40, 50, 60], 3).tolist()
    [2, 1, 1, 2, 3, 3]
    """
    values = np.asarray(order)
    if months < 1 or months > len(values):
        raise ValueError(f"cannot cut {len(values)} rows into {months} months")
    position = np.empty(len(values), dtype=np.int64)
    position[np.argsort(values, kind="stable")] = np.arange(len(values))
    sizes = np.full(months, len(values) // months)
    sizes[: len(values) % months] += 1
    return np.searchsorted(np.cumsum(sizes), position, side="right").astype(np.int64) + 1


def _aligned_scores(
    scores: pd.Series | npt.ArrayLike, current: pd.DataFrame, order_by: str
) -> npt.NDArray[np.float64]:
    """Scores in the row order of ``current``: a Series indexed by client id is matched on
    ``order_by``; anything else is taken position by position."""
    if isinstance(scores, pd.Series) and scores.index.name == order_by:
        return scores.reindex(current[order_by].to_numpy()).to_numpy(float)
    values = np.asarray(scores, dtype=float)
    if len(values) != len(current):
        raise ValueError(f"{len(values)} scores for {len(current)} current rows")
    return values


def monitoring_timeline(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    settings: DriftSettings | None = None,
    *,
    scores: pd.Series | npt.ArrayLike | None = None,
    order_by: str = CLIENT_ID,
) -> pd.DataFrame:
    """One Evidently run per pseudo-month of the production batch against the reference.

    Parameters
    ----------
    reference, current
        Training and production rows; ``current`` needs ``order_by``.
    columns
        Columns compared (the first ``settings.timeline_columns`` when that is not 0).
    settings
        Months, reference sample (``timeline_rows``, also the most rows kept per month),
        alert share, methods, seed.
    scores
        Risk scores of the current rows (a Series indexed by ``order_by``, or in row order):
        their mean per month.
    order_by
        The column whose order stands for time (``SK_ID_CURR``: application order).

    Returns
    -------
    pandas.DataFrame
        One row per month, in month order: ``demandes``, first and last id, ``colonnes en
        dérive``, ``part en dérive``, ``alerte`` (share at or above the alert share) and
        ``score moyen`` when scores are given.
    """
    settings = settings or DriftSettings()
    columns = list(dict.fromkeys(columns))
    if settings.timeline_columns:
        columns = columns[: settings.timeline_columns]
    _check_columns(current, [order_by], "current")
    month = monthly_batches(current[order_by], settings.months)
    score_values = None if scores is None else _aligned_scores(scores, current, order_by)
    ref = sample(reference, settings.timeline_rows, settings.seed)
    numerical, _ = column_kinds(ref, columns)
    # Evidently profiles a Dataset when it is built: the reference's is built once.
    ref_data = _dataset(ref, columns, numerical)
    rows = []
    for m in range(1, settings.months + 1):
        in_month = month == m
        batch = current.loc[in_month]
        cur = sample(batch, settings.timeline_rows, settings.seed)
        empty = empty_columns((ref, cur), columns)
        tested = [c for c in columns if c not in empty]
        _, count = _drifted_share(
            _dataset(ref, tested, numerical) if empty else ref_data,
            _dataset(cur, tested, numerical),
            tested,
            settings,
        )
        count += len(empty)
        share = count / len(columns)
        row: dict[str, Any] = {
            "mois": m,
            "demandes": int(in_month.sum()),
            f"premier {order_by}": batch[order_by].min(),
            f"dernier {order_by}": batch[order_by].max(),
            "colonnes en dérive": count,
            "part en dérive": share,
            "alerte": share >= settings.alert_share,
        }
        if score_values is not None:
            row["score moyen"] = float(np.nanmean(score_values[in_month]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("mois")


def alert_month(timeline: pd.DataFrame) -> int | None:
    """The first month whose alert fires, or ``None``.

    >>> alert_month(pd.DataFrame({"alerte": [False, True, True]}, index=[1, 2, 3]))
    2
    >>> alert_month(pd.DataFrame({"alerte": [False]}, index=[1])) is None
    True
    """
    fired = timeline.index[timeline["alerte"].to_numpy(bool)]
    return int(fired[0]) if len(fired) else None


# --------------------------------------------------------------------------- the stage


#: The headline figures of ``data/metrics/drift.json``, at most: what ``dvc metrics diff`` shows.
HEADLINE_KEYS: tuple[str, ...] = (
    "columns",
    "drifted_columns",
    "drifted_share",
    "dataset_drift",
    "psi_significant",
    "score_psi",
)


def headline_metrics(summary: Mapping[str, Any]) -> dict[str, int | float]:
    """The few figures of a drift summary worth comparing between runs, flat and numeric.

    ``dataset_drift`` is the alert flag as 0 or 1; ``psi_significant`` counts the columns of
    PSI at or above 0.25; ``score_psi`` (the PSI of the risk score) is absent when no model
    scored the two sides. Shares and PSI are rounded to 4 decimals: enough to read a change,
    few enough to read at a glance.

    Examples
    --------
    >>> m = headline_metrics({"columns": 20, "drifted_columns": 7, "drifted_share": 0.35,
    ...     "dataset_drift": True, "psi_significant": ["A", "B"], "score": {"psi": 0.123456}})
    >>> m["dataset_drift"], m["psi_significant"], m["score_psi"], len(m)
    (1, 2, 0.1235, 6)
    """
    out: dict[str, int | float] = {
        "columns": int(summary["columns"]),
        "drifted_columns": int(summary["drifted_columns"]),
        "drifted_share": round(float(summary["drifted_share"]), 4),
        "dataset_drift": int(bool(summary["dataset_drift"])),
        "psi_significant": len(summary.get("psi_significant", [])),
    }
    score = summary.get("score")
    if score:
        out["score_psi"] = round(float(score["psi"]), 4)
    return out


@dataclass
class DriftRun:
    """Everything the ``drift`` stage computed, and where it wrote it.

    Attributes
    ----------
    summary
        The full summary, written to ``summary_path`` (what the site reads).
    metrics
        Its headline figures (:func:`headline_metrics`), written to ``metrics_path``.
    seconds
        Wall time per step: for the stage log, written to no output.
    """

    report: DriftResult
    psi: pd.DataFrame
    timeline: pd.DataFrame
    score: dict[str, Any] | None
    summary: dict[str, Any]
    html_path: Path
    metrics_path: Path
    columns: list[str] = field(default_factory=list)
    summary_path: Path | None = None
    metrics: dict[str, int | float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: DriftSettings | Mapping[str, Any],
    *,
    columns: Sequence[str] | None = None,
    reference_scores: npt.ArrayLike | None = None,
    current_scores: pd.Series | npt.ArrayLike | None = None,
    labels: Mapping[str, str] | None = None,
    html_path: Path = paths.REPORTS_DIR / "drift.html",
    metrics_path: Path = paths.METRICS_DIR / "drift.json",
    extra: Mapping[str, Any] | None = None,
    summary_path: Path | None = None,
) -> DriftRun:
    """The ``drift`` stage: Evidently report, PSI table, score drift and monthly timeline.

    Parameters
    ----------
    reference, current
        Training and production rows, with ``SK_ID_CURR`` and the columns.
    settings
        A :class:`DriftSettings` or the ``drift`` section of ``params.yaml``.
    columns
        Columns compared; default: :func:`monitored_columns` of the settings.
    reference_scores, current_scores
        Risk scores of training clients (any sample) and of the production rows (a Series
        indexed by ``SK_ID_CURR``, or in the row order of ``current``); without them the
        model's output is left out.
    labels
        French names of the columns (default: :func:`credit_scoring.labels.label`).
    html_path, metrics_path
        Where the HTML report and the headline figures (:func:`headline_metrics`) go.
    extra
        More entries for the JSON summary (the data origin, where the columns come from).
        Nothing that changes from run to run on the same inputs (a duration, a registry
        version): every file written here is hashed by DVC.
    summary_path
        Where the full JSON summary goes; default: ``drift.json`` beside ``html_path``.

    Returns
    -------
    DriftRun
        The results, the summary and headline figures written, and the durations.
    """
    if not isinstance(settings, DriftSettings):
        settings = DriftSettings.from_params(settings)
    if columns is None:
        columns = monitored_columns(settings.raw_columns, settings.features, settings.top_features)
    columns = list(dict.fromkeys(columns))
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    # Evidently's import costs seconds once per process: timed apart from the report.
    import evidently.presets  # noqa: F401

    seconds["import"] = time.perf_counter() - started

    t0 = time.perf_counter()
    report = drift_report(reference, current, columns, settings)
    report.save_html(html_path)
    seconds["report"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # The PSI's bins need no more reference rows than the report's sample; production is
    # small enough to take whole.
    psi_reference = sample(reference, settings.sample_rows, settings.seed)
    psi = psi_table(psi_reference, current, columns, settings.psi_bins, labels)
    score = None
    if reference_scores is not None and current_scores is not None:
        score = prediction_drift(reference_scores, current_scores, settings.psi_bins)
    seconds["psi"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    timeline = monitoring_timeline(reference, current, columns, settings, scores=current_scores)
    seconds["timeline"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - started

    summary: dict[str, Any] = dict(extra or {})
    summary |= report.summary()
    summary["psi"] = {str(c): float(v) for c, v in psi["psi"].items()}
    summary["psi_significant"] = [str(c) for c in psi.index[psi["psi"] >= PSI_SIGNIFICANT]]
    summary["psi_rows"] = {"reference": len(psi_reference), "current": len(current)}
    summary["score"] = score
    summary["timeline"] = {
        "months": settings.months,
        "pseudo_months": f"production batch cut by {CLIENT_ID} order",
        "reference_rows": min(len(reference), settings.timeline_rows),
        "columns": len(columns[: settings.timeline_columns or None]),
        "alert_month": alert_month(timeline),
        "drifted_share": [float(v) for v in timeline["part en dérive"]],
        "rows": [int(v) for v in timeline["demandes"]],
    }
    if "score moyen" in timeline:
        summary["timeline"]["mean_score"] = [float(v) for v in timeline["score moyen"]]
    summary["settings"] = asdict(settings)
    metrics = headline_metrics(summary)
    summary_path = Path(summary_path or Path(html_path).with_suffix(".json"))
    metrics_path = Path(metrics_path)
    if summary_path.resolve() == metrics_path.resolve():
        raise ValueError(f"the summary and the headline figures would both go to {metrics_path}")
    for path, content in ((summary_path, summary), (metrics_path, metrics)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")
    return DriftRun(
        report=report,
        psi=psi,
        timeline=timeline,
        score=score,
        summary=summary,
        html_path=Path(html_path),
        metrics_path=metrics_path,
        columns=columns,
        summary_path=summary_path,
        metrics=metrics,
        seconds={"evidently_report": report.seconds, **seconds},
    )


# --------------------------------------------------------------------------- tables


def _label(column: str, labels: Mapping[str, str] | None) -> str:
    return (labels or {}).get(column) or label(column)


def column_table(result: DriftResult, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The per-column results in French, drifted columns first, then by score."""
    table = result.columns
    out = pd.DataFrame(
        {
            "libellé": [_label(c, labels) for c in table.index],
            "type": table["kind"].map({"numerical": "numérique", "categorical": "catégorielle"}),
            "méthode": table["method"].map(lambda m: METHOD_LABELS_FR.get(m, m)),
            "score": table["score"],
            "seuil": table["threshold"],
            "dérive": table["drifted"].map({True: "oui", False: "non"}),
        },
        index=table.index.rename("variable"),
    )
    order = np.lexsort((-table["score"].to_numpy(), ~table["drifted"].to_numpy()))
    return out.iloc[order]


def timeline_table(timeline: pd.DataFrame) -> pd.DataFrame:
    """The monthly timeline for display: the alert as ``oui`` / ``non``.

    >>> timeline_table(pd.DataFrame({"alerte": [False, True]}, index=[1, 2]))["alerte"].tolist()
    ['non', 'oui']
    """
    return timeline.assign(alerte=timeline["alerte"].map({True: "oui", False: "non"}))


def sampling_statement(result: DriftResult) -> str:
    """One French sentence saying what the Evidently report compared.

    >>> r = DriftResult(None, pd.DataFrame({"drifted": [True]}), 1.0, 0.3,
    ...     {"reference_rows": 20000, "reference_total": 307511, "current_rows": 20000,
    ...      "current_total": 48744, "seed": 42}, 1.0)
    >>> print(sampling_statement(r))  # doctest: +NORMALIZE_WHITESPACE
    Échantillon comparé : 20 000 demandes d'entraînement tirées au hasard sur 307 511 ;
    20 000 demandes de production tirées au hasard sur 48 744 (graine 42), sur 1 colonne.
    """
    s, n = result.sampled, len(result.columns)

    def side(rows: int, total: int, who: str) -> str:
        if rows >= total:
            return f"les {number(total)} demandes {who}"
        return f"{number(rows)} demandes {who} tirées au hasard sur {number(total)}"

    return (
        f"Échantillon comparé : {side(s['reference_rows'], s['reference_total'], 'd’entraînement')}"
        f" ; {side(s['current_rows'], s['current_total'], 'de production')} "
        f"(graine {s['seed']}), sur {n} colonne{'s' if n > 1 else ''}."
    ).replace("’", "'")


# --------------------------------------------------------------------------- figures


def _tidy(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def plot_score_drift(
    reference_scores: npt.ArrayLike,
    current_scores: npt.ArrayLike,
    drift: Mapping[str, Any] | None = None,
    threshold_score: float = 50.0,
) -> Figure:
    """Histograms (densities) of the risk scores of training and production, overlaid."""
    ref = pd.Series(np.asarray(reference_scores, dtype=float)).dropna()
    cur = pd.Series(np.asarray(current_scores, dtype=float)).dropna()
    drift = drift or prediction_drift(ref, cur)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    edges = np.linspace(0, 100, 51)
    ax.hist(ref, bins=edges, density=True, alpha=0.5, color=REFERENCE_COLOUR, label="entraînement")
    ax.hist(cur, bins=edges, density=True, alpha=0.5, color=CURRENT_COLOUR, label="production")
    ax.axvline(threshold_score, color="black", linestyle="--", linewidth=1)
    ax.text(
        threshold_score, ax.get_ylim()[1] * 0.95, " seuil de décision (50)", fontsize=9, va="top"
    )
    ax.set_xlabel("Score de risque (0-100)")
    ax.set_ylabel("Densité")
    ax.set_yticks([])
    ax.set_title(
        f"PSI {number(drift['psi'], 3)} ({drift['reading']}), "
        f"KS {number(drift['ks'], 3)}, Wasserstein {number(drift['wasserstein'], 1)} points"
    )
    ax.legend()
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_psi(table: pd.DataFrame, top: int | None = None) -> Figure:
    """Horizontal bars of the PSI per column, coloured by reading, with the 0.1 and 0.25 lines."""
    shown = table.head(top) if top else table
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(shown) + 1.4))
    names = shown["libellé"][::-1]
    values = shown["psi"][::-1]
    colours = [READING_COLOURS[r] for r in shown["lecture"][::-1]]
    ax.barh(names, values, color=colours)
    for x in (PSI_WATCH, PSI_SIGNIFICANT):
        ax.axvline(x, color="black", linestyle="--", linewidth=0.8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in READING_COLOURS.values()]
    ax.legend(handles, READING_COLOURS.keys(), loc="lower right", fontsize=8)
    ax.set_xlabel("Indice de stabilité de la population (PSI)")
    ax.set_title("PSI par variable (pointillés : 0,1 et 0,25)")
    ax.tick_params(axis="y", labelsize=8)
    _tidy(ax)
    fig.tight_layout()
    return fig


def plot_timeline(timeline: pd.DataFrame, alert_share: float) -> Figure:
    """Share of drifted columns per pseudo-month, the alert line and the first alert; the
    mean risk score on the right axis when known."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    months = timeline.index.to_numpy()
    shares = timeline["part en dérive"].astype(float)
    colours = [CURRENT_COLOUR if a else REFERENCE_COLOUR for a in timeline["alerte"]]
    ax.bar(months, shares, color=colours, alpha=0.8, label="part des colonnes en dérive")
    ax.axhline(alert_share, color="black", linestyle="--", linewidth=1, label="seuil d'alerte")
    top = max(1.0, float(shares.max()) * 1.15)
    ax.set_ylim(0, top)
    first = alert_month(timeline)
    if first is not None:
        # The label sits at the top of the axes, clear of the bars and of the score line.
        ax.annotate(
            "première alerte",
            xy=(first, shares.loc[first]),
            xytext=(first, top * 0.93),
            ha="center",
            va="top",
            arrowprops={"arrowstyle": "->"},
            fontsize=9,
        )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks(months, [f"mois {m}" for m in months])
    ax.set_ylabel("Part des colonnes en dérive")
    ax.set_title(f"Suivi mensuel du lot de production (seuil d'alerte {percent(alert_share, 0)})")
    _tidy(ax)
    handles, names = ax.get_legend_handles_labels()
    if "score moyen" in timeline:
        right = ax.twinx()
        right.plot(
            months,
            timeline["score moyen"],
            color="black",
            marker="o",
            label="score de risque moyen (axe de droite)",
        )
        right.set_ylabel("Score de risque moyen")
        right.spines[["top"]].set_visible(False)
        more = right.get_legend_handles_labels()
        handles, names = handles + more[0], names + more[1]
    ax.legend(
        handles,
        names,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    return fig


@dataclass
class DriftStage:
    """The ``drift`` stage's run and what its report says about how it was made.

    ``model_version`` is the champion's registry version, for the stage log only: it changes
    at every training run, so the report does not show it.
    """

    run: DriftRun
    settings: DriftSettings
    raw_columns: list[str]
    reference_rows: int
    current_rows: int
    columns_from: str
    model_version: str | None
    reference_scores: npt.NDArray[np.float64] | None
    current_scores: pd.Series | None
    scores_from_holdout: bool


def _risk_scores(scorer: Any, features: pd.DataFrame) -> npt.NDArray[np.float64]:
    return np.array([r.risk_score for r in scorer.score_features(features)], dtype=float)


def run_stage(
    params: Mapping[str, Any] | DriftSettings,
    *,
    use_model: bool = True,
    labels: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> DriftStage:
    """The ``drift`` stage end to end: the champion's most important features joined to the
    raw columns, both sides read, the risk scores of held-out training clients and of the
    production batch, then :func:`run_drift`.

    Parameters
    ----------
    params
        The ``drift`` section of ``params.yaml`` (or its :class:`DriftSettings`).
    use_model
        Score both sides with the registered champion; off, the model's output is left out
        and the fallback ``features`` are watched.
    labels
        French labels of the columns, for the tables.
    origin
        ``twin`` or ``real``, written to the summary.

    The champion's registry version and the durations go to the stage log
    (``data/logs/drift.json``), not to the outputs.
    """
    settings = params if isinstance(params, DriftSettings) else DriftSettings.from_params(params)
    scorer = None
    if use_model:
        from credit_scoring.scoring import Scorer

        scorer = Scorer.from_registry()
    importance, columns_from = champion_importance(
        getattr(scorer, "model", None), getattr(scorer, "features", None)
    )
    ranked = (
        top_features(importance, len(importance))
        if importance is not None
        else list(settings.features)
    )
    columns = monitored_columns(settings.raw_columns, ranked, settings.top_features)
    reference, current = load_frames(settings.raw_columns, columns)

    reference_scores = current_scores = None
    holdout = None
    if scorer is not None:
        # Held-out clients: the model never saw them, so their scores compare with
        # production's (on its own training clients a model is over-confident).
        holdout_file = paths.MODELS_DIR / "test_predictions.parquet"
        if holdout_file.exists():
            holdout = pd.read_parquet(holdout_file, columns=[CLIENT_ID])[CLIENT_ID].tolist()
        train_features = pd.read_parquet(
            paths.FEATURES_DIR / "train.parquet",
            columns=[CLIENT_ID, *scorer.features],
            filters=[(CLIENT_ID, "in", holdout)] if holdout is not None else None,
        )
        reference_scores = _risk_scores(
            scorer, sample(train_features, settings.sample_rows, settings.seed)
        )
        production = pd.read_parquet(
            paths.FEATURES_DIR / "production.parquet", columns=[CLIENT_ID, *scorer.features]
        )
        current_scores = pd.Series(
            _risk_scores(scorer, production),
            index=pd.Index(production[CLIENT_ID], name=CLIENT_ID),
        )
    model_version = scorer.model_version if scorer is not None else None
    run = run_drift(
        reference,
        current,
        settings,
        columns=columns,
        reference_scores=reference_scores,
        current_scores=current_scores,
        labels=labels,
        extra={"origin": origin, "columns_from": columns_from},
    )
    runlog.record(
        "drift",
        {
            "model_version": model_version,
            "seconds": {k: round(v, 2) for k, v in run.seconds.items()},
        },
    )
    return DriftStage(
        run=run,
        settings=settings,
        raw_columns=list(settings.raw_columns),
        reference_rows=len(reference),
        current_rows=len(current),
        columns_from=columns_from,
        model_version=model_version,
        reference_scores=reference_scores,
        current_scores=current_scores,
        scores_from_holdout=holdout is not None,
    )
