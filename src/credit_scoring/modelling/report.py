"""Tables and sentences of the ``train`` report, in French, from the stage's saved outputs.

The notebook ``notebooks/03_train.ipynb`` only calls these: every number it prints comes
from the run (``train.json``, ``results.csv``, the predictions), never typed by hand.

Examples
--------
>>> fmt_pm(0.7512, 0.0043)
'0,751 ± 0,004'
>>> print(percent(0.1234))
12,3 %
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.labels import interval, number, percent
from credit_scoring.modelling.zoo import MODEL_LABELS_FR, STRATEGY_LABELS_FR
from credit_scoring.scoring import DECISION_LABELS_FR, DECISIONS, decision, probability_from_score


def fmt_pm(mean: float, std: float, digits: int = 3) -> str:
    """``mean ± std``."""
    return f"{number(mean, digits)} ± {number(std, digits)}"


_RESULT_COLUMNS = {
    "roc_auc": ("AUC ROC", 3),
    "pr_auc": ("AUC précision-rappel", 3),
    "brier": ("Brier", 4),
    "cost_per_client": ("Coût par client", 3),
    "recall": ("Rappel", 3),
    "precision": ("Précision", 3),
    "fit_time": ("Entraînement (s)", 1),
    "predict_time": ("Prédiction (s)", 2),
}


def results_table(results: pd.DataFrame) -> pd.DataFrame:
    """The comparison table with French headers, ``mean ± std`` cells, best cost first."""
    rows = []
    for _, r in results.iterrows():
        row = {
            "Modèle": MODEL_LABELS_FR.get(r["model"], r["model"]),
            "Rééquilibrage": STRATEGY_LABELS_FR.get(r["strategy"], r["strategy"]),
        }
        for key, (label, digits) in _RESULT_COLUMNS.items():
            row[label] = fmt_pm(r[f"{key}_mean"], r[f"{key}_std"], digits)
        row["Seuil"] = number(r["threshold"], 3)
        rows.append(row)
    return pd.DataFrame(rows)


def cost_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Cost per client on the test split: the champion's threshold against two policies."""
    rows = [
        ("Modèle retenu, seuil optimisé", metrics["threshold"], metrics["test_cost_per_client"]),
        ("Modèle retenu, seuil 0,5", 0.5, metrics["test_cost_at_half"]),
        ("Accorder tous les crédits", None, metrics["test_cost_accept_all"]),
    ]
    if "oracle" in metrics:
        o = metrics["oracle"]
        rows.append(
            ("Oracle (vraies probabilités), seuil théorique", o["threshold"], o["cost_per_client"])
        )
    best = metrics["test_cost_per_client"]
    return pd.DataFrame(
        [
            {
                "Politique": name,
                "Seuil": "—" if t is None else number(t, 3),
                "Coût par client": number(cost, 3),
                "Écart au modèle retenu": "—"
                if cost == best
                else ("+" if cost > best else "") + percent((cost - best) / best, 0),
            }
            for name, t, cost in rows
        ]
    )


def decision_table(test: pd.DataFrame, band: list[float] | tuple[float, float]) -> pd.DataFrame:
    """Share of test clients per decision and their observed default rate."""
    decisions = test["risk_score"].map(lambda s: decision(s, band))
    rows = []
    for d in DECISIONS:
        part = test[decisions == d]
        rows.append(
            {
                "Décision": DECISION_LABELS_FR[d],
                "Clients": len(part),
                "Part des clients": percent(len(part) / max(len(test), 1)),
                "Taux de défaut observé": percent(part["TARGET"].mean()) if len(part) else "—",
            }
        )
    return pd.DataFrame(rows)


def oracle_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Champion against the oracle (true probabilities of the twin) on the test split."""
    o = metrics["oracle"]
    cost = metrics["test_cost_per_client"]
    return pd.DataFrame(
        [
            {
                "": "Modèle retenu",
                "AUC ROC": f"{number(metrics['test_auc'], 3)} {interval(metrics['test_auc_ci'])}",
                "Coût par client": f"{number(cost, 3)} {interval(metrics['test_cost_ci'])}",
                "Brier": number(metrics["test_brier"], 4),
            },
            {
                "": "Oracle (vraies probabilités)",
                "AUC ROC": number(o["auc"], 3),
                "Coût par client": number(o["cost_per_client"], 3),
                "Brier": number(o["brier"], 4),
            },
        ]
    )


def params_table(params: dict[str, Any]) -> pd.DataFrame:
    """The champion's hyperparameters, one per row."""
    rows = []
    for k, v in sorted(params.items()):
        shown = number(v, 4) if isinstance(v, float) else str(v)
        rows.append({"Hyperparamètre": k, "Valeur": shown})
    return pd.DataFrame(rows)


def method_text(metrics: dict[str, Any], settings: dict[str, Any]) -> str:
    """How the data was split and what was subsampled, in one paragraph."""
    rows = metrics["rows"]
    n_all = rows["train"] + rows["test"]
    cmp = (
        "tous les clients d'entraînement"
        if rows["comparison"] >= rows["train"]
        else (
            f"un sous-échantillon stratifié de {number(rows['comparison'], 0)} clients "
            "d'entraînement"
        )
    )
    tun = (
        "tous les clients d'entraînement"
        if rows["tuning"] >= rows["train"]
        else (f"un sous-échantillon stratifié de {number(rows['tuning'], 0)} clients")
    )
    return (
        f"Les {number(n_all, 0)} clients sont séparés en un jeu d'entraînement de "
        f"{number(rows['train'], 0)} clients et un **jeu de test de "
        f"{number(rows['test'], 0)} clients** "
        f"({percent(settings['test_size'], 0)}, stratifié sur la cible), mis de côté et utilisé "
        f"pour aucun choix : il ne sert qu'aux chiffres finaux. Le modèle dispose de "
        f"{number(rows['features'], 0)} variables. La comparaison des modèles porte sur {cmp} "
        f"({settings['compare_folds']} plis de validation croisée stratifiée), la recherche "
        f"d'hyperparamètres sur {tun} ({settings['tune_folds']} plis, au plus "
        f"{settings['tune_trials']} essais). Le modèle retenu est ensuite entraîné et calibré sur "
        f"l'ensemble des {number(rows['train'], 0)} clients d'entraînement "
        f"({settings['calibration_folds']} plis)."
    )


def calibration_text(metrics: dict[str, Any]) -> str:
    """Brier score before and after calibration, out of fold and on the test split."""
    return (
        f"Score de Brier sur le jeu de test : **{number(metrics['test_brier_raw'], 4)}** avant "
        f"calibration, **{number(metrics['test_brier'], 4)}** après (hors échantillon sur "
        f"l'entraînement : {number(metrics['oof_brier_raw'], 4)} puis "
        f"{number(metrics['oof_brier'], 4)}). Plus bas est meilleur."
    )


def threshold_text(metrics: dict[str, Any]) -> str:
    """The chosen threshold, the review band in probabilities, the savings."""
    t = metrics["threshold"]
    low, high = metrics["review_band"]
    return (
        f"Le seuil qui minimise le coût sur les prédictions hors échantillon est "
        f"**{number(t, 3)}** (seuil théorique pour des probabilités parfaitement calibrées : "
        f"{number(metrics['theoretical_threshold'], 3)}). Sur le jeu de test, il coûte "
        f"**{number(metrics['test_cost_per_client'], 3)} par client** (IC 95 % "
        f"{interval(metrics['test_cost_ci'])}), soit {percent(metrics['saving_vs_accept_all'], 0)} "
        f"de moins qu'accorder tous les crédits et {percent(metrics['saving_vs_half'], 0)} de "
        f"moins que le seuil 0,5. Le score de risque place ce seuil à 50 ; la zone d'étude "
        f"({number(low, 0)} à {number(high, 0)}) correspond aux probabilités de "
        f"{percent(probability_from_score(low, t))} à {percent(probability_from_score(high, t))}."
    )


def oracle_text(metrics: dict[str, Any]) -> str:
    """Champion against the oracle, with the project's targets."""
    o = metrics["oracle"]
    auc_ok = o["auc_gap"] <= 0.01
    cost_ok = o["cost_ratio"] <= 1.05
    return (
        f"Sur les mêmes clients de test, les vraies probabilités du jumeau donnent une AUC de "
        f"**{number(o['auc'], 3)}** et un coût de **{number(o['cost_per_client'], 3)} par "
        f"client** au seuil théorique. Le modèle retenu est à **{number(o['auc_gap'], 3)}** "
        f"d'AUC de l'oracle (objectif : "
        f"0,01 au plus, {'atteint' if auc_ok else 'non atteint'}) et son coût vaut "
        f"**{percent(o['cost_ratio'], 1)}** de celui de l'oracle (objectif : 105 % au plus, "
        f"{'atteint' if cost_ok else 'non atteint'})."
    )


def champion_text(metrics: dict[str, Any]) -> str:
    """The chosen pair and its cross-validated AUC."""
    ch = metrics["champion"]
    cv_auc = fmt_pm(metrics["cv_auc"], metrics["cv_auc_std"])
    return (
        f"Modèle retenu : **{MODEL_LABELS_FR.get(ch['model'], ch['model'])}**, rééquilibrage "
        f"**{STRATEGY_LABELS_FR.get(ch['strategy'], ch['strategy'])}**, calibration "
        f"{'isotonique' if ch['calibration'] == 'isotonic' else 'sigmoïde'}. AUC en validation "
        f"croisée (hors échantillon, calibrée) : **{cv_auc}** ; "
        f"AUC sur le jeu de test : **{number(metrics['test_auc'], 3)}** (IC 95 % "
        f"{interval(metrics['test_auc_ci'])}). Version enregistrée : "
        f"`{metrics['model_name']}` v{metrics['model_version']} (alias `champion`)."
    )


def timing_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Wall time of each step of the stage."""
    labels = {
        "comparison": "Comparaison des modèles",
        "tuning": "Recherche d'hyperparamètres",
        "champion_fit": "Entraînement et calibration du modèle retenu",
        "test_evaluation": "Évaluation sur le jeu de test",
        "registry": "Enregistrement MLflow",
        "total": "Total",
    }
    seconds = metrics["seconds"]
    return pd.DataFrame(
        [
            {"Étape": label, "Durée (s)": number(seconds[k], 0)}
            for k, label in labels.items()
            if k in seconds
        ]
    )


def best_in_comparison(results: pd.DataFrame) -> dict[str, Any]:
    """The best non-baseline row of the comparison, with French names."""
    row = results[results["model"] != "dummy"].sort_values("cost_per_client_mean").iloc[0]
    return {
        "model": MODEL_LABELS_FR.get(row["model"], row["model"]),
        "strategy": STRATEGY_LABELS_FR.get(row["strategy"], row["strategy"]),
        "cost": float(row["cost_per_client_mean"]),
        "auc": float(row["roc_auc_mean"]),
        "fit_time": float(row["fit_time_mean"]),
        "dummy_cost": float(results.loc[results["model"] == "dummy", "cost_per_client_mean"].min())
        if (results["model"] == "dummy").any()
        else float(np.nan),
    }


def selection_text(results: pd.DataFrame, metrics: dict[str, Any]) -> str:
    """Which pair was cheapest, which was tuned, and why they may differ."""
    best = best_in_comparison(results)
    ch = metrics["champion"]
    chosen = results[(results["model"] == ch["model"]) & (results["strategy"] == ch["strategy"])]
    row = chosen.iloc[0]
    tuned = (
        f"**{MODEL_LABELS_FR.get(ch['model'], ch['model'])}** avec rééquilibrage "
        f"**{STRATEGY_LABELS_FR.get(ch['strategy'], ch['strategy'])}**"
    )
    text = (
        f"La combinaison la moins coûteuse en validation croisée est **{best['model']}** avec "
        f"rééquilibrage **{best['strategy']}** : {number(best['cost'], 3)} par client (AUC "
        f"{number(best['auc'], 3)}), contre {number(best['dummy_cost'], 3)} pour la référence "
        f"qui accorde "
        f"tout. "
    )
    if row["cost_per_client_mean"] == best["cost"]:
        return text + "C'est elle dont les hyperparamètres sont ensuite recherchés."
    return text + (
        f"Les combinaisons dont le coût est à moins d'une erreur-type de la meilleure sont "
        f"considérées comme équivalentes, et la plus rapide à entraîner est retenue : {tuned} "
        f"({number(row['cost_per_client_mean'], 3)} par client, entraînement en "
        f"{number(row['fit_time_mean'], 1)} s par pli contre {number(best['fit_time'], 1)} s). "
        f"C'est elle dont les hyperparamètres sont ensuite recherchés."
    )
