"""How much default signal the data twin carries, and how close its marginals are to the profile.

Generates a twin in a temporary directory (or reads an existing one), reads it back with
pandas, and prints:

- the default rate and the oracle AUC (true probability against TARGET) on train;
- the test AUC (stratified 75/25 split of application_train) of a quick LightGBM on
  (a) the application columns only and (b) the application columns plus a handful of
  side-table aggregates per client, next to the oracle on the same split;
- a twin-vs-profile table (missing rate and median) for 20 important application columns.

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

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from credit_scoring.data.schema import TABLES
from credit_scoring.data.twin import TRUTH_FILE, TwinConfig, generate_twin
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


def read(twin: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(twin / TABLES[name].file_name)


def side_features(twin: Path) -> pd.DataFrame:
    """A handful of per-client aggregates of the side tables."""
    feats: list[pd.DataFrame] = []

    bureau = read(twin, "bureau")
    balance = read(twin, "bureau_balance")
    dpd = pd.to_numeric(balance["STATUS"], errors="coerce").fillna(0.0)
    per_credit = (
        balance.assign(DPD=dpd, LATE=dpd > 0)
        .groupby("SK_ID_BUREAU")
        .agg(BB_MAX_DPD=("DPD", "max"), BB_LATE_MONTHS=("LATE", "sum"))
    )
    bureau = bureau.join(per_credit, on="SK_ID_BUREAU")
    feats.append(
        bureau.assign(ACTIVE=bureau["CREDIT_ACTIVE"].eq("Active"))
        .groupby("SK_ID_CURR")
        .agg(
            BUREAU_COUNT=("SK_ID_BUREAU", "size"),
            BUREAU_ACTIVE=("ACTIVE", "sum"),
            BUREAU_OVERDUE_SUM=("AMT_CREDIT_SUM_OVERDUE", "sum"),
            BUREAU_DAY_OVERDUE_MAX=("CREDIT_DAY_OVERDUE", "max"),
            BUREAU_DEBT_SUM=("AMT_CREDIT_SUM_DEBT", "sum"),
            BUREAU_MAX_OVERDUE_MAX=("AMT_CREDIT_MAX_OVERDUE", "max"),
            BB_MAX_DPD=("BB_MAX_DPD", "max"),
            BB_LATE_MONTHS=("BB_LATE_MONTHS", "sum"),
        )
    )
    del bureau, balance

    prev = read(twin, "previous_application")
    feats.append(
        prev.assign(
            REFUSED=prev["NAME_CONTRACT_STATUS"].eq("Refused"),
            APPROVED=prev["NAME_CONTRACT_STATUS"].eq("Approved"),
        )
        .groupby("SK_ID_CURR")
        .agg(
            PREV_COUNT=("SK_ID_PREV", "size"),
            PREV_REFUSED_SHARE=("REFUSED", "mean"),
            PREV_APPROVED=("APPROVED", "sum"),
        )
    )
    del prev

    inst = read(twin, "installments_payments")
    late = (inst["DAYS_ENTRY_PAYMENT"] - inst["DAYS_INSTALMENT"]).clip(lower=0)
    ratio = inst["AMT_PAYMENT"] / inst["AMT_INSTALMENT"].where(inst["AMT_INSTALMENT"] > 0)
    feats.append(
        inst.assign(LATE_DAYS=late, LATE=late > 0, PAID_RATIO=ratio)
        .groupby("SK_ID_CURR")
        .agg(
            INST_LATE_DAYS_MEAN=("LATE_DAYS", "mean"),
            INST_LATE_SHARE=("LATE", "mean"),
            INST_PAID_RATIO_MEAN=("PAID_RATIO", "mean"),
        )
    )
    del inst

    pos = read(twin, "POS_CASH_balance")
    feats.append(
        pos.groupby("SK_ID_CURR").agg(
            POS_DPD_MAX=("SK_DPD", "max"), POS_DPD_MEAN=("SK_DPD", "mean")
        )
    )
    del pos

    card = read(twin, "credit_card_balance")
    util = card["AMT_BALANCE"] / card["AMT_CREDIT_LIMIT_ACTUAL"].where(
        card["AMT_CREDIT_LIMIT_ACTUAL"] > 0
    )
    feats.append(
        card.assign(UTIL=util)
        .groupby("SK_ID_CURR")
        .agg(
            CARD_UTIL_MEAN=("UTIL", "mean"),
            CARD_DRAWINGS_MEAN=("AMT_DRAWINGS_CURRENT", "mean"),
            CARD_DPD_MAX=("SK_DPD", "max"),
        )
    )
    return pd.concat(feats, axis=1)


def lightgbm_auc(
    x: pd.DataFrame,
    y: pd.Series,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    seed: int,
    n_jobs: int = 2,
) -> float:
    model = lgb.LGBMClassifier(
        n_estimators=400,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.7,
        reg_lambda=1.0,
        random_state=seed,
        n_jobs=n_jobs,
        verbose=-1,
    )
    model.fit(x.iloc[train_idx], y.iloc[train_idx])
    proba = model.predict_proba(x.iloc[test_idx])[:, 1]
    return float(roc_auc_score(y.iloc[test_idx], proba))


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


def evaluate(twin: Path, seed: int, n_jobs: int = 2) -> None:
    started = time.perf_counter()
    app = read(twin, "application_train")
    truth = pd.read_parquet(twin / TRUTH_FILE).set_index("SK_ID_CURR")
    y = app["TARGET"]
    p_true = truth.loc[app["SK_ID_CURR"], "probability_default"].to_numpy()
    print(f"clients (train)        {len(app):,}")
    print(f"default rate           {y.mean():.4f}")
    print(f"oracle AUC (train)     {roc_auc_score(y, p_true):.4f}")

    x_app = app.drop(columns=["SK_ID_CURR", "TARGET"])
    for c in x_app.select_dtypes("object").columns:
        x_app[c] = x_app[c].astype("category")
    side = side_features(twin).reindex(app["SK_ID_CURR"]).reset_index(drop=True)
    x_all = pd.concat([x_app, side], axis=1)

    idx = np.arange(len(app))
    train_idx, test_idx = train_test_split(idx, test_size=0.25, stratify=y, random_state=seed)
    oracle = roc_auc_score(y.iloc[test_idx], p_true[test_idx])
    auc_app = lightgbm_auc(x_app, y, train_idx, test_idx, seed, n_jobs)
    auc_all = lightgbm_auc(x_all, y, train_idx, test_idx, seed, n_jobs)
    print(f"oracle AUC (test 25%)  {oracle:.4f}")
    print(f"LightGBM app only      {auc_app:.4f}")
    print(f"LightGBM app + side    {auc_all:.4f}  ({side.shape[1]} side aggregates)")
    print()
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(profile_table(app).to_string(float_format=lambda v: f"{v:.6g}"))
    print(f"\nevaluation seconds     {time.perf_counter() - started:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--drift", type=float, default=1.0)
    parser.add_argument("--twin-dir", type=Path, default=None, help="evaluate an existing twin")
    parser.add_argument("--n-jobs", type=int, default=2, help="LightGBM threads")
    args = parser.parse_args()

    if args.twin_dir is not None:
        evaluate(args.twin_dir, args.seed, args.n_jobs)
        return
    tmp = Path(tempfile.mkdtemp(prefix="twin_signal_"))
    try:
        started = time.perf_counter()
        config = TwinConfig(clients=args.clients, seed=args.seed, drift=args.drift)
        generate_twin(config, tmp / "twin", progress=False)
        print(f"generation seconds     {time.perf_counter() - started:.1f}")
        evaluate(tmp / "twin", args.seed, args.n_jobs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
