"""French for people: names of the raw Kaggle columns, and numbers written the French way.

Only the columns a person is shown are named here; the feature dictionary extends them to
engineered features.

>>> label("DAYS_BIRTH")
'Âge'
>>> label("UNKNOWN_COLUMN")
'UNKNOWN_COLUMN'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

COLUMN_LABELS_FR: dict[str, str] = {
    "TARGET": "Défaut de paiement (1 = oui)",
    "NAME_CONTRACT_TYPE": "Type de crédit",
    "CODE_GENDER": "Genre",
    "FLAG_OWN_CAR": "Possède une voiture",
    "FLAG_OWN_REALTY": "Propriétaire de son logement",
    "CNT_CHILDREN": "Nombre d'enfants",
    "AMT_INCOME_TOTAL": "Revenu annuel",
    "AMT_CREDIT": "Montant du crédit",
    "AMT_ANNUITY": "Annuité du crédit",
    "AMT_GOODS_PRICE": "Prix du bien financé",
    "NAME_TYPE_SUITE": "Accompagné lors de la demande",
    "NAME_INCOME_TYPE": "Source de revenus",
    "NAME_EDUCATION_TYPE": "Niveau d'études",
    "NAME_FAMILY_STATUS": "Situation familiale",
    "NAME_HOUSING_TYPE": "Type de logement",
    "REGION_POPULATION_RELATIVE": "Densité de population de la région",
    "DAYS_BIRTH": "Âge",
    "DAYS_EMPLOYED": "Ancienneté dans l'emploi",
    "DAYS_REGISTRATION": "Ancienneté de l'adresse déclarée",
    "DAYS_ID_PUBLISH": "Ancienneté de la pièce d'identité",
    "OWN_CAR_AGE": "Âge de la voiture (années)",
    "OCCUPATION_TYPE": "Profession",
    "CNT_FAM_MEMBERS": "Taille du foyer",
    "REGION_RATING_CLIENT": "Note de la région",
    "REGION_RATING_CLIENT_W_CITY": "Note de la région et de la ville",
    "ORGANIZATION_TYPE": "Secteur de l'employeur",
    "EXT_SOURCE_1": "Score externe 1",
    "EXT_SOURCE_2": "Score externe 2",
    "EXT_SOURCE_3": "Score externe 3",
    "DAYS_LAST_PHONE_CHANGE": "Ancienneté du numéro de téléphone",
    "FLAG_DOCUMENT_3": "Document 3 fourni",
    "AMT_REQ_CREDIT_BUREAU_HOUR": "Consultations du bureau de crédit, dernière heure",
    "AMT_REQ_CREDIT_BUREAU_DAY": "Consultations du bureau de crédit, dernier jour",
    "AMT_REQ_CREDIT_BUREAU_WEEK": "Consultations du bureau de crédit, dernière semaine",
    "AMT_REQ_CREDIT_BUREAU_MON": "Consultations du bureau de crédit, dernier mois",
    "AMT_REQ_CREDIT_BUREAU_QRT": "Consultations du bureau de crédit, dernier trimestre",
    "AMT_REQ_CREDIT_BUREAU_YEAR": "Consultations du bureau de crédit sur un an",
    "OBS_30_CNT_SOCIAL_CIRCLE": "Proches observés avec un retard de 30 jours",
    "DEF_30_CNT_SOCIAL_CIRCLE": "Proches en défaut à 30 jours",
    "OBS_60_CNT_SOCIAL_CIRCLE": "Proches observés avec un retard de 60 jours",
    "DEF_60_CNT_SOCIAL_CIRCLE": "Proches en défaut à 60 jours",
}


def label(column: str) -> str:
    """The French name of a column, or the column itself when it has none."""
    return COLUMN_LABELS_FR.get(column, column)


def number(value: float, digits: int = 0) -> str:
    """A number the French way: narrow no-break spaces between thousands, decimal comma.

    >>> number(307511)
    '307\u202f511'
    >>> number(0.7512, 3)
    '0,751'
    """
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def percent(value: float, digits: int = 1) -> str:
    """A share as a French percentage.

    >>> percent(0.0807)
    '8,1\u202f%'
    """
    return f"{number(value * 100, digits)}\u202f%"


def interval(values: Sequence[float], digits: int = 3) -> str:
    """A 95 % interval the French way.

    >>> interval([0.71234, 0.75])
    '[0,712 ; 0,750]'
    """
    return f"[{number(values[0], digits)} ; {number(values[1], digits)}]"


def french_list(items: Iterable[str]) -> str:
    """Items joined the French way.

    Examples
    --------
    >>> french_list(["a", "b", "c"])
    'a, b et c'
    >>> french_list(["a"])
    'a'
    """
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]
