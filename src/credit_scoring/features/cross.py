"""Features that set the history against the application: debts and repayments per unit of
income, the implied rate of the current credit against those of the previous ones.

Computed element-wise once application and history features are side by side.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from credit_scoring.features.catalog import Feature

_INCOME = "AMT_INCOME_TOTAL"
#: The history features the cross features read.
INPUTS = (
    "BURO_ACTIVE_AMT_CREDIT_SUM_DEBT_SUM",
    "BURO_ACTIVE_AMT_ANNUITY_SUM",
    "PREV_RUNNING_AMT_ANNUITY_SUM",
    "PREV_APPROVED_AMT_CREDIT_MEAN",
    "INST_365D_AMT_PAYMENT_SUM",
    "CC_CARD_CURRENT_BALANCE_SUM",
    "PREV_IMPLIED_RATE_MEAN",
)


def cross_features() -> list[Feature]:
    """Dictionary entries of the cross features, in output order."""
    return [
        Feature(
            "BURO_ACTIVE_DEBT_TO_INCOME",
            "bureau",
            "sum of the debt of active bureau credits / AMT_INCOME_TOTAL",
            "Dettes en cours ailleurs rapportées au revenu annuel",
            "ratio",
            direction="+",
        ),
        Feature(
            "BURO_ACTIVE_ANNUITY_TO_INCOME",
            "bureau",
            "sum of the annuities of active bureau credits / AMT_INCOME_TOTAL",
            "Mensualités des crédits en cours ailleurs rapportées au revenu",
            "ratio",
            direction="+",
        ),
        Feature(
            "PREV_RUNNING_ANNUITY_TO_INCOME",
            "previous_application",
            "sum of the annuities of running previous loans / AMT_INCOME_TOTAL",
            "Mensualités des crédits précédents en cours rapportées au revenu",
            "ratio",
            direction="+",
        ),
        Feature(
            "CREDIT_TO_PREV_APPROVED_MEAN",
            "previous_application",
            "AMT_CREDIT / mean amount of approved previous applications",
            "Crédit demandé rapporté aux crédits obtenus auparavant",
            "ratio",
            actionable=True,
        ),
        Feature(
            "INST_365D_PAYMENT_TO_INCOME",
            "installments_payments",
            "instalments paid in the last 365 days / AMT_INCOME_TOTAL",
            "Remboursements des 12 derniers mois rapportés au revenu annuel",
            "ratio",
        ),
        Feature(
            "CC_BALANCE_TO_INCOME",
            "credit_card_balance",
            "latest balance of the previous cards / AMT_INCOME_TOTAL",
            "Solde actuel des cartes de crédit rapporté au revenu annuel",
            "ratio",
            direction="+",
        ),
        Feature(
            "TOTAL_ANNUITY_TO_INCOME",
            "application",
            "(AMT_ANNUITY + annuities of active bureau credits and running previous loans)"
            " / AMT_INCOME_TOTAL",
            "Part du revenu consacrée à tous les remboursements, ce crédit compris",
            "ratio",
            actionable=True,
            direction="+",
        ),
        Feature(
            "APP_RATE_VS_PREV_MEAN",
            "previous_application",
            "APP_IMPLIED_RATE - mean implied yearly rate of the previous applications",
            "Écart entre le taux implicite du crédit demandé et celui des crédits précédents",
            "part",
            actionable=True,
            direction="+",
            group="taux_implicite",
        ),
    ]


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    out[~np.isfinite(out)] = np.nan
    return out


def compute(
    application: Mapping[str, np.ndarray], history: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Cross features of aligned rows: float64 arrays by name, in output order."""
    income = application[_INCOME]
    buro_annuity = history["BURO_ACTIVE_AMT_ANNUITY_SUM"]
    prev_annuity = history["PREV_RUNNING_AMT_ANNUITY_SUM"]
    return {
        "BURO_ACTIVE_DEBT_TO_INCOME": _divide(
            history["BURO_ACTIVE_AMT_CREDIT_SUM_DEBT_SUM"], income
        ),
        "BURO_ACTIVE_ANNUITY_TO_INCOME": _divide(buro_annuity, income),
        "PREV_RUNNING_ANNUITY_TO_INCOME": _divide(prev_annuity, income),
        "CREDIT_TO_PREV_APPROVED_MEAN": _divide(
            application["AMT_CREDIT"], history["PREV_APPROVED_AMT_CREDIT_MEAN"]
        ),
        "INST_365D_PAYMENT_TO_INCOME": _divide(history["INST_365D_AMT_PAYMENT_SUM"], income),
        "CC_BALANCE_TO_INCOME": _divide(history["CC_CARD_CURRENT_BALANCE_SUM"], income),
        "TOTAL_ANNUITY_TO_INCOME": _divide(
            application["AMT_ANNUITY"] + buro_annuity + prev_annuity, income
        ),
        # A rate above the client's usual ones: priced as riskier than before.
        "APP_RATE_VS_PREV_MEAN": application["APP_IMPLIED_RATE"]
        - history["PREV_IMPLIED_RATE_MEAN"],
    }
