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
from credit_scoring.scoring import (
    DECISION_LABELS_FR,
    DECISIONS,
    DEFAULT_POINTS_TO_DOUBLE_ODDS,
    decision,
    probability_from_score,
)


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
    """The chosen threshold, the score's scale, the review band in probabilities, the savings.

    ``metrics`` is the train summary; without ``points_to_double_odds`` (a run from before
    the scale was a setting), the scale is the default one.
    """
    t = metrics["threshold"]
    low, high = metrics["review_band"]
    pdo = float(metrics.get("points_to_double_odds", DEFAULT_POINTS_TO_DOUBLE_ODDS))
    return (
        f"Le seuil qui minimise le coût sur les prédictions hors échantillon est "
        f"**{number(t, 3)}** (seuil théorique pour des probabilités parfaitement calibrées : "
        f"{number(metrics['theoretical_threshold'], 3)}). Sur le jeu de test, il coûte "
        f"**{number(metrics['test_cost_per_client'], 3)} par client** (IC 95 % "
        f"{interval(metrics['test_cost_ci'])}), soit {percent(metrics['saving_vs_accept_all'], 0)} "
        f"de moins qu'accorder tous les crédits et {percent(metrics['saving_vs_half'], 0)} de "
        f"moins que le seuil 0,5. Le score de risque place ce seuil à 50 et, tous les "
        f"{number(pdo, 0 if pdo.is_integer() else 1)} points, la cote de défaut (les chances "
        f"de défaut rapportées à celles de remboursement) double. La zone d'étude "
        f"({number(low, 0)} à {number(high, 0)}) correspond aux "
        f"probabilités de {percent(probability_from_score(low, t, pdo))} à "
        f"{percent(probability_from_score(high, t, pdo))}."
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


def blend_table(blend: pd.DataFrame) -> pd.DataFrame:
    """The blend's members in French: trees chosen out of fold, trees refitted, AUC, weight.

    Examples
    --------
    >>> blend = pd.DataFrame({"member": ["lightgbm + none"], "trees": [400], "final_trees": [533],
    ...                       "oof_auc": [0.781], "weight": [1.0]})
    >>> blend_table(blend).iloc[0].tolist()
    ['LightGBM + aucune', '400', '533', '0,781', '1,00']
    """
    rows = []
    for row in blend.itertuples():
        model, strategy = str(row.member).split(" + ")
        rows.append(
            {
                "membre": f"{MODEL_LABELS_FR.get(model, model)} + "
                f"{STRATEGY_LABELS_FR.get(strategy, strategy)}",
                "arbres (arrêt précoce)": number(row.trees, 0),
                "arbres (tous les clients)": number(row.final_trees, 0),
                "AUC hors échantillon": number(row.oof_auc, 3),
                "poids": number(row.weight, 2),
            }
        )
    return pd.DataFrame(rows)


def challenger_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """The champion beside the scorecard challenger, on the test split.

    Examples
    --------
    >>> m = {"test_auc": 0.80, "test_auc_ci": [0.78, 0.82], "test_cost_per_client": 0.46,
    ...      "test_cost_ci": [0.43, 0.49], "test_brier": 0.066, "threshold": 0.1,
    ...      "test_recall": 0.7, "test_refusal_rate": 0.25}
    >>> m["scorecard"] = {**m, "test_auc": 0.78, "features": ["a", "b"]}
    >>> challenger_table(m).iloc[0].tolist()
    ['AUC ROC (IC 95 %)', '0,800 [0,780 ; 0,820]', '0,780 [0,780 ; 0,820]']
    """

    def column(m: dict[str, Any]) -> list[str]:
        return [
            f"{number(m['test_auc'], 3)} {interval(m['test_auc_ci'])}",
            f"{number(m['test_cost_per_client'], 3)} {interval(m['test_cost_ci'])}",
            number(m["test_brier"], 4),
            number(m["threshold"], 3),
            percent(m["test_recall"], 1),
            percent(m["test_refusal_rate"], 1),
        ]

    card = metrics["scorecard"]
    return pd.DataFrame(
        {
            "indicateur (jeu de test)": [
                "AUC ROC (IC 95 %)",
                "coût métier par client (IC 95 %)",
                "score de Brier (calibration)",
                "seuil de refus (probabilité)",
                "défauts détectés (rappel)",
                "taux de refus",
            ],
            "modèle retenu (mélange)": column(metrics),
            f"grille de score ({len(card['features'])} variables)": column(card),
        }
    )


def scorecard_frame(table: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The scorecard for reading: variable (its French label when ``labels`` has it), bin,
    share of clients, default rate, points.

    Examples
    --------
    >>> t = pd.DataFrame({"variable": ["points de base", "age"], "tranche": ["", "< 30"],
    ...     "clients": [1.0, 0.4], "taux de défaut": [0.08, 0.12], "WoE": [0.0, -0.5],
    ...     "IV": [0.0, 0.2], "points": [41.15, 7.21]})
    >>> scorecard_frame(t).iloc[1].tolist()
    ['age', '< 30', '40\u202f%', '12,0\u202f%', '+7']
    """

    def points(value: float) -> str:
        rounded = round(float(value))
        return f"+{rounded}" if rounded > 0 else str(rounded)

    labels = labels or {}
    return pd.DataFrame(
        {
            "variable": [labels.get(v, v) for v in table["variable"]],
            "tranche": table["tranche"],
            "clients": [percent(v, 0) for v in table["clients"]],
            "taux de défaut": [
                "" if v == "" or pd.isna(v) else percent(float(v), 1)
                for v in table["taux de défaut"]
            ],
            "points": [points(v) for v in table["points"]],
        }
    )


_GAIN_STEPS_FR = {
    "single": "modèle réglé, son nombre d'arbres",
    "early_stopping": "le même, arrêt précoce",
    "blend": "mélange des boosters",
    "calibrated": "mélange calibré (servi)",
}


def gains_table(gains: pd.DataFrame, metrics: dict[str, Any]) -> pd.DataFrame:
    """What early stopping and the blend add, in out-of-fold AUC, then the calibrated blend
    and the scorecard challenger on the same folds.

    Examples
    --------
    >>> g = pd.DataFrame({"step": ["single", "blend"], "trees": [300, None],
    ...                   "oof_auc": [0.78, 0.79], "gain": [0.0, 0.01]})
    >>> m = {"oof_auc": 0.789, "scorecard": {"cv_auc": 0.77}}
    >>> gains_table(g, m)["AUC hors échantillon"].tolist()
    ['0,780', '0,790', '0,789', '0,770']
    """
    rows = [
        {
            "étape": _GAIN_STEPS_FR.get(row.step, row.step),
            "arbres": "" if pd.isna(row.trees) else number(row.trees, 0),
            "AUC hors échantillon": number(row.oof_auc, 3),
            "gain": "" if i == 0 else f"{row.gain:+.3f}".replace(".", ","),
        }
        for i, row in enumerate(gains.itertuples())
    ]
    rows.append(
        {
            "étape": _GAIN_STEPS_FR["calibrated"],
            "arbres": "",
            "AUC hors échantillon": number(metrics["oof_auc"], 3),
            "gain": "",
        }
    )
    rows.append(
        {
            "étape": "grille de score (challenger)",
            "arbres": "",
            "AUC hors échantillon": number(metrics["scorecard"]["cv_auc"], 3),
            "gain": "",
        }
    )
    return pd.DataFrame(rows)


def members_text(members: list[dict[str, Any]]) -> str:
    """The blend's members in French: family, strategy, weight and trees.

    Examples
    --------
    >>> text = members_text([{"member": "lightgbm + smote", "weight": 0.6, "final_trees": 800},
    ...                      {"member": "xgboost + none", "weight": 0.4, "final_trees": 500}])
    >>> for part in text.split(" et "):
    ...     print(part)
    LightGBM + SMOTE (sur-échantillonnage) (poids 0,60 ; 800 arbres)
    XGBoost + aucune (poids 0,40 ; 500 arbres)
    """
    parts = []
    for m in members:
        model, strategy = m["member"].split(" + ")
        parts.append(
            f"{MODEL_LABELS_FR.get(model, model)} + {STRATEGY_LABELS_FR.get(strategy, strategy)} "
            f"(poids {number(m['weight'], 2)} ; {number(m['final_trees'], 0)} arbres)"
        )
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def champion_text(metrics: dict[str, Any]) -> str:
    """The blend, its members and its cross-validated AUC."""
    ch = metrics["champion"]
    cv_auc = fmt_pm(metrics["cv_auc"], metrics["cv_auc_std"])
    method = "isotonique" if ch["calibration"] == "isotonic" else "sigmoïde"
    return (
        f"Modèle retenu : un **mélange** de {members_text(ch['members'])}, moyenné en "
        f"log-cotes puis calibré ({method}) après le mélange. AUC en validation croisée "
        f"(hors échantillon, calibrée) : "
        f"**{cv_auc}** ; AUC sur le jeu de test : **{number(metrics['test_auc'], 3)}** (IC 95 % "
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
