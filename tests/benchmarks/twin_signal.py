"""How much default signal the data twin carries, and how close its marginals are to the profile.

Generates a twin in a temporary directory (or reads an existing one), reads it back with
pandas, and prints:

- the default rate and the oracle AUC (true probability against TARGET) on train;
- the test AUC (stratified 75/25 split of application_train) of a quick LightGBM on
  (a) the application columns only and (b) the application columns plus a handful of
  side-table aggregates per client, next to the oracle on the same split;
- a twin-vs-profile table (missing rate and median) for 20 important application columns;
- for each table, the largest gaps to the real samples over its profiled columns
  (:func:`credit_scoring.fidelity.column_gaps`).

Usage::

    .venv/bin/python tests/benchmarks/twin_signal.py --clients 307511 --seed 42
    .venv/bin/python tests/benchmarks/twin_signal.py --twin-dir data/raw/twin   # an existing twin
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from credit_scoring import fidelity
from credit_scoring.data.schema import TABLES
from credit_scoring.data.twin import TwinConfig, generate_twin, signal
from credit_scoring.data.twin._core import column_profile

PROFILE_COLUMNS = (
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    "DAYS_BIRTH",
    "DAYS_EMPLOYED",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "DAYS_REGISTRATION",
    "DAYS_ID_PUBLISH",
    "DAYS_LAST_PHONE_CHANGE",
    "REGION_POPULATION_RELATIVE",
    "OWN_CAR_AGE",
    "OCCUPATION_TYPE",
    "APARTMENTS_AVG",
    "YEARS_BUILD_AVG",
    "COMMONAREA_MEDI",
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "AMT_REQ_CREDIT_BUREAU_YEAR",
)


def profile_table(app: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for c in PROFILE_COLUMNS:
        prof = column_profile("application_train", c)
        twin_median = float(app[c].median()) if app[c].dtype != object else float("nan")
        prof_median = prof.get("quantiles", {}).get("0.5", float("nan"))
        rows.append(
            {
                "column": c,
                "missing twin": round(float(app[c].isna().mean()), 4),
                "missing profile": round(float(prof["missing_rate"]), 4),
                "median twin": twin_median,
                "median profile": prof_median,
            }
        )
    return pd.DataFrame(rows).set_index("column")


def gaps_table(twin: Path) -> pd.DataFrame:
    """Largest gap to the real samples of each table, over its profiled columns."""
    profile = fidelity.load_profile()
    rows = {}
    for name, spec in profile.items():
        frame = pd.read_csv(twin / TABLES[name].file_name, usecols=list(spec["columns"]))
        gaps = fidelity.column_gaps(frame, spec)
        quantiles = gaps.loc[gaps["real_values"] >= fidelity.MIN_REAL_VALUES, "quantiles"]
        rows[name] = {
            "columns": len(gaps),
            "missing max": gaps["missing"].max(),
            "quantiles median": quantiles.median(),
            "quantiles max": quantiles.max(),
            "worst column": quantiles.idxmax(),
            "shares max": gaps["shares"].max(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def evaluate(twin: Path, seed: int) -> None:
    started = time.perf_counter()
    m = signal.measure(twin, seed)
    print(f"clients (train)        {m['clients']:,}")
    print(f"default rate           {m['default_rate']:.4f}")
    print(f"oracle AUC (train)     {m['oracle_auc_train']:.4f}")
    print(f"oracle AUC (test 25%)  {m['oracle_auc']:.4f}")
    print(f"LightGBM app only      {m['auc_application']:.4f}")
    print(f"LightGBM app + side    {m['auc_with_history']:.4f}")
    print()
    app = pd.read_csv(twin / TABLES["application_train"].file_name, usecols=list(PROFILE_COLUMNS))
    float_format = "{:.6g}".format
    with pd.option_context("display.width", 140, "display.max_columns", 10):
        print(profile_table(app).to_string(float_format=float_format))
        print(
            "\nGaps to the real samples (shares of rows; quantiles: 5th to 95th centile, "
            f"columns with at least {fidelity.MIN_REAL_VALUES} real values)"
        )
        print(gaps_table(twin).to_string(float_format="{:.3f}".format))
    print(f"\nevaluation seconds     {time.perf_counter() - started:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--drift", type=float, default=1.0)
    parser.add_argument("--twin-dir", type=Path, default=None, help="evaluate an existing twin")
    args = parser.parse_args()

    if args.twin_dir is not None:
        evaluate(args.twin_dir, args.seed)
        return
    tmp = Path(tempfile.mkdtemp(prefix="twin_signal_"))
    try:
        started = time.perf_counter()
        config = TwinConfig(clients=args.clients, seed=args.seed, drift=args.drift)
        generate_twin(config, tmp / "twin", progress=False)
        print(f"generation seconds     {time.perf_counter() - started:.1f}")
        evaluate(tmp / "twin", args.seed)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
