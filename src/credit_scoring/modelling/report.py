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

import pandas as pd

from credit_scoring.labels import french_list, interval, number, percent
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
        f"d'hyperparamètres sur {tun} ({settings['tune_folds']} plis, "
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
        f"{interval(metrics['test_auc_ci'])}). Il est enregistré dans le registre MLflow sous "
        f"`{metrics['model_name']}@champion`."
    )


def selection_frame(selection: pd.DataFrame) -> pd.DataFrame:
    """The selection table in French: each pair's paired gap to the chosen one, in standard
    errors (positive: costlier).

    Examples
    --------
    >>> sel = pd.DataFrame({"model": ["lightgbm", "xgboost"], "strategy": ["none", "none"],
    ...     "cost_per_client_mean": [0.48, 0.49], "roc_auc_mean": [0.79, 0.78],
    ...     "gap_in_se": [0.0, 2.5], "fold_wins": [4, 1], "tied": [True, False],
    ...     "chosen": [True, False]})
    >>> selection_frame(sel)["Verdict"].tolist()
    ['retenue', 'écartée']
    """
    rows = []
    for _, r in selection.iterrows():
        verdict = "retenue" if r["chosen"] else ("à égalité" if r["tied"] else "écartée")
        rows.append(
            {
                "Modèle": MODEL_LABELS_FR.get(r["model"], r["model"]),
                "Rééquilibrage": STRATEGY_LABELS_FR.get(r["strategy"], r["strategy"]),
                "Coût par client": number(r["cost_per_client_mean"], 3),
                "AUC ROC": number(r["roc_auc_mean"], 3),
                "Écart à la retenue (erreurs-types)": "—"
                if r["chosen"]
                else number(r["gap_in_se"], 1),
                "Plis gagnés": int(r["fold_wins"]),
                "Verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def selection_text(selection: pd.DataFrame, folds: int) -> str:
    """Which pair is tuned, why, and how sure the choice is (``folds``: of the comparison)."""
    chosen = selection.iloc[0]
    tied = selection[selection["tied"] & ~selection["chosen"]]
    name = (
        f"**{MODEL_LABELS_FR.get(chosen['model'], chosen['model'])}** avec rééquilibrage "
        f"**{STRATEGY_LABELS_FR.get(chosen['strategy'], chosen['strategy'])}**"
    )
    wins = int(chosen["fold_wins"])
    text = (
        f"La combinaison retenue pour la recherche d'hyperparamètres est {name} : "
        f"{number(chosen['cost_per_client_mean'], 3)} par client (AUC "
        f"{number(chosen['roc_auc_mean'], 3)}), la moins coûteuse sur {wins} pli"
        f"{'s' if wins > 1 else ''} sur {folds}. "
    )
    if tied.empty:
        runner = selection.iloc[1] if len(selection) > 1 else None
        if runner is None:
            return text
        return text + (
            f"La suivante, {MODEL_LABELS_FR.get(runner['model'], runner['model'])} avec "
            f"rééquilibrage {STRATEGY_LABELS_FR.get(runner['strategy'], runner['strategy'])}, "
            f"coûte {number(runner['gap_in_se'], 1)} erreurs-types de plus, pli à pli : le "
            f"choix n'est pas dû au hasard des plis."
        )
    names = french_pairs(tied)
    return text + (
        f"{names} {'reste' if len(tied) == 1 else 'restent'} à moins d'une erreur-type "
        f"d'écart, pli à pli : la validation croisée ne les départage pas sur le coût, et la "
        f"meilleure AUC l'emporte alors (l'AUC classe tous les clients, le coût ne dépend que "
        f"de ceux proches du seuil)."
    )


def french_pairs(pairs: pd.DataFrame) -> str:
    """``model + strategy`` pairs as a French list.

    Examples
    --------
    >>> french_pairs(pd.DataFrame({"model": ["xgboost", "lightgbm"],
    ...                            "strategy": ["none", "class_weight"]}))
    'XGBoost sans rééquilibrage et LightGBM avec pondération des classes'
    """
    return french_list(
        [
            f"{MODEL_LABELS_FR.get(m, m)} "
            + ("sans rééquilibrage" if s == "none" else f"avec {STRATEGY_LABELS_FR.get(s, s)}")
            for m, s in zip(pairs["model"], pairs["strategy"], strict=True)
        ]
    )
