"""Plain French for a client: a feature's value with its unit, and a reason as a sentence.

Everything comes from the feature dictionary (``label_fr``, ``unit``, ``source``): no feature
code, no model vocabulary. A sentence says what the value is and whether it raises or lowers
the risk, e.g. « La part du revenu consacrée aux remboursements (38 %) augmente le risque. »

Examples
--------
>>> book = Phrasebook.from_dictionary(pd.DataFrame([
...     {"name": "ANNUITY_INCOME_RATIO", "label_fr": "Part du revenu consacrée aux remboursements",
...      "unit": "ratio", "source": "application", "aggregation": "AMT_ANNUITY / AMT_INCOME_TOTAL"},
...     {"name": "YEARS_EMPLOYED", "label_fr": "Ancienneté dans l'emploi actuel",
...      "unit": "années", "source": "application", "aggregation": "-DAYS_EMPLOYED / 365.25"},
... ]))
>>> book.sentence("ANNUITY_INCOME_RATIO", 0.38, "augmente")
'La part du revenu consacrée aux remboursements (38\u202f%) augmente le risque.'
>>> book.sentence("YEARS_EMPLOYED", 12.2, "diminue")
"L'ancienneté dans l'emploi actuel (12 ans) diminue le risque."
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from credit_scoring.labels import label as column_label
from credit_scoring.labels import number, percent

Direction = Literal["augmente", "diminue"]

#: French names of the category levels of application_train (Kaggle spelling).
LEVELS_FR: dict[str, dict[str, str]] = {
    "NAME_CONTRACT_TYPE": {
        "Cash loans": "prêt personnel",
        "Revolving loans": "crédit renouvelable",
    },
    "CODE_GENDER": {"F": "femme", "M": "homme"},
    "FLAG_OWN_CAR": {"Y": "oui", "N": "non"},
    "FLAG_OWN_REALTY": {"Y": "oui", "N": "non"},
    "EMERGENCYSTATE_MODE": {"Yes": "oui", "No": "non"},
    "NAME_TYPE_SUITE": {
        "Children": "avec ses enfants",
        "Family": "en famille",
        "Group of people": "en groupe",
        "Other_A": "autre accompagnant",
        "Other_B": "autre accompagnant",
        "Spouse, partner": "avec son conjoint",
        "Unaccompanied": "seul",
    },
    "NAME_INCOME_TYPE": {
        "Businessman": "chef d'entreprise",
        "Commercial associate": "associé commercial",
        "Maternity leave": "congé maternité",
        "Pensioner": "retraité",
        "State servant": "fonctionnaire",
        "Student": "étudiant",
        "Unemployed": "sans emploi",
        "Working": "salarié",
    },
    "NAME_EDUCATION_TYPE": {
        "Academic degree": "diplôme universitaire de haut niveau",
        "Higher education": "études supérieures",
        "Incomplete higher": "études supérieures non terminées",
        "Lower secondary": "premier cycle du secondaire",
        "Secondary / secondary special": "secondaire",
    },
    "NAME_FAMILY_STATUS": {
        "Civil marriage": "union libre",
        "Married": "marié",
        "Separated": "séparé",
        "Single / not married": "célibataire",
        "Widow": "veuf ou veuve",
        "Unknown": "inconnue",
    },
    "NAME_HOUSING_TYPE": {
        "Co-op apartment": "appartement en coopérative",
        "House / apartment": "maison ou appartement",
        "Municipal apartment": "logement municipal",
        "Office apartment": "logement de fonction",
        "Rented apartment": "location",
        "With parents": "chez ses parents",
    },
    "OCCUPATION_TYPE": {
        "Accountants": "comptable",
        "Cleaning staff": "agent d'entretien",
        "Cooking staff": "cuisinier",
        "Core staff": "employé",
        "Drivers": "chauffeur",
        "HR staff": "ressources humaines",
        "High skill tech staff": "technicien qualifié",
        "IT staff": "informaticien",
        "Laborers": "ouvrier",
        "Low-skill Laborers": "ouvrier non qualifié",
        "Managers": "cadre",
        "Medicine staff": "personnel médical",
        "Private service staff": "services à la personne",
        "Realty agents": "agent immobilier",
        "Sales staff": "vendeur",
        "Secretaries": "secrétaire",
        "Security staff": "agent de sécurité",
        "Waiters/barmen staff": "serveur",
    },
    "WEEKDAY_APPR_PROCESS_START": {
        "MONDAY": "lundi",
        "TUESDAY": "mardi",
        "WEDNESDAY": "mercredi",
        "THURSDAY": "jeudi",
        "FRIDAY": "vendredi",
        "SATURDAY": "samedi",
        "SUNDAY": "dimanche",
    },
    "ORGANIZATION_TYPE": {
        "Advertising": "publicité",
        "Agriculture": "agriculture",
        "Bank": "banque",
        "Cleaning": "nettoyage",
        "Construction": "bâtiment",
        "Culture": "culture",
        "Electricity": "énergie",
        "Emergency": "services d'urgence",
        "Government": "administration",
        "Hotel": "hôtellerie",
        "Housing": "logement",
        "Insurance": "assurance",
        "Kindergarten": "petite enfance",
        "Legal Services": "services juridiques",
        "Medicine": "santé",
        "Military": "armée",
        "Mobile": "téléphonie mobile",
        "Other": "autre",
        "Police": "police",
        "Postal": "poste",
        "Realtor": "immobilier",
        "Religion": "culte",
        "Restaurant": "restauration",
        "School": "enseignement scolaire",
        "Security": "sécurité",
        "Security Ministries": "ministères de la sécurité",
        "Self-employed": "travailleur indépendant",
        "Services": "services",
        "Telecom": "télécommunications",
        "University": "université",
    },
    "HOUSETYPE_MODE": {
        "block of flats": "immeuble collectif",
        "specific housing": "logement spécifique",
        "terraced house": "maison mitoyenne",
    },
    "WALLSMATERIAL_MODE": {
        "Block": "parpaing",
        "Mixed": "mixte",
        "Monolithic": "béton coulé",
        "Others": "autre",
        "Panel": "panneaux",
        "Stone, brick": "pierre ou brique",
        "Wooden": "bois",
    },
    "FONDKAPREMONT_MODE": {
        "not specified": "non précisé",
        "org spec account": "compte spécial de l'organisme",
        "reg oper account": "compte de l'opérateur régional",
        "reg oper spec account": "compte spécial de l'opérateur régional",
    },
}
# Numbered sector families of ORGANIZATION_TYPE ("Industry: type 3").
_SECTOR_FAMILIES = {
    "Business Entity Type": "entreprise",
    "Industry: type": "industrie",
    "Trade: type": "commerce",
    "Transport: type": "transport",
}

#: Article of the first word of a label; words in ``_PLURAL`` take a plural verb.
_ARTICLES: dict[str, str] = {
    "Achats": "les",
    "Âge": "l'",
    "Ancienneté": "l'",
    "Annuité": "l'",
    "Apport": "l'",
    "Avance": "l'",
    "Consultations": "les",
    "Coût": "le",
    "Crédit": "le",
    "Date": "la",
    "Début": "le",
    "Densité": "la",
    "Dernier": "le",
    "Dernière": "la",
    "Dettes": "les",
    "Durée": "la",
    "Écart": "l'",
    "Échéances": "les",
    "Genre": "le",
    "Heure": "l'",
    "Impayé": "l'",
    "Jour": "le",
    "Meilleur": "le",
    "Mensualité": "la",
    "Mensualités": "les",
    "Mois": "les",
    "Montant": "le",
    "Moyenne": "la",
    "Niveau": "le",
    "Nombre": "le",
    "Note": "la",
    "Part": "la",
    "Pire": "le",
    "Plafond": "le",
    "Plus": "le",
    "Prix": "le",
    "Produit": "le",
    "Profession": "la",
    "Prolongations": "les",
    "Remboursement": "le",
    "Remboursements": "les",
    "Reste": "le",
    "Retard": "le",
    "Retraits": "les",
    "Revenu": "le",
    "Score": "le",
    "Secteur": "le",
    "Situation": "la",
    "Solde": "le",
    "Source": "la",
    "Taille": "la",
    "Taux": "le",
    "Type": "le",
}
_PLURAL = frozenset(w for w, a in _ARTICLES.items() if a == "les")
_FLAG_PREFIXES = ("FLAG_", "REG_", "LIVE_")
_MISSING_HISTORY = {
    "bureau": "Aucun historique au bureau de crédit",
    "bureau_balance": "Aucun historique au bureau de crédit",
    "previous_application": "Aucun crédit précédent chez Prêt à dépenser",
    "POS_CASH_balance": "Aucun crédit précédent chez Prêt à dépenser",
    "installments_payments": "Aucun remboursement de crédit précédent chez Prêt à dépenser",
    "credit_card_balance": "Aucune carte de crédit chez Prêt à dépenser",
}
DAYS_PER_MONTH = 365.25 / 12
_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def contains_code(text: str) -> bool:
    """Whether ``text`` shows an identifier like ``AMT_CREDIT`` (never to be read by a client).

    >>> contains_code("Le montant du crédit"), contains_code("AMT_CREDIT élevé")
    (False, True)
    """
    return bool(_CODE.search(text))


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' missing markers.

    >>> is_missing(None), is_missing(float("nan")), is_missing(0.0), is_missing("F")
    (True, True, False, False)
    """
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def level_fr(feature: str, level: Any) -> str:
    """A category level in French (the level itself when no translation is known).

    >>> level_fr("NAME_INCOME_TYPE", "Pensioner"), level_fr("ORGANIZATION_TYPE", "Trade: type 7")
    ('retraité', 'commerce de type 7')
    """
    text = str(level)
    known = LEVELS_FR.get(feature, {})
    if text in known:
        return known[text]
    for prefix, family in _SECTOR_FAMILIES.items():
        if text.startswith(prefix):
            return f"{family} de type {text[len(prefix) :].strip()}"
    return text.replace("_", " ")


def _lower_first(text: str) -> str:
    # Keep acronyms (two capitals) as they are.
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def duration(days: float) -> str:
    """A duration in days, in the unit a person would use.

    >>> duration(12), duration(200), duration(1826), duration(1.0)
    ('12 jours', '7 mois', '5 ans', '1 jour')
    >>> duration(1650)
    '4,5 ans'
    """
    days = abs(float(days))
    if days < 60:
        n = round(days)
        return f"{number(n)} jour{'s' if n > 1 else ''}"
    if days < 730:
        return f"{number(round(days / DAYS_PER_MONTH))} mois"
    years = days / 365.25
    return f"{number(years, 0 if abs(years - round(years)) < 0.05 else 1)} ans"


def years_text(years: float) -> str:
    """A number of years, rounded as a person says it.

    >>> years_text(34.6), years_text(1.2), years_text(0.5)
    ('34 ans', '1 an', '6 mois')
    """
    if years < 1:
        return f"{number(max(round(years * 12), 0))} mois"
    n = math.floor(years)
    return f"{number(n)} an{'s' if n > 1 else ''}"


def _plain_number(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return number(round(value))
    return number(value, 2 if abs(value) < 1 else 1)


@dataclass(frozen=True)
class FeatureText:
    """What is needed to speak of one feature."""

    name: str
    label: str
    unit: str
    source: str
    flag: bool
    categorical: bool = False


class Phrasebook:
    """Labels, formatted values and sentences for the features of a dictionary.

    Parameters
    ----------
    entries
        One :class:`FeatureText` per feature.
    """

    def __init__(self, entries: dict[str, FeatureText]) -> None:
        self.entries = entries

    @classmethod
    def from_dictionary(
        cls, dictionary: pd.DataFrame, categorical: set[str] | frozenset[str] = frozenset()
    ) -> Phrasebook:
        """Build from ``feature_dictionary()`` (name, label_fr, unit, source, aggregation).

        ``categorical`` names the features whose values are category levels (found from the
        data when known; levels are recognised as strings anyway).
        """
        entries: dict[str, FeatureText] = {}
        for row in dictionary.to_dict("records"):
            name = str(row["name"])
            label = str(row.get("label_fr") or column_label(name))
            # The unit is said with the value: "Âge de la voiture (années) (5 ans)" is redundant.
            label = re.sub(r"\s*\((années|jours|mois)\)$", "", label)
            aggregation = str(row.get("aggregation") or "")
            flag = (
                name.startswith(_FLAG_PREFIXES) and aggregation == "raw value"
            ) or aggregation.startswith("1 when")
            entries[name] = FeatureText(
                name=name,
                label=label,
                unit=str(row.get("unit") or ""),
                source=str(row.get("source") or "application"),
                flag=flag,
                categorical=name in categorical or name in LEVELS_FR,
            )
        return cls(entries)

    def entry(self, feature: str) -> FeatureText:
        """The feature's entry; a feature absent from the dictionary gets its column label."""
        if feature not in self.entries:
            self.entries[feature] = FeatureText(
                feature, column_label(feature), "", "application", False, feature in LEVELS_FR
            )
        return self.entries[feature]

    def label(self, feature: str) -> str:
        """The French label."""
        return self.entry(feature).label

    def value_text(self, feature: str, value: Any) -> str:
        """The value as a person reads it, with its unit.

        Examples
        --------
        >>> book = Phrasebook.from_dictionary(pd.DataFrame([
        ...     {"name": "AMT_CREDIT", "label_fr": "Montant du crédit", "unit": "€"},
        ...     {"name": "BURO_DAYS_CREDIT_MAX", "label_fr": "Date d'ouverture (maximum)",
        ...      "unit": "jours", "source": "bureau"},
        ...     {"name": "FLAG_DOCUMENT_3", "label_fr": "Document 3 fourni", "unit": "",
        ...      "aggregation": "raw value"},
        ... ]))
        >>> book.value_text("AMT_CREDIT", 250000.0)
        '250\u202f000\u00a0€'
        >>> book.value_text("BURO_DAYS_CREDIT_MAX", -400.0), book.value_text("FLAG_DOCUMENT_3", 1)
        ('il y a 13 mois', 'oui')
        >>> book.value_text("AMT_CREDIT", float("nan"))
        'non renseigné'
        """
        entry = self.entry(feature)
        if is_missing(value):
            if entry.source in _MISSING_HISTORY:
                return "aucun historique"
            return "non renseigné"
        if isinstance(value, str) or entry.categorical:
            return level_fr(feature, value)
        v = float(value)
        if entry.flag:
            return "oui" if v >= 0.5 else "non"
        unit = entry.unit
        if unit == "€":
            return f"{number(v)}\u00a0€"
        if unit == "années":
            return years_text(v)
        if unit in ("jours", "mois"):
            days = v * (DAYS_PER_MONTH if unit == "mois" else 1.0)
            if unit == "mois" and abs(v) < 24:
                text = f"{number(abs(v), 0 if abs(v - round(v)) < 0.05 else 1)} mois"
            else:
                text = duration(days)
            is_date = entry.label.startswith(("Date", "Début")) and "variabilité" not in entry.label
            if v < 0:
                return f"il y a {text}"
            return f"dans {text}" if is_date and v > 0 else text
        if unit == "part":
            return percent(v, 0 if abs(v) >= 0.01 or v == 0 else 1)
        if unit == "ratio":
            if entry.label.startswith("Part") or 0 <= v <= 1:
                return percent(v, 0 if abs(v) >= 0.01 or v == 0 else 1)
            return f"{number(v, 1)} fois"
        return _plain_number(v)

    def sentence(self, feature: str, value: Any, direction: Direction) -> str:
        """One reason in plain French.

        Examples
        --------
        >>> book = Phrasebook.from_dictionary(pd.DataFrame([
        ...     {"name": "BURO_ACTIVE_DEBT_MEAN", "label_fr": "Dettes en cours (moyenne)",
        ...      "unit": "€", "source": "bureau"},
        ...     {"name": "EXT_SOURCE_1", "label_fr": "Score externe 1", "unit": ""},
        ...     {"name": "FLAG_DOCUMENT_3", "label_fr": "Document 3 fourni", "unit": "",
        ...      "aggregation": "raw value"},
        ... ]))
        >>> book.sentence("BURO_ACTIVE_DEBT_MEAN", 1200.0, "augmente")
        'Les dettes en cours (moyenne : 1\u202f200\u00a0€) augmentent le risque.'
        >>> book.sentence("BURO_ACTIVE_DEBT_MEAN", None, "augmente")[:62]
        'Aucun historique au bureau de crédit pour « dettes en cours (m'
        >>> book.sentence("EXT_SOURCE_1", float("nan"), "diminue")
        "L'information « score externe 1 » n'est pas renseignée, ce qui diminue le risque."
        >>> book.sentence("FLAG_DOCUMENT_3", 1.0, "diminue")
        'Document 3 fourni : oui, ce qui diminue le risque.'
        """
        entry = self.entry(feature)
        label = entry.label
        if is_missing(value):
            if entry.source in _MISSING_HISTORY:
                return (
                    f"{_MISSING_HISTORY[entry.source]} pour « {_lower_first(label)} », "
                    f"ce qui {direction} le risque."
                )
            return (
                f"L'information « {_lower_first(label)} » n'est pas renseignée, "
                f"ce qui {direction} le risque."
            )
        value_text = self.value_text(feature, value)
        first = label.split(maxsplit=1)[0].rstrip(",:") if label else ""
        article = _ARTICLES.get(first)
        if entry.flag or article is None:
            return f"{label} : {value_text}, ce qui {direction} le risque."
        subject = (
            f"{article}{_lower_first(label)}"
            if article.endswith("'")
            else f"{article} {_lower_first(label)}"
        )
        verb = f"{direction}nt" if first in _PLURAL else direction
        if subject.endswith(")"):  # "(moyenne, 12 derniers mois : 3 jours)": one parenthesis
            said = f"{subject[:-1]} : {value_text})"
        else:
            said = f"{subject} ({value_text})"
        return f"{_upper_first(said)} {verb} le risque."
