"""How much default signal a twin carries, measured the way a modeller would first look.

The twin's latent risk is tuned so that, as on the real Kaggle data, a good model on the
application columns alone reaches an AUC of about 0.74-0.76 and about 0.78-0.80 once a few
history aggregates are added. :func:`measure` checks that on a generated twin: a quick
LightGBM on a stratified 75/25 split of ``application_train``, with and without
:func:`side_aggregates`, next to the oracle (the true probabilities of ``twin_truth.parquet``)
on the same split. These aggregates are deliberately few and plain, independent of the
``features`` stage.

Examples
--------
>>> import shutil, tempfile
>>> from pathlib import Path
>>> from credit_scoring.data.twin import TwinConfig, generate_twin
>>> out = Path(tempfile.mkdtemp()) / "twin"
>>> _ = generate_twin(TwinConfig(clients=400, seed=1), out, progress=False)
>>> side = side_aggregates(out)
>>> side.index.name, side.shape[1]
('SK_ID_CURR', 19)
>>> shutil.rmtree(out.parent)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from credit_scoring.data.schema import TABLES
from credit_scoring.data.twin._generate import TRUTH_FILE


def _read(twin: Path, name: str, columns: list[str]) -> pd.DataFrame:
    return pd.read_csv(Path(twin) / TABLES[name].file_name, usecols=columns)


def side_aggregates(twin: Path) -> pd.DataFrame:
    """Nineteen plain per-client aggregates of the six history tables, indexed by SK_ID_CURR."""
    parts: list[pd.DataFrame] = []

    bureau = _read(
        twin,
        "bureau",
        [
            "SK_ID_CURR",
            "SK_ID_BUREAU",
            "CREDIT_ACTIVE",
            "CREDIT_DAY_OVERDUE",
            "AMT_CREDIT_MAX_OVERDUE",
            "AMT_CREDIT_SUM_DEBT",
            "AMT_CREDIT_SUM_OVERDUE",
        ],
    )
    balance = _read(twin, "bureau_balance", ["SK_ID_BUREAU", "STATUS"])
    dpd = pd.to_numeric(balance["STATUS"], errors="coerce").fillna(0.0)
    per_credit = (
        balance.assign(DPD=dpd, LATE=dpd > 0)
        .groupby("SK_ID_BUREAU")
        .agg(BB_MAX_DPD=("DPD", "max"), BB_LATE_MONTHS=("LATE", "sum"))
    )
    bureau = bureau.join(per_credit, on="SK_ID_BUREAU")
    parts.append(
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

    prev = _read(twin, "previous_application", ["SK_ID_CURR", "SK_ID_PREV", "NAME_CONTRACT_STATUS"])
    parts.append(
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

    inst = _read(
        twin,
        "installments_payments",
        ["SK_ID_CURR", "DAYS_INSTALMENT", "DAYS_ENTRY_PAYMENT", "AMT_INSTALMENT", "AMT_PAYMENT"],
    )
    late = (inst["DAYS_ENTRY_PAYMENT"] - inst["DAYS_INSTALMENT"]).clip(lower=0)
    paid_ratio = inst["AMT_PAYMENT"] / inst["AMT_INSTALMENT"].where(inst["AMT_INSTALMENT"] > 0)
    parts.append(
        inst.assign(LATE_DAYS=late, LATE=late > 0, PAID_RATIO=paid_ratio)
        .groupby("SK_ID_CURR")
        .agg(
            INST_LATE_DAYS_MEAN=("LATE_DAYS", "mean"),
            INST_LATE_SHARE=("LATE", "mean"),
            INST_PAID_RATIO_MEAN=("PAID_RATIO", "mean"),
        )
    )
    del inst

    pos = _read(twin, "POS_CASH_balance", ["SK_ID_CURR", "SK_DPD"])
    parts.append(
        pos.groupby("SK_ID_CURR").agg(
            POS_DPD_MAX=("SK_DPD", "max"), POS_DPD_MEAN=("SK_DPD", "mean")
        )
    )
    del pos

    card = _read(
        twin,
        "credit_card_balance",
        [
            "SK_ID_CURR",
            "AMT_BALANCE",
            "AMT_CREDIT_LIMIT_ACTUAL",
            "AMT_DRAWINGS_CURRENT",
            "SK_DPD",
        ],
    )
    limit = card["AMT_CREDIT_LIMIT_ACTUAL"].where(card["AMT_CREDIT_LIMIT_ACTUAL"] > 0)
    parts.append(
        card.assign(UTIL=card["AMT_BALANCE"] / limit)
        .groupby("SK_ID_CURR")
        .agg(
            CARD_UTIL_MEAN=("UTIL", "mean"),
            CARD_DRAWINGS_MEAN=("AMT_DRAWINGS_CURRENT", "mean"),
            CARD_DPD_MAX=("SK_DPD", "max"),
        )
    )
    return pd.concat(parts, axis=1).rename_axis("SK_ID_CURR")


def quick_lightgbm_auc(
    x: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray, seed: int
) -> float:
    """Test AUC of a LightGBM with sensible fixed settings (no tuning), two threads."""
    import lightgbm as lgb

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
        n_jobs=2,
        verbose=-1,
    )
    model.fit(x.iloc[train_idx], y.iloc[train_idx])
    return float(roc_auc_score(y.iloc[test_idx], model.predict_proba(x.iloc[test_idx])[:, 1]))


def measure(twin: Path, seed: int = 42) -> dict[str, float]:
    """Default rate, oracle AUC and quick LightGBM AUCs of a twin directory.

    Returns
    -------
    dict
        ``clients``, ``default_rate``, ``oracle_auc_train`` (all of application_train), and on
        the 25 % test split: ``oracle_auc``, ``auc_application`` (application columns only)
        and ``auc_with_history`` (plus :func:`side_aggregates`).
    """
    app = pd.read_csv(Path(twin) / TABLES["application_train"].file_name)
    truth = pd.read_parquet(Path(twin) / TRUTH_FILE).set_index("SK_ID_CURR")
    y = app["TARGET"]
    p_true = truth.loc[app["SK_ID_CURR"], "probability_default"].to_numpy()

    x_app = app.drop(columns=["SK_ID_CURR", "TARGET"])
    for column in x_app.select_dtypes("object").columns:
        x_app[column] = x_app[column].astype("category")
    side = side_aggregates(twin).reindex(app["SK_ID_CURR"]).reset_index(drop=True)
    x_all = pd.concat([x_app, side], axis=1)

    train_idx, test_idx = train_test_split(
        np.arange(len(app)), test_size=0.25, stratify=y, random_state=seed
    )
    return {
        "clients": len(app),
        "default_rate": float(y.mean()),
        "oracle_auc_train": float(roc_auc_score(y, p_true)),
        "oracle_auc": float(roc_auc_score(y.iloc[test_idx], p_true[test_idx])),
        "auc_application": quick_lightgbm_auc(x_app, y, train_idx, test_idx, seed),
        "auc_with_history": quick_lightgbm_auc(x_all, y, train_idx, test_idx, seed),
    }
