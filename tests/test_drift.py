"""The drift layer pinned on planted drift: what is shifted is found, what is not does not alarm.

Small frames (a few thousand rows, ten columns) keep every Evidently run around a second; the
runs are shared by module-scoped fixtures, each test checks one behaviour of their results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import json_keys

from credit_scoring import drift

# Importing Evidently warns about deprecations inside it and its web UI's framework: not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:evidently"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar"),
    pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning"),
]

ROWS = 3000
SHIFTED = ["age", "income", "credit", "ratio"]  # 4 of 10 columns: above the 0.3 alert share
COLUMNS = ["age", "income", "credit", "ratio", "ext", "days", "flag", "kind", "region", "contract"]
SETTINGS = drift.DriftSettings(
    sample_rows=2500, timeline_rows=3000, months=6, alert_share=0.3, seed=0, psi_bins=10
)


def population(n: int, seed: int, first_id: int = 100_000) -> pd.DataFrame:
    """Clients of one population: numbers of several shapes, missing values, categories."""
    rng = np.random.default_rng(seed)
    ext = rng.uniform(0, 1, n)
    ext[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame(
        {
            drift.CLIENT_ID: np.arange(first_id, first_id + n),
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "credit": rng.gamma(2.0, 1000.0, n),
            "ratio": rng.normal(0, 1, n),
            "ext": ext,
            "days": -rng.integers(100, 10_000, n),
            "flag": rng.integers(0, 2, n),
            "kind": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(list("wxyz"), n),
            "contract": pd.Categorical(rng.choice(["cash", "revolving"], n, p=[0.9, 0.1])),
        }
    )


def shift(frame: pd.DataFrame, columns: list[str], stds: float = 1.0) -> pd.DataFrame:
    """The same clients, ``stds`` standard deviations higher on ``columns``."""
    out = frame.copy()
    for column in columns:
        out[column] = out[column] + stds * out[column].std()
    return out


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return population(ROWS, seed=1)


@pytest.fixture(scope="module")
def same(reference: pd.DataFrame) -> drift.DriftResult:
    """Two random halves of one population: no drift."""
    both = pd.concat([reference, population(ROWS, seed=2, first_id=200_000)], ignore_index=True)
    left = both.sample(frac=0.5, random_state=3)
    return drift.drift_report(left, both.drop(left.index), COLUMNS, SETTINGS)


@pytest.fixture(scope="module")
def shifted(reference: pd.DataFrame) -> drift.DriftResult:
    current = shift(population(ROWS, seed=2, first_id=200_000), SHIFTED)
    return drift.drift_report(reference, current, COLUMNS, SETTINGS)


@pytest.fixture(scope="module")
def growing() -> pd.DataFrame:
    """A production batch whose second half (months 4 to 6 of 6) is shifted, rows shuffled."""
    current = population(ROWS, seed=4, first_id=300_000)
    late = current[drift.CLIENT_ID] >= current[drift.CLIENT_ID].median()
    current.loc[late] = shift(current.loc[late], SHIFTED, stds=1.5)
    return current.sample(frac=1.0, random_state=5)


@pytest.fixture(scope="module")
def stage(
    reference: pd.DataFrame, growing: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> drift.DriftRun:
    out = tmp_path_factory.mktemp("drift")
    rng = np.random.default_rng(6)
    ids = growing[drift.CLIENT_ID]
    # Scores that rise with the application order, as the shifted months would make them.
    position = ((ids - ids.min()) / (ids.max() - ids.min())).to_numpy()
    scores = pd.Series(
        np.clip(30 + 20 * position + rng.normal(0, 5, len(ids)), 0, 100),
        index=pd.Index(ids.to_numpy(), name=drift.CLIENT_ID),
    )
    return drift.run_drift(
        reference,
        growing,
        SETTINGS,
        columns=COLUMNS,
        reference_scores=np.clip(rng.normal(30, 8, ROWS), 0, 100),
        current_scores=scores,
        html_path=out / "drift.html",
        metrics_path=out / "metrics" / "drift.json",
        extra={"origin": "test"},
    )


# --------------------------------------------------------------------------- Evidently report


def test_planted_shift_flags_the_shifted_columns(shifted: drift.DriftResult) -> None:
    assert shifted.columns.loc[SHIFTED, "drifted"].all()


def test_planted_shift_leaves_the_other_columns_alone(shifted: drift.DriftResult) -> None:
    others = [c for c in COLUMNS if c not in SHIFTED]
    assert not shifted.columns.loc[others, "drifted"].any()


def test_planted_shift_is_a_dataset_drift(shifted: drift.DriftResult) -> None:
    assert shifted.dataset_drift and shifted.drifted_share >= SETTINGS.alert_share


def test_same_population_does_not_alarm(same: drift.DriftResult) -> None:
    assert not same.dataset_drift and same.drifted_share < SETTINGS.alert_share


def test_column_flags_add_up_to_evidently_share(shifted: drift.DriftResult) -> None:
    assert shifted.drifted_count / len(COLUMNS) == pytest.approx(shifted.drifted_share)


def test_columns_are_typed_by_dtype(shifted: drift.DriftResult) -> None:
    kinds = shifted.columns["kind"]
    assert set(kinds[kinds == "categorical"].index) == {"kind", "region", "contract"}


def test_report_states_its_sample(shifted: drift.DriftResult) -> None:
    assert shifted.sampled == {
        "reference_rows": 2500,
        "reference_total": ROWS,
        "current_rows": 2500,
        "current_total": ROWS,
        "seed": 0,
    }


def test_report_html_opens_offline(shifted: drift.DriftResult, tmp_path: Path) -> None:
    html = shifted.save_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and drift.external_resources(html) == []


def test_external_resources_catches_a_cdn_script() -> None:
    html = '<head><link rel="stylesheet" href="https://fonts.example/x.css"></head>'
    assert drift.external_resources(html) != []


def test_unknown_column_is_refused_before_evidently_runs(reference: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="no_such_column"):
        drift.drift_report(reference, reference, ["age", "no_such_column"], SETTINGS)


def test_column_empty_in_production_counts_as_drifted(reference: pd.DataFrame) -> None:
    current = reference.assign(ext=np.nan)
    share, count = drift.drifted_share(reference, current, ["age", "ext", "kind"], SETTINGS)
    assert (share, count) == (pytest.approx(1 / 3), 1)


def test_column_table_puts_drifted_columns_first(shifted: drift.DriftResult) -> None:
    table = drift.column_table(shifted)
    assert set(table["dérive"].head(len(SHIFTED))) == {"oui"}


# --------------------------------------------------------------------------- PSI


def test_psi_of_identical_samples_is_zero(reference: pd.DataFrame) -> None:
    assert [drift.population_stability_index(reference[c], reference[c]) for c in COLUMNS] == [
        0.0
    ] * len(COLUMNS)


def test_psi_of_one_std_shift_is_significant(reference: pd.DataFrame) -> None:
    moved = shift(reference, ["age"])
    value = drift.population_stability_index(reference["age"], moved["age"])
    assert drift.psi_reading(value) == "dérive significative"


def test_psi_counts_missing_values_as_a_bin() -> None:
    ref = pd.Series(np.arange(1000.0))
    cur = ref.where(ref % 2 == 0)  # half the values missing, the rest spread as before
    assert drift.population_stability_index(ref, cur) > drift.PSI_SIGNIFICANT


def test_psi_counts_unseen_levels() -> None:
    ref = pd.Series(["a", "b"] * 500)
    cur = pd.Series(["a", "b", "new"] * 300)
    assert drift.population_stability_index(ref, cur) > drift.PSI_WATCH


def test_psi_reading_thresholds_are_inclusive_upwards() -> None:
    readings = [drift.psi_reading(v) for v in (0.0999, 0.1, 0.2499, 0.25)]
    assert readings == ["stable", "à surveiller", "à surveiller", "dérive significative"]


def test_psi_table_is_sorted_largest_first(reference: pd.DataFrame) -> None:
    table = drift.psi_table(reference, shift(reference, ["credit"]), COLUMNS)
    assert table.index[0] == "credit" and table["psi"].is_monotonic_decreasing


# --------------------------------------------------------------------------- model output


def test_prediction_drift_of_identical_scores_is_nil() -> None:
    scores = np.random.default_rng(0).uniform(0, 100, 2000)
    d = drift.prediction_drift(scores, scores)
    assert (d["psi"], d["ks"], d["wasserstein"]) == (0.0, 0.0, 0.0)


def test_prediction_drift_finds_a_score_shift() -> None:
    rng = np.random.default_rng(0)
    d = drift.prediction_drift(rng.normal(30, 10, 5000), rng.normal(40, 10, 5000))
    assert d["reading"] == "dérive significative" and d["ks_pvalue"] < 1e-6


# --------------------------------------------------------------------------- timeline


def test_monthly_batches_follow_the_order_not_the_rows() -> None:
    ids = np.random.default_rng(0).permutation(600)
    month = drift.monthly_batches(ids, 6)
    assert (np.diff(month[np.argsort(ids)]) >= 0).all()


def test_monthly_batches_have_equal_sizes() -> None:
    assert (
        np.bincount(drift.monthly_batches(np.arange(602), 6))[1:].tolist() == [101] * 2 + [100] * 4
    )


def test_timeline_months_are_in_application_order(stage: drift.DriftRun) -> None:
    first = stage.timeline[f"premier {drift.CLIENT_ID}"]
    assert stage.timeline.index.tolist() == list(range(1, 7)) and first.is_monotonic_increasing


def test_timeline_alert_month_is_the_first_over_the_threshold(stage: drift.DriftRun) -> None:
    over = stage.timeline["part en dérive"] >= SETTINGS.alert_share
    assert drift.alert_month(stage.timeline) == over.idxmax() == 4


def test_timeline_is_quiet_before_the_planted_shift(stage: drift.DriftRun) -> None:
    assert not stage.timeline.loc[[1, 2, 3], "alerte"].any()


def test_timeline_mean_score_matches_clients_by_id(stage: drift.DriftRun) -> None:
    # Scores rise with the id: matched by id (not by the shuffled rows), the means rise too.
    assert stage.timeline["score moyen"].is_monotonic_increasing


def test_plot_timeline_marks_the_first_alert(stage: drift.DriftRun) -> None:
    fig = drift.plot_timeline(stage.timeline, SETTINGS.alert_share)
    notes = [t for t in fig.axes[0].texts if t.get_text() == "première alerte"]
    assert len(notes) == 1 and notes[0].xy[0] == 4
    plt.close(fig)


# --------------------------------------------------------------------------- the stage


def _read(path: Path | None) -> Any:
    assert path is not None
    return json.loads(path.read_text(encoding="utf-8"))


def test_stage_writes_the_json_summary_beside_the_html(stage: drift.DriftRun) -> None:
    assert stage.summary_path == stage.html_path.with_suffix(".json")
    assert {
        "drifted_share",
        "dataset_drift",
        "alert_share",
        "per_column",
        "sampled",
        "score",
        "psi",
        "timeline",
        "origin",
    } <= set(_read(stage.summary_path))


def test_stage_summary_gives_method_score_and_flag_per_column(stage: drift.DriftRun) -> None:
    per_column = _read(stage.summary_path)["per_column"]
    assert set(per_column) == set(COLUMNS) and all(
        set(v) >= {"method", "score", "drifted"} for v in per_column.values()
    )


def test_stage_summary_gives_the_score_psi(stage: drift.DriftRun) -> None:
    score = _read(stage.summary_path)["score"]
    assert score["psi"] == pytest.approx(stage.score["psi"]) and score["psi"] > 0


def test_stage_metrics_are_a_few_flat_numbers(stage: drift.DriftRun) -> None:
    metrics = _read(stage.metrics_path)
    assert set(metrics) <= set(drift.HEADLINE_KEYS) and len(metrics) <= 6
    assert all(type(v) in (int, float) for v in metrics.values()), metrics
    assert metrics["dataset_drift"] == 1 and metrics["columns"] == len(COLUMNS)
    assert metrics["score_psi"] == pytest.approx(stage.score["psi"], abs=1e-4)
    assert metrics == stage.metrics


def test_stage_outputs_hold_no_duration_version_or_path(stage: drift.DriftRun) -> None:
    # DVC hashes these files: what changes from run to run has no place in them.
    for path in (stage.summary_path, stage.metrics_path):
        text = path.read_text(encoding="utf-8")
        keys = json_keys(json.loads(text))
        assert not {k for k in keys if k in ("seconds", "latency", "model_version")}, path
        assert str(stage.html_path.parent) not in text, path
    assert set(stage.seconds) >= {"report", "timeline", "total"}  # kept for the stage log


def test_summary_and_metrics_cannot_share_a_file(reference: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both go to"):
        drift.run_drift(
            reference,
            reference,
            SETTINGS,
            columns=["age"],
            html_path=tmp_path / "drift.html",
            metrics_path=tmp_path / "drift.json",
        )


def test_stage_writes_an_offline_html_report(stage: drift.DriftRun) -> None:
    html = stage.html_path.read_text(encoding="utf-8")
    assert len(html) > 10_000 and drift.external_resources(html) == []


# What the byte-identity test runs, in this process and in another one.
_SMALL_REPORT = """
import sys
from pathlib import Path
from credit_scoring import drift
from test_drift import COLUMNS, SETTINGS, population, shift
reference = population(400, seed=1)
current = shift(population(400, seed=2, first_id=200_000), ["age", "income"])
drift.drift_report(reference, current, COLUMNS, SETTINGS).save_html(Path(sys.argv[1]))
"""


def test_html_report_is_byte_identical_across_runs(tmp_path: Path) -> None:
    # Evidently draws a fresh uuid per widget and per page; an output DVC hashes must not
    # change from one run (one process, one hash seed, one directory) to the next.
    pages = []
    for run in range(2):
        page = tmp_path / f"run{run}" / "drift.html"
        page.parent.mkdir()
        env = os.environ | {
            "PYTHONHASHSEED": str(run + 1),
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
            "PYTHONWARNINGS": "ignore",
        }
        subprocess.run(
            [sys.executable, "-c", _SMALL_REPORT, str(page)],
            cwd=page.parent,
            env=env,
            check=True,
            capture_output=True,
        )
        pages.append(page.read_bytes())
    assert len(pages[0]) > 10_000 and pages[0] == pages[1]
    ids = drift._UUID7.findall(pages[0].decode("utf-8"))
    assert ids and all(i.startswith("00000000-0000-7000-8000-") for i in ids)


# --------------------------------------------------------------------------- settings and data


def test_settings_refuse_an_unknown_key() -> None:
    with pytest.raises(KeyError, match="sample_row"):
        drift.DriftSettings.from_params({"sample_row": 10})


def test_settings_read_column_lists_from_strings() -> None:
    s = drift.DriftSettings.from_params({"raw_columns": "A,B C", "num_method": "auto"})
    assert (s.raw_columns, s.num_method) == (("A", "B", "C"), None)


def test_monitored_columns_are_raw_then_top_features() -> None:
    assert drift.monitored_columns(["A", "B"], ["B", "C", "D", "E"], top=2) == [
        "A",
        "B",
        "C",
        "D",
    ]


def test_default_columns_exist_in_the_data() -> None:
    from credit_scoring.data.schema import TABLES
    from credit_scoring.features import feature_dictionary

    raw = set(TABLES["application_test"].column_names)
    features = set(feature_dictionary()["name"])
    missing = [c for c in drift.RAW_COLUMNS if c not in raw]
    missing += [f for f in drift.FALLBACK_FEATURES if f not in features]
    assert missing == []


def test_load_frames_joins_features_by_client(tmp_path: Path) -> None:
    interim, features = tmp_path / "interim", tmp_path / "features"
    interim.mkdir()
    features.mkdir()
    for app, table, ids in (
        ("application_train", "train", [1, 2, 3]),
        ("application_test", "production", [4, 5]),
    ):
        pd.DataFrame({drift.CLIENT_ID: ids, "AMT_CREDIT": [10.0 * i for i in ids]}).to_parquet(
            interim / f"{app}.parquet"
        )
        pd.DataFrame(
            {drift.CLIENT_ID: ids[::-1], "RATIO": [float(i) for i in ids[::-1]]}
        ).to_parquet(features / f"{table}.parquet")
    _, current = drift.load_frames(["AMT_CREDIT"], ["AMT_CREDIT", "RATIO"], interim, features)
    assert current.to_dict("list") == {
        drift.CLIENT_ID: [4, 5],
        "AMT_CREDIT": [40.0, 50.0],
        "RATIO": [4.0, 5.0],
    }


def test_model_importance_maps_one_hot_levels_back_to_their_feature() -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"noise": rng.normal(size=400), "kind": rng.choice(["a", "b", "c"], 400)})
    y = (X["kind"] == "a").astype(int)
    prep = ColumnTransformer(
        [("num", "passthrough", ["noise"]), ("cat", OneHotEncoder(), ["kind"])],
        verbose_feature_names_out=False,
    )
    model = CalibratedClassifierCV(
        Pipeline([("prep", prep), ("model", LogisticRegression())]), cv=2
    )
    importance = drift.model_importance(model.fit(X, y), ["noise", "kind"])
    assert importance.index.tolist() == ["kind", "noise"]
