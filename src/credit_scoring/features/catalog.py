"""The per-client aggregates of the six history tables, declared once.

A *grain* is one SQL file next to this module that gives one row per event (a payment, a month of
a loan, a previous application, a credit at the bureau) with exact-typed measures. Each grain
declares its *scopes* (subsets of rows: active credits, the last 12 months...) and, per scope, the
aggregates to take per client. Feature names, the SQL, the pandas reference of the benchmark and
the French dictionary are all generated from these declarations, so they cannot drift apart.
Every feature belongs to one of :data:`GROUPS`, for benchmarks that leave one out.

Examples
--------
>>> feature = next(f for f in history_features() if f.name == "INST_365D_DPD_MEAN")
>>> feature.label_fr
'Retard de paiement des échéances (moyenne, 12 derniers mois)'
>>> feature.sql
'avg(CASE WHEN DAYS_INSTALMENT >= -365 THEN DPD END)'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

Source = Literal[
    "application",
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
]
#: Every source a feature may come from, in the order features are laid out.
SOURCES: tuple[Source, ...] = (
    "application",
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)

Func = Literal[
    "count", "nunique", "mean", "min", "max", "sum", "std", "rate", "last", "slope", "vs_all"
]
Kind = Literal["value", "flag"]
#: "+": a higher value usually goes with more risk; "-": with less; "": no reliable hint.
Direction = Literal["+", "-", ""]

_FUNC_FR = {
    "mean": "moyenne",
    "min": "minimum",
    "max": "maximum",
    "sum": "total",
    "std": "variabilité",
}
_FUNC_EN = {
    "count": "number of rows",
    "nunique": "number of distinct",
    "mean": "mean",
    "min": "minimum",
    "max": "maximum",
    "sum": "sum",
    "std": "standard deviation",
    "rate": "ratio of sums",
    "last": "value at the latest row",
    "slope": "least-squares slope",
    "vs_all": "mean over the scope minus the mean over all rows",
}
#: Aggregates that are 0, not missing, for a client without rows.
ZERO_WHEN_EMPTY: frozenset[str] = frozenset({"count", "nunique", "sum"})

#: Feature groups, for benchmarks that leave one out: a group per history table (its cross
#: features with it), the application's own, then four groups of the top Kaggle solutions.
GROUPS: dict[str, str] = {
    "application": "the application's own columns and ratios",
    "bureau": "credits reported by the credit bureau, and their monthly statuses",
    "previous": "previous applications at Home Credit",
    "pos": "monthly balances of previous point-of-sale and cash loans",
    "installments": "instalment payments of previous loans",
    "card": "monthly balances of previous credit cards",
    "taux_implicite": "yearly interest rates implied by amount, annuity and term",
    "tendances": "trends over the latest instalments and card months",
    "anciennete_incidents": "how long ago the latest late payment was",
    "bureau_par_type": "bureau credits by type: consumer, card, car, mortgage",
}
#: The group of a feature that names none: that of its source.
SOURCE_GROUPS: dict[str, str] = {
    "application": "application",
    "bureau": "bureau",
    "bureau_balance": "bureau",
    "previous_application": "previous",
    "POS_CASH_balance": "pos",
    "installments_payments": "installments",
    "credit_card_balance": "card",
}
#: How many of a client's latest due days (instalments) the instalment trends look at.
TREND_INSTALMENTS = 12
#: How many months before the application the card trends look at.
TREND_CARD_MONTHS = 6


@dataclass(frozen=True)
class Measure:
    """A per-row column of a grain's SQL, with what a person calls it.

    ``noun`` names the value ("retard de paiement des échéances"); for a 0/1 ``flag`` it names
    the rows where it is 1 ("échéances payées en retard"), so that its mean reads "Part des ..."
    and its sum "Nombre de ...".
    """

    column: str
    noun: str
    unit: str
    english: str
    kind: Kind = "value"
    direction: Direction = ""
    source: Source | None = None  # when it differs from the grain's


@dataclass(frozen=True)
class Scope:
    """A subset of a grain's rows; ``key`` is empty for all rows."""

    key: str
    where: str | None
    label_fr: str
    english: str
    group: str = ""  # the group of its features, when it is not the grain's


@dataclass(frozen=True)
class Feature:
    """One engineered feature and its dictionary entry."""

    name: str
    source: Source
    aggregation: str
    label_fr: str
    unit: str
    actionable: bool = False
    direction: Direction = ""
    # How the engine computes it (empty for application features).
    grain: str = ""
    func: str = ""
    sql: str = ""
    measure: str = ""
    scope: str = ""
    denominator: str = ""
    # A key of GROUPS; empty: the group of its source (see group_of).
    group: str = ""


def group_of(feature: Feature) -> str:
    """The group of a feature (a key of :data:`GROUPS`).

    >>> group_of(Feature("X", "credit_card_balance", "", "", "")), group_of(
    ...     Feature("Y", "bureau", "", "", "", group="bureau_par_type"))
    ('card', 'bureau_par_type')
    """
    return feature.group or SOURCE_GROUPS[feature.source]


@dataclass(frozen=True)
class Grain:
    """One SQL file of rows, aggregated per client over several scopes."""

    name: str  # the SQL file is ``sql/<name>.sql``
    source: Source
    prefix: str
    count_noun: str  # what one row is, plural: "paiements d'échéances de crédits précédents"
    count_english: str
    scopes: tuple[Scope, ...]
    measures: tuple[Measure, ...]
    # scope key -> list of (func, measure column[, denominator column])
    aggregates: dict[str, list[tuple[str, ...]]]
    # ORDER of rows for ``last``: the latest row has the largest key.
    order_key: str = ""
    order_english: str = ""
    distinct_noun: dict[str, str] = field(default_factory=dict)
    # French names of ``rate`` and ``last`` features, by numerator / measure column.
    rate_noun: dict[str, str] = field(default_factory=dict)
    last_label: dict[str, str] = field(default_factory=dict)
    # Labels that read better written out whole, by feature name.
    labels: dict[str, str] = field(default_factory=dict)
    # Directions that differ from their measure's, by feature name.
    directions: dict[str, Direction] = field(default_factory=dict)
    # The group of its features (empty: that of the source), unless their scope names one.
    group: str = ""
    # ``slope``: the abscissa (SQL over the rows; later rows larger) and what one step of it is.
    trend_x: str = ""
    trend_step: str = ""
    trend_english: str = ""

    def measure(self, column: str) -> Measure:
        for m in self.measures:
            if m.column == column:
                return m
        raise KeyError(f"grain {self.name} has no measure {column!r}")

    def scope(self, key: str) -> Scope:
        for s in self.scopes:
            if s.key == key:
                return s
        raise KeyError(f"grain {self.name} has no scope {key!r}")

    def features(self) -> Iterator[Feature]:
        for scope in self.scopes:
            for spec in self.aggregates.get(scope.key, []):
                feature = self._feature(scope, *spec)
                if feature.name in self.labels:
                    feature = replace(feature, label_fr=self.labels[feature.name])
                if feature.name in self.directions:
                    feature = replace(feature, direction=self.directions[feature.name])
                yield replace(feature, group=scope.group or self.group)

    def _feature(self, scope: Scope, func: str, column: str = "", denominator: str = "") -> Feature:
        tag = f"{self.prefix}_{scope.key}" if scope.key else self.prefix
        over = scope.english

        def s(expr: str) -> str:
            # CASE, not FILTER: the same result, and DuckDB plans hundreds of FILTER clauses
            # several times slower, which a served client would pay on every request.
            return f"CASE WHEN {scope.where} THEN {expr} END" if scope.where else expr

        if func == "count":
            return Feature(
                name=f"{tag}_COUNT",
                source=self.source,
                aggregation=f"number of {self.count_english} over {over}",
                label_fr=_with_scope(f"Nombre {_de(self.count_noun)}", scope),
                unit="",
                grain=self.name,
                func=func,
                sql=f"count({s('1')})" if scope.where else "count(*)",
                scope=scope.key,
            )
        if func == "nunique":
            noun = self.distinct_noun[column]
            return Feature(
                name=f"{tag}_{column}_NUNIQUE",
                source=self.source,
                aggregation=f"number of distinct {column} over {over}",
                label_fr=_with_scope(f"Nombre {_de(noun)}", scope),
                unit="",
                grain=self.name,
                func=func,
                sql=f"count(DISTINCT {s(column)})",
                measure=column,
                scope=scope.key,
            )
        m = self.measure(column)
        source = m.source or self.source
        if func == "rate":
            d = self.measure(denominator)
            return Feature(
                name=f"{tag}_{column}_RATE",
                source=source,
                aggregation=f"sum of {m.english} / sum of {d.english} over {over}",
                label_fr=_with_scope(_capitalise(self.rate_noun.get(column, m.noun)), scope),
                unit="part",
                direction=m.direction,
                grain=self.name,
                func=func,
                sql=(
                    f"CAST(sum({s(column)}) AS DOUBLE)"
                    f" / nullif(CAST(sum({s(denominator)}) AS DOUBLE), 0)"
                ),
                measure=column,
                scope=scope.key,
                denominator=denominator,
            )
        if func in ("slope", "vs_all"):
            return self._trend(scope, func, m)
        suffix = {"mean": "MEAN", "min": "MIN", "max": "MAX", "sum": "SUM", "std": "STD"}
        if func == "last":
            name = f"{tag}_LAST_{column}"
            label = self.last_label[column]
            sql = f"arg_max_null({s(column)}, {s(self.order_key)})"
            english = f"{m.english} of the latest {self.order_english}"
            unit, direction = ("", m.direction) if m.kind == "flag" else (m.unit, m.direction)
        elif m.kind == "flag" and func == "mean":
            name = f"{tag}_{column}_SHARE"
            label = _with_scope(f"Part des {m.noun}", scope)
            sql = f"avg({s(column)})"
            english = f"share of {m.english} over {over}"
            unit, direction = "part", m.direction
        elif m.kind == "flag" and func == "sum":
            name = f"{tag}_{column}_COUNT"
            label = _with_scope(f"Nombre {_de(m.noun)}", scope)
            sql = f"sum({s(column)})"
            english = f"number of {m.english} over {over}"
            unit, direction = "", m.direction
        else:
            name = f"{tag}_{column}_{suffix[func]}"
            label = _with_scope(_capitalise(m.noun), scope, _FUNC_FR[func])
            value = s(column)
            sql = {
                "mean": f"avg({value})",
                "min": f"min({value})",
                "max": f"max({value})",
                "sum": f"sum({value})",
                # From exact moments: the same value whatever the row order.
                "std": (
                    f"sqrt(positive_part(avg({s(f'{column} * {column}')})"
                    f" - avg({value}) * avg({value})))"
                ),
            }[func]
            english = f"{_FUNC_EN[func]} of {m.english} over {over}"
            unit = m.unit
            direction = "" if func == "std" else m.direction
        return Feature(
            name=name,
            source=source,
            aggregation=english,
            label_fr=label,
            unit=unit,
            direction=direction,
            grain=self.name,
            func=func,
            sql=sql,
            measure=column,
            scope=scope.key,
        )

    def _trend(self, scope: Scope, func: str, m: Measure) -> Feature:
        """``slope`` (least squares against ``trend_x``) or ``vs_all`` of a measure over a scope.

        Both come from exact sums and counts (BIGINT, DECIMAL), so the few DOUBLE operations on
        them give the same bits whatever the row order, as ``std`` does.
        """
        if not scope.where:
            raise ValueError(f"{self.name}: a {func} needs a scope narrower than all rows")
        tag, column, over = f"{self.prefix}_{scope.key}", m.column, scope.english
        # Trends of days would read as dates ("il y a 3 jours"): plain numbers; ratios as percents.
        unit = {"ratio": "part", "part": "part", "€": "€"}.get(m.unit, "")
        if func == "vs_all":
            return Feature(
                name=f"{tag}_{column}_MEAN_VS_ALL",
                source=m.source or self.source,
                aggregation=f"mean of {m.english} over {over} minus its mean over all rows",
                label_fr=_with_scope(f"Écart à tout l'historique : {m.noun}", scope, "moyenne"),
                unit=unit,
                direction=m.direction,
                grain=self.name,
                func=func,
                sql=f"avg(CASE WHEN {scope.where} THEN {column} END) - avg({column})",
                measure=column,
                scope=scope.key,
            )
        x = f"({self.trend_x})"

        def total(expr: str) -> str:
            # The rows of the scope where the measure is known, for every sum alike.
            kept = f"CASE WHEN {scope.where} AND {column} IS NOT NULL THEN {expr} END"
            return f"CAST(sum({kept}) AS DOUBLE)"

        n, sx, sy = total("1"), total(x), total(column)
        return Feature(
            name=f"{tag}_{column}_SLOPE",
            source=m.source or self.source,
            aggregation=(
                f"least-squares slope of {m.english} against {self.trend_english} over {over}"
            ),
            label_fr=_with_scope(f"Évolution par {self.trend_step} : {m.noun}", scope),
            unit=unit,
            direction=m.direction,
            grain=self.name,
            func=func,
            sql=(
                f"({n} * {total(f'{x} * {column}')} - {sx} * {sy})"
                f" / nullif({n} * {total(f'{x} * {x}')} - {sx} * {sx}, 0)"
            ),
            measure=column,
            scope=scope.key,
        )


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _de(noun: str) -> str:
    """French "de" before a noun, elided before a vowel or a mute h.

    >>> _de("échéances"), _de("crédits")
    ("d'échéances", 'de crédits')
    """
    return f"d'{noun}" if noun[:1].lower() in "aeéèêiîoôuyh" else f"de {noun}"


def _with_scope(label: str, scope: Scope, func_fr: str = "") -> str:
    details = ", ".join(part for part in (func_fr, scope.label_fr) if part)
    return f"{label} ({details})" if details else label


ALL = "all rows"
_RECENCY = "anciennete_incidents"

# --- installments_payments ---------------------------------------------------------------------

_INSTALMENTS = Grain(
    name="installments_payments",
    source="installments_payments",
    prefix="INST",
    count_noun="paiements d'échéances de crédits précédents",
    count_english="instalment payments",
    scopes=(
        Scope("", None, "", "all payments of previous Home Credit loans"),
        Scope(
            "365D",
            "DAYS_INSTALMENT >= -365",
            "12 derniers mois",
            "payments due in the 365 days before the application",
        ),
        Scope(
            f"LAST{TREND_INSTALMENTS}",
            f"RECENT_RANK <= {TREND_INSTALMENTS}",
            f"{TREND_INSTALMENTS} dernières échéances",
            f"payments of the client's {TREND_INSTALMENTS} latest due days",
            "tendances",
        ),
        Scope("LATE", "LATE = 1", "échéances payées en retard", "late payments", _RECENCY),
        Scope(
            "LATE30",
            "LATE_30 = 1",
            "échéances payées avec plus de 30 jours de retard",
            "payments over 30 days late",
            _RECENCY,
        ),
    ),
    measures=(
        Measure("DPD", "retard de paiement des échéances", "jours", "days past due", "value", "+"),
        Measure(
            "DBD", "avance de paiement des échéances", "jours", "days paid early", "value", "-"
        ),
        Measure("LATE", "échéances payées en retard", "", "late payments", "flag", "+"),
        Measure(
            "LATE_30",
            "échéances payées avec plus de 30 jours de retard",
            "",
            "payments over 30 days late",
            "flag",
            "+",
        ),
        Measure(
            "PAYMENT_RATIO",
            "part de chaque échéance effectivement payée",
            "ratio",
            "paid / due amount",
            "value",
            "-",
        ),
        Measure(
            "UNDERPAYMENT",
            "montant impayé par échéance",
            "€",
            "amount due but not paid",
            "value",
            "+",
        ),
        Measure("UNDERPAID", "échéances payées en partie seulement", "", "underpaid", "flag", "+"),
        Measure("AMT_INSTALMENT", "montant des échéances dues", "€", "instalment due"),
        Measure("AMT_PAYMENT", "montant des paiements", "€", "amount paid"),
        Measure(
            "DAYS_ENTRY_PAYMENT",
            "date des paiements d'échéances",
            "jours",
            "payment day relative to the application",
        ),
        Measure(
            "DAYS_INSTALMENT",
            "date des échéances",
            "jours",
            "due day relative to the application",
        ),
    ),
    aggregates={
        "": [
            ("count",),
            ("nunique", "SK_ID_PREV"),
            ("mean", "DPD"),
            ("max", "DPD"),
            ("sum", "DPD"),
            ("std", "DPD"),
            ("mean", "DBD"),
            ("max", "DBD"),
            ("sum", "DBD"),
            ("mean", "LATE"),
            ("sum", "LATE"),
            ("mean", "LATE_30"),
            ("sum", "LATE_30"),
            ("mean", "PAYMENT_RATIO"),
            ("min", "PAYMENT_RATIO"),
            ("max", "PAYMENT_RATIO"),
            ("mean", "UNDERPAYMENT"),
            ("max", "UNDERPAYMENT"),
            ("sum", "UNDERPAYMENT"),
            ("mean", "UNDERPAID"),
            ("mean", "AMT_INSTALMENT"),
            ("max", "AMT_INSTALMENT"),
            ("sum", "AMT_INSTALMENT"),
            ("mean", "AMT_PAYMENT"),
            ("min", "AMT_PAYMENT"),
            ("max", "AMT_PAYMENT"),
            ("sum", "AMT_PAYMENT"),
            ("max", "DAYS_ENTRY_PAYMENT"),
            ("min", "DAYS_INSTALMENT"),
            ("max", "DAYS_INSTALMENT"),
        ],
        "365D": [
            ("count",),
            ("mean", "DPD"),
            ("max", "DPD"),
            ("sum", "DPD"),
            ("mean", "DBD"),
            ("mean", "LATE"),
            ("sum", "LATE"),
            ("mean", "LATE_30"),
            ("mean", "PAYMENT_RATIO"),
            ("min", "PAYMENT_RATIO"),
            ("mean", "UNDERPAYMENT"),
            ("sum", "UNDERPAYMENT"),
            ("mean", "UNDERPAID"),
            ("mean", "AMT_INSTALMENT"),
            ("sum", "AMT_INSTALMENT"),
            ("sum", "AMT_PAYMENT"),
        ],
        f"LAST{TREND_INSTALMENTS}": [
            ("slope", "DPD"),
            ("slope", "PAYMENT_RATIO"),
            ("mean", "DPD"),
            ("mean", "PAYMENT_RATIO"),
            ("mean", "LATE"),
            ("vs_all", "DPD"),
            ("vs_all", "PAYMENT_RATIO"),
        ],
        "LATE": [("max", "DAYS_INSTALMENT")],
        "LATE30": [("max", "DAYS_INSTALMENT")],
    },
    distinct_noun={"SK_ID_PREV": "crédits précédents avec des échéances"},
    labels={
        "INST_DAYS_ENTRY_PAYMENT_MAX": "Date du dernier paiement d'échéance",
        "INST_DAYS_INSTALMENT_MIN": "Date de la plus ancienne échéance",
        "INST_DAYS_INSTALMENT_MAX": "Date de la dernière échéance passée",
        "INST_LATE_DAYS_INSTALMENT_MAX": "Date de la dernière échéance payée en retard",
        "INST_LATE30_DAYS_INSTALMENT_MAX": (
            "Date de la dernière échéance payée avec plus de 30 jours de retard"
        ),
        f"INST_LAST{TREND_INSTALMENTS}_DPD_SLOPE": (
            f"Évolution du retard de paiement sur les {TREND_INSTALMENTS} dernières échéances"
            " (jours de plus par échéance)"
        ),
        f"INST_LAST{TREND_INSTALMENTS}_PAYMENT_RATIO_SLOPE": (
            "Évolution de la part payée de chaque échéance sur les"
            f" {TREND_INSTALMENTS} dernières échéances (par échéance)"
        ),
        f"INST_LAST{TREND_INSTALMENTS}_DPD_MEAN_VS_ALL": (
            f"Écart entre le retard moyen des {TREND_INSTALMENTS} dernières échéances et celui"
            " de tout l'historique"
        ),
        f"INST_LAST{TREND_INSTALMENTS}_PAYMENT_RATIO_MEAN_VS_ALL": (
            f"Écart entre la part payée des {TREND_INSTALMENTS} dernières échéances et celle de"
            " tout l'historique"
        ),
    },
    # A recent late payment weighs more than an old one.
    directions={"INST_LATE_DAYS_INSTALMENT_MAX": "+", "INST_LATE30_DAYS_INSTALMENT_MAX": "+"},
    # The rank counts due days back from the latest: its opposite grows with time.
    trend_x="-RECENT_RANK",
    trend_step="échéance",
    trend_english="the rank of the due day",
)

# --- POS_CASH_balance ---------------------------------------------------------------------------

_POS_SCOPES = (
    Scope("", None, "", "all months of previous point-of-sale and cash loans"),
    Scope(
        "12M", "MONTHS_BALANCE >= -12", "12 derniers mois", "the 12 months before the application"
    ),
    Scope("LATE", "DPD_MONTH = 1", "mois en retard", "months past due", _RECENCY),
)

_POS_MONTHS = Grain(
    name="POS_CASH_balance",
    source="POS_CASH_balance",
    prefix="POS",
    count_noun="mois d'historique des crédits précédents",
    count_english="monthly balances",
    scopes=_POS_SCOPES,
    measures=(
        Measure(
            "MONTHS_BALANCE",
            "mois de l'historique des crédits précédents",
            "mois",
            "month relative to the application",
        ),
        Measure(
            "SK_DPD",
            "retard de paiement des crédits précédents",
            "jours",
            "days past due",
            "value",
            "+",
        ),
        Measure(
            "SK_DPD_DEF",
            "retard significatif des crédits précédents",
            "jours",
            "days past due on non-negligible debts",
            "value",
            "+",
        ),
        Measure("DPD_MONTH", "mois avec un retard de paiement", "", "months past due", "flag", "+"),
        Measure(
            "DPD_DEF_MONTH",
            "mois avec un retard significatif",
            "",
            "months past due on non-negligible debts",
            "flag",
            "+",
        ),
        Measure("CNT_INSTALMENT", "durée des crédits précédents", "mois", "term"),
        Measure(
            "CNT_INSTALMENT_FUTURE",
            "échéances restant à payer sur les crédits précédents",
            "",
            "instalments left",
        ),
        Measure("COMPLETED", "mois où le crédit était soldé", "", "completed months", "flag"),
        Measure("ACTIVE", "mois où le crédit était en cours", "", "active months", "flag"),
    ),
    aggregates={
        "": [
            ("count",),
            ("nunique", "SK_ID_PREV"),
            ("min", "MONTHS_BALANCE"),
            ("max", "MONTHS_BALANCE"),
            ("mean", "SK_DPD"),
            ("max", "SK_DPD"),
            ("mean", "SK_DPD_DEF"),
            ("max", "SK_DPD_DEF"),
            ("mean", "DPD_MONTH"),
            ("sum", "DPD_MONTH"),
            ("mean", "DPD_DEF_MONTH"),
            ("mean", "CNT_INSTALMENT"),
            ("max", "CNT_INSTALMENT"),
            ("mean", "CNT_INSTALMENT_FUTURE"),
            ("mean", "COMPLETED"),
            ("mean", "ACTIVE"),
        ],
        "12M": [
            ("count",),
            ("mean", "SK_DPD"),
            ("max", "SK_DPD"),
            ("max", "SK_DPD_DEF"),
            ("mean", "DPD_MONTH"),
            ("mean", "CNT_INSTALMENT_FUTURE"),
        ],
        "LATE": [("max", "MONTHS_BALANCE")],
    },
    distinct_noun={"SK_ID_PREV": "crédits précédents (vente ou prêt personnel)"},
    labels={
        "POS_MONTHS_BALANCE_MIN": "Début de l'historique des crédits précédents",
        "POS_MONTHS_BALANCE_MAX": "Dernier mois connu des crédits précédents",
        "POS_LATE_MONTHS_BALANCE_MAX": (
            "Date du dernier mois en retard de paiement sur un crédit précédent"
        ),
    },
    directions={"POS_LATE_MONTHS_BALANCE_MAX": "+"},
)

_POS_LOANS = Grain(
    name="POS_CASH_loans",
    source="POS_CASH_balance",
    prefix="POS_LOAN",
    count_noun="crédits précédents suivis mois par mois",
    count_english="previous point-of-sale and cash loans",
    scopes=(Scope("", None, "", "previous point-of-sale and cash loans, at their latest month"),),
    measures=(
        Measure(
            "LOAN_MONTHS", "durée d'historique par crédit", "mois", "months of history per loan"
        ),
        Measure(
            "REMAINING_INSTALMENTS",
            "échéances restant à payer",
            "",
            "instalments left at the latest month",
            "value",
            "+",
        ),
        Measure(
            "REMAINING_SHARE",
            "part de la durée restant à payer",
            "part",
            "instalments left / term at the latest month",
            "value",
            "+",
        ),
        Measure("LAST_COMPLETED", "crédits précédents soldés", "", "completed loans", "flag", "-"),
        Measure(
            "EVER_DPD",
            "crédits précédents ayant connu un retard",
            "",
            "loans ever late",
            "flag",
            "+",
        ),
        Measure(
            "LOAN_DPD_MAX",
            "retard maximal par crédit",
            "jours",
            "worst days past due per loan",
            "value",
            "+",
        ),
    ),
    aggregates={
        "": [
            ("mean", "LOAN_MONTHS"),
            ("sum", "REMAINING_INSTALMENTS"),
            ("mean", "REMAINING_INSTALMENTS"),
            ("max", "REMAINING_INSTALMENTS"),
            ("mean", "REMAINING_SHARE"),
            ("mean", "LAST_COMPLETED"),
            ("sum", "LAST_COMPLETED"),
            ("mean", "EVER_DPD"),
            ("sum", "EVER_DPD"),
            ("mean", "LOAN_DPD_MAX"),
        ],
    },
)

# --- credit_card_balance ------------------------------------------------------------------------

_CARD_MONTHS = Grain(
    name="credit_card_balance",
    source="credit_card_balance",
    prefix="CC",
    count_noun="mois d'historique des cartes de crédit",
    count_english="monthly card balances",
    scopes=(
        Scope("", None, "", "all months of previous Home Credit cards"),
        Scope(
            "12M",
            "MONTHS_BALANCE >= -12",
            "12 derniers mois",
            "the 12 months before the application",
        ),
        Scope(
            f"{TREND_CARD_MONTHS}M",
            f"MONTHS_BALANCE >= -{TREND_CARD_MONTHS}",
            f"{TREND_CARD_MONTHS} derniers mois",
            f"the {TREND_CARD_MONTHS} months before the application",
            "tendances",
        ),
        Scope("LATE", "DPD_MONTH = 1", "mois en retard", "months past due", _RECENCY),
    ),
    measures=(
        Measure(
            "MONTHS_BALANCE",
            "mois de l'historique des cartes de crédit",
            "mois",
            "month relative to the application",
        ),
        Measure("AMT_BALANCE", "solde de la carte de crédit", "€", "balance", "value", "+"),
        Measure("AMT_CREDIT_LIMIT_ACTUAL", "plafond de la carte de crédit", "€", "credit limit"),
        Measure(
            "UTILISATION",
            "part du plafond de carte utilisée",
            "ratio",
            "balance / limit",
            "value",
            "+",
        ),
        Measure("AMT_DRAWINGS_CURRENT", "retraits et achats par carte", "€", "drawings"),
        Measure(
            "AMT_DRAWINGS_ATM_CURRENT",
            "retraits d'espèces par carte",
            "€",
            "ATM drawings",
            "value",
            "+",
        ),
        Measure("AMT_DRAWINGS_POS_CURRENT", "achats par carte", "€", "point-of-sale drawings"),
        Measure(
            "CNT_DRAWINGS_CURRENT", "nombre mensuel d'opérations par carte", "", "drawings count"
        ),
        Measure(
            "CNT_DRAWINGS_ATM_CURRENT",
            "nombre mensuel de retraits d'espèces",
            "",
            "ATM drawings count",
            "value",
            "+",
        ),
        Measure("AMT_PAYMENT_TOTAL_CURRENT", "remboursements de la carte", "€", "payments"),
        Measure(
            "AMT_INST_MIN_REGULARITY", "mensualité minimale de la carte", "€", "minimum instalment"
        ),
        Measure(
            "PAYMENT_MIN_RATIO",
            "remboursement de la carte rapporté au minimum exigé",
            "ratio",
            "payment / minimum instalment",
            "value",
            "-",
        ),
        Measure(
            "MISSED_MINIMUM",
            "mois où le minimum de la carte n'a pas été payé",
            "",
            "months below the minimum payment",
            "flag",
            "+",
        ),
        Measure(
            "AMT_TOTAL_RECEIVABLE", "montant dû sur la carte", "€", "total receivable", "value", "+"
        ),
        Measure("SK_DPD", "retard de paiement de la carte", "jours", "days past due", "value", "+"),
        Measure(
            "SK_DPD_DEF",
            "retard significatif de la carte",
            "jours",
            "days past due on non-negligible debts",
            "value",
            "+",
        ),
        Measure(
            "DPD_MONTH",
            "mois de carte avec un retard de paiement",
            "",
            "months past due",
            "flag",
            "+",
        ),
        Measure("CNT_INSTALMENT_MATURE_CUM", "échéances de carte payées", "", "instalments paid"),
    ),
    aggregates={
        "": [
            ("count",),
            ("nunique", "SK_ID_PREV"),
            ("mean", "AMT_BALANCE"),
            ("max", "AMT_BALANCE"),
            ("mean", "AMT_CREDIT_LIMIT_ACTUAL"),
            ("max", "AMT_CREDIT_LIMIT_ACTUAL"),
            ("mean", "UTILISATION"),
            ("max", "UTILISATION"),
            ("mean", "AMT_DRAWINGS_CURRENT"),
            ("max", "AMT_DRAWINGS_CURRENT"),
            ("sum", "AMT_DRAWINGS_CURRENT"),
            ("mean", "AMT_DRAWINGS_ATM_CURRENT"),
            ("sum", "AMT_DRAWINGS_ATM_CURRENT"),
            ("mean", "AMT_DRAWINGS_POS_CURRENT"),
            ("sum", "AMT_DRAWINGS_POS_CURRENT"),
            ("mean", "CNT_DRAWINGS_CURRENT"),
            ("max", "CNT_DRAWINGS_CURRENT"),
            ("mean", "CNT_DRAWINGS_ATM_CURRENT"),
            ("mean", "AMT_PAYMENT_TOTAL_CURRENT"),
            ("sum", "AMT_PAYMENT_TOTAL_CURRENT"),
            ("mean", "AMT_INST_MIN_REGULARITY"),
            ("mean", "PAYMENT_MIN_RATIO"),
            ("min", "PAYMENT_MIN_RATIO"),
            ("mean", "MISSED_MINIMUM"),
            ("mean", "AMT_TOTAL_RECEIVABLE"),
            ("max", "AMT_TOTAL_RECEIVABLE"),
            ("mean", "SK_DPD"),
            ("max", "SK_DPD"),
            ("max", "SK_DPD_DEF"),
            ("mean", "DPD_MONTH"),
            ("max", "CNT_INSTALMENT_MATURE_CUM"),
        ],
        "12M": [
            ("count",),
            ("mean", "AMT_BALANCE"),
            ("mean", "UTILISATION"),
            ("max", "UTILISATION"),
            ("mean", "AMT_DRAWINGS_CURRENT"),
            ("mean", "AMT_DRAWINGS_ATM_CURRENT"),
            ("mean", "AMT_PAYMENT_TOTAL_CURRENT"),
            ("mean", "MISSED_MINIMUM"),
            ("max", "SK_DPD"),
            ("mean", "DPD_MONTH"),
        ],
        f"{TREND_CARD_MONTHS}M": [
            ("slope", "UTILISATION"),
            ("vs_all", "UTILISATION"),
            ("slope", "SK_DPD"),
            ("vs_all", "SK_DPD"),
        ],
        "LATE": [("max", "MONTHS_BALANCE")],
    },
    distinct_noun={"SK_ID_PREV": "cartes de crédit précédentes"},
    labels={
        f"CC_{TREND_CARD_MONTHS}M_UTILISATION_SLOPE": (
            "Évolution de la part du plafond de carte utilisée sur les"
            f" {TREND_CARD_MONTHS} derniers mois (par mois)"
        ),
        f"CC_{TREND_CARD_MONTHS}M_UTILISATION_MEAN_VS_ALL": (
            "Écart entre la part du plafond de carte utilisée sur les"
            f" {TREND_CARD_MONTHS} derniers mois et celle de tout l'historique"
        ),
        f"CC_{TREND_CARD_MONTHS}M_SK_DPD_SLOPE": (
            f"Évolution du retard de paiement de la carte sur les {TREND_CARD_MONTHS} derniers"
            " mois (jours de plus par mois)"
        ),
        f"CC_{TREND_CARD_MONTHS}M_SK_DPD_MEAN_VS_ALL": (
            f"Écart entre le retard moyen de la carte sur les {TREND_CARD_MONTHS} derniers mois"
            " et celui de tout l'historique"
        ),
        "CC_LATE_MONTHS_BALANCE_MAX": (
            "Date du dernier mois en retard de paiement sur une carte de crédit"
        ),
    },
    directions={"CC_LATE_MONTHS_BALANCE_MAX": "+"},
    trend_x="MONTHS_BALANCE",
    trend_step="mois",
    trend_english="the month",
)

_CARDS = Grain(
    name="credit_card_cards",
    source="credit_card_balance",
    prefix="CC_CARD",
    count_noun="cartes de crédit précédentes",
    count_english="previous credit cards",
    scopes=(Scope("", None, "", "previous Home Credit cards, at their latest month"),),
    measures=(
        Measure(
            "CURRENT_BALANCE",
            "solde actuel des cartes de crédit",
            "€",
            "latest balance",
            "value",
            "+",
        ),
        Measure("CURRENT_LIMIT", "plafond actuel des cartes de crédit", "€", "latest limit"),
    ),
    aggregates={
        "": [
            ("sum", "CURRENT_BALANCE"),
            ("sum", "CURRENT_LIMIT"),
            ("rate", "CURRENT_BALANCE", "CURRENT_LIMIT"),
        ],
    },
    rate_noun={"CURRENT_BALANCE": "part du plafond des cartes de crédit utilisée actuellement"},
)

# --- previous_application -----------------------------------------------------------------------

_PREVIOUS = Grain(
    name="previous_application",
    source="previous_application",
    prefix="PREV",
    count_noun="demandes de crédit précédentes",
    count_english="previous applications",
    scopes=(
        Scope("", None, "", "all previous applications"),
        Scope(
            "APPROVED", "IS_APPROVED = 1", "demandes acceptées", "approved previous applications"
        ),
        Scope("REFUSED", "IS_REFUSED = 1", "demandes refusées", "refused previous applications"),
        Scope(
            "365D",
            "DAYS_DECISION >= -365",
            "12 derniers mois",
            "applications decided in the last 365 days",
        ),
        Scope(
            "RUNNING", "IS_RUNNING = 1", "crédits encore en cours", "approved loans still running"
        ),
    ),
    measures=(
        Measure("AMT_ANNUITY", "mensualité des crédits précédents", "€", "annuity"),
        Measure(
            "AMT_APPLICATION", "montant demandé lors des demandes précédentes", "€", "amount asked"
        ),
        Measure(
            "AMT_CREDIT", "montant accordé lors des demandes précédentes", "€", "amount granted"
        ),
        Measure(
            "AMT_DOWN_PAYMENT",
            "apport personnel des demandes précédentes",
            "€",
            "down payment",
            "value",
            "-",
        ),
        Measure("AMT_GOODS_PRICE", "prix des biens financés précédemment", "€", "goods price"),
        Measure(
            "APP_CREDIT_RATIO",
            "montant demandé rapporté au montant accordé",
            "ratio",
            "asked / granted amount",
        ),
        Measure(
            "APP_CREDIT_DIFF",
            "écart entre montant demandé et montant accordé",
            "€",
            "asked minus granted amount",
        ),
        Measure(
            "RATE_DOWN_PAYMENT",
            "taux d'apport des demandes précédentes",
            "ratio",
            "down payment rate",
            "value",
            "-",
        ),
        Measure(
            "COST_RATIO",
            "coût total des crédits précédents rapporté au montant emprunté",
            "ratio",
            "(annuity x term - credit) / credit",
            "value",
            "+",
        ),
        Measure(
            "DAYS_DECISION",
            "date de décision des demandes précédentes",
            "jours",
            "decision day relative to the application",
        ),
        Measure("CNT_PAYMENT", "durée des crédits précédents", "mois", "term"),
        Measure(
            "DAYS_FIRST_DRAWING",
            "date du premier versement des crédits précédents",
            "jours",
            "first drawing day",
        ),
        Measure(
            "DAYS_FIRST_DUE",
            "date de la première échéance des crédits précédents",
            "jours",
            "first due day",
        ),
        Measure(
            "DAYS_LAST_DUE_1ST_VERSION",
            "date de fin prévue des crédits précédents",
            "jours",
            "planned last due day",
        ),
        Measure(
            "DAYS_LAST_DUE",
            "date de dernière échéance des crédits précédents",
            "jours",
            "last due day",
        ),
        Measure(
            "DAYS_TERMINATION",
            "date de fin des crédits précédents",
            "jours",
            "termination day",
        ),
        Measure("IS_APPROVED", "demandes précédentes acceptées", "", "approved", "flag", "-"),
        Measure("IS_REFUSED", "demandes précédentes refusées", "", "refused", "flag", "+"),
        Measure("IS_CANCELED", "demandes précédentes annulées", "", "canceled", "flag"),
        Measure("IS_UNUSED_OFFER", "offres précédentes non utilisées", "", "unused offers", "flag"),
        Measure("IS_RUNNING", "crédits précédents encore en cours", "", "running loans", "flag"),
        Measure("CASH_LOAN", "demandes précédentes de prêt personnel", "", "cash loans", "flag"),
        Measure(
            "CONSUMER_LOAN",
            "demandes précédentes de crédit à la consommation",
            "",
            "consumer loans",
            "flag",
        ),
        Measure(
            "REVOLVING_LOAN",
            "demandes précédentes de crédit renouvelable",
            "",
            "revolving loans",
            "flag",
        ),
        Measure(
            "YIELD_HIGH", "demandes précédentes à taux élevé", "", "high interest", "flag", "+"
        ),
        Measure("YIELD_LOW", "demandes précédentes à taux bas", "", "low interest", "flag", "-"),
        Measure(
            "NEW_CLIENT",
            "demandes faites en tant que nouveau client",
            "",
            "new-client applications",
            "flag",
        ),
        Measure(
            "X_SELL", "demandes précédentes sur proposition de la banque", "", "cross-sell", "flag"
        ),
        Measure("INSURED", "demandes précédentes avec assurance", "", "insured", "flag"),
        Measure(
            "REJECT_HC",
            "refus précédents pour motif « HC »",
            "",
            "refusals with reason HC",
            "flag",
            "+",
        ),
        Measure(
            "REJECT_LIMIT",
            "refus précédents pour dépassement de limite",
            "",
            "refusals with reason LIMIT",
            "flag",
            "+",
        ),
        Measure(
            "REJECT_SCORE",
            "refus précédents pour score insuffisant",
            "",
            "refusals with reason SCO or SCOFR",
            "flag",
            "+",
        ),
    ),
    aggregates={
        "": [
            ("count",),
            ("mean", "AMT_ANNUITY"),
            ("max", "AMT_ANNUITY"),
            ("mean", "AMT_APPLICATION"),
            ("max", "AMT_APPLICATION"),
            ("mean", "AMT_CREDIT"),
            ("max", "AMT_CREDIT"),
            ("sum", "AMT_CREDIT"),
            ("mean", "APP_CREDIT_RATIO"),
            ("min", "APP_CREDIT_RATIO"),
            ("max", "APP_CREDIT_RATIO"),
            ("mean", "APP_CREDIT_DIFF"),
            ("mean", "AMT_DOWN_PAYMENT"),
            ("max", "AMT_DOWN_PAYMENT"),
            ("mean", "AMT_GOODS_PRICE"),
            ("max", "AMT_GOODS_PRICE"),
            ("mean", "RATE_DOWN_PAYMENT"),
            ("max", "RATE_DOWN_PAYMENT"),
            ("mean", "COST_RATIO"),
            ("mean", "DAYS_DECISION"),
            ("min", "DAYS_DECISION"),
            ("max", "DAYS_DECISION"),
            ("mean", "CNT_PAYMENT"),
            ("sum", "CNT_PAYMENT"),
            ("mean", "DAYS_FIRST_DRAWING"),
            ("mean", "DAYS_FIRST_DUE"),
            ("max", "DAYS_LAST_DUE_1ST_VERSION"),
            ("mean", "DAYS_TERMINATION"),
            ("mean", "IS_APPROVED"),
            ("mean", "IS_REFUSED"),
            ("mean", "IS_CANCELED"),
            ("mean", "IS_UNUSED_OFFER"),
            ("mean", "CASH_LOAN"),
            ("mean", "CONSUMER_LOAN"),
            ("mean", "REVOLVING_LOAN"),
            ("mean", "YIELD_HIGH"),
            ("mean", "YIELD_LOW"),
            ("mean", "NEW_CLIENT"),
            ("mean", "X_SELL"),
            ("mean", "INSURED"),
            ("last", "IS_REFUSED"),
            ("last", "AMT_APPLICATION"),
            ("last", "AMT_CREDIT"),
            ("last", "AMT_ANNUITY"),
            ("last", "APP_CREDIT_RATIO"),
            ("last", "CNT_PAYMENT"),
            ("last", "DAYS_DECISION"),
            ("last", "YIELD_HIGH"),
        ],
        "APPROVED": [
            ("count",),
            ("mean", "AMT_ANNUITY"),
            ("max", "AMT_ANNUITY"),
            ("sum", "AMT_ANNUITY"),
            ("mean", "AMT_CREDIT"),
            ("max", "AMT_CREDIT"),
            ("sum", "AMT_CREDIT"),
            ("mean", "APP_CREDIT_RATIO"),
            ("min", "APP_CREDIT_RATIO"),
            ("mean", "AMT_DOWN_PAYMENT"),
            ("mean", "COST_RATIO"),
            ("mean", "CNT_PAYMENT"),
            ("max", "CNT_PAYMENT"),
            ("max", "DAYS_DECISION"),
            ("min", "DAYS_DECISION"),
            ("mean", "DAYS_FIRST_DRAWING"),
            ("max", "DAYS_LAST_DUE_1ST_VERSION"),
            ("mean", "DAYS_LAST_DUE_1ST_VERSION"),
            ("max", "DAYS_TERMINATION"),
            ("mean", "YIELD_HIGH"),
        ],
        "REFUSED": [
            ("count",),
            ("mean", "AMT_APPLICATION"),
            ("max", "AMT_APPLICATION"),
            ("mean", "AMT_CREDIT"),
            ("mean", "APP_CREDIT_RATIO"),
            ("max", "DAYS_DECISION"),
            ("mean", "DAYS_DECISION"),
            ("mean", "CNT_PAYMENT"),
            ("mean", "REJECT_HC"),
            ("mean", "REJECT_LIMIT"),
            ("mean", "REJECT_SCORE"),
        ],
        "365D": [
            ("count",),
            ("mean", "IS_APPROVED"),
            ("mean", "IS_REFUSED"),
            ("sum", "IS_REFUSED"),
            ("mean", "AMT_APPLICATION"),
            ("sum", "AMT_APPLICATION"),
            ("sum", "AMT_CREDIT"),
        ],
        "RUNNING": [
            ("count",),
            ("sum", "AMT_ANNUITY"),
            ("sum", "AMT_CREDIT"),
            ("max", "DAYS_LAST_DUE_1ST_VERSION"),
        ],
    },
    # The decision day, then the application id (below 10^10) to break ties: a BIGINT key.
    order_key="whole(DAYS_DECISION) * 10000000000 + SK_ID_PREV",
    order_english="previous application (by decision day)",
    last_label={
        "IS_REFUSED": "Dernière demande de crédit refusée",
        "AMT_APPLICATION": "Montant demandé lors de la dernière demande",
        "AMT_CREDIT": "Montant accordé lors de la dernière demande",
        "AMT_ANNUITY": "Mensualité de la dernière demande",
        "APP_CREDIT_RATIO": "Montant demandé rapporté au montant accordé (dernière demande)",
        "CNT_PAYMENT": "Durée du dernier crédit demandé",
        "DAYS_DECISION": "Date de la dernière demande de crédit",
        "YIELD_HIGH": "Dernière demande à taux élevé",
    },
)

_PREVIOUS_RATES = Grain(
    name="previous_rates",
    source="previous_application",
    prefix="PREV",
    count_noun="demandes de crédit précédentes à échéances",
    count_english="previous applications with a term",
    scopes=(
        Scope("", None, "", "previous applications with an amount, an annuity and a term"),
        Scope(
            "APPROVED",
            "IS_APPROVED = 1",
            "demandes acceptées",
            "approved previous applications with a term",
        ),
    ),
    measures=(
        Measure(
            "IMPLIED_RATE",
            "taux annuel implicite des crédits précédents",
            "part",
            "yearly rate implied by amount, annuity and term",
            "value",
            "+",
        ),
    ),
    aggregates={
        "": [("mean", "IMPLIED_RATE"), ("min", "IMPLIED_RATE"), ("max", "IMPLIED_RATE")],
        "APPROVED": [("mean", "IMPLIED_RATE"), ("last", "IMPLIED_RATE")],
    },
    order_key=_PREVIOUS.order_key,
    order_english=_PREVIOUS.order_english,
    last_label={"IMPLIED_RATE": "Taux annuel implicite du dernier crédit accepté"},
    group="taux_implicite",
)

# --- bureau and bureau_balance ------------------------------------------------------------------

_BB = "bureau_balance"
#: The four most common types of bureau credit: scope key, flag column, French, English.
_BUREAU_TYPES = (
    ("CONSUMER", "CONSUMER_CREDIT", "crédits à la consommation", "consumer credits"),
    ("CARD", "CREDIT_CARD", "cartes de crédit", "credit cards"),
    ("CAR", "CAR_LOAN", "crédits auto", "car loans"),
    ("MORTGAGE", "MORTGAGE", "crédits immobiliers", "mortgages"),
)
_BUREAU = Grain(
    name="bureau",
    source="bureau",
    prefix="BURO",
    count_noun="crédits déclarés au bureau de crédit",
    count_english="credits reported by the credit bureau",
    scopes=(
        Scope("", None, "", "all credits reported by the credit bureau"),
        Scope("ACTIVE", "IS_ACTIVE = 1", "crédits en cours", "active credits"),
        Scope("CLOSED", "IS_CLOSED = 1", "crédits clos", "closed credits"),
        Scope(
            "365D",
            "DAYS_CREDIT >= -365",
            "ouverts dans les 12 derniers mois",
            "credits opened in the last 365 days",
        ),
        *(
            Scope(key, f"{flag} = 1", label, english, "bureau_par_type")
            for key, flag, label, english in _BUREAU_TYPES
        ),
        Scope(
            "LATE",
            "BB_EVER_DPD = 1",
            "crédits ayant connu un retard",
            "credits ever late",
            _RECENCY,
        ),
    ),
    measures=(
        Measure(
            "DAYS_CREDIT",
            "date d'ouverture des crédits déclarés",
            "jours",
            "opening day",
        ),
        Measure(
            "CREDIT_DAY_OVERDUE",
            "retard actuel sur les crédits déclarés",
            "jours",
            "days overdue now",
            "value",
            "+",
        ),
        Measure(
            "DAYS_CREDIT_ENDDATE",
            "date de fin prévue des crédits déclarés",
            "jours",
            "planned end day",
        ),
        Measure(
            "DAYS_ENDDATE_FACT",
            "date de clôture des crédits déclarés",
            "jours",
            "actual end day",
        ),
        Measure(
            "DAYS_CREDIT_UPDATE",
            "date de mise à jour des crédits déclarés",
            "jours",
            "last update day",
        ),
        Measure("DURATION", "durée prévue des crédits déclarés", "jours", "planned duration"),
        Measure(
            "ENDDATE_GAP",
            "écart entre clôture réelle et prévue des crédits déclarés",
            "jours",
            "actual minus planned end day",
        ),
        Measure(
            "AMT_CREDIT_MAX_OVERDUE",
            "impayé maximal connu sur les crédits déclarés",
            "€",
            "maximum amount overdue so far",
            "value",
            "+",
        ),
        Measure(
            "CNT_CREDIT_PROLONG",
            "prolongations des crédits déclarés",
            "",
            "prolongations",
            "value",
            "+",
        ),
        Measure("AMT_CREDIT_SUM", "montant des crédits déclarés", "€", "credit amount"),
        Measure(
            "AMT_CREDIT_SUM_DEBT",
            "reste dû sur les crédits déclarés",
            "€",
            "current debt",
            "value",
            "+",
        ),
        Measure("AMT_CREDIT_SUM_LIMIT", "plafond des cartes déclarées", "€", "card limit"),
        Measure(
            "AMT_CREDIT_SUM_OVERDUE",
            "impayé actuel sur les crédits déclarés",
            "€",
            "amount overdue now",
            "value",
            "+",
        ),
        Measure("AMT_ANNUITY", "mensualité des crédits déclarés", "€", "annuity", "value", "+"),
        Measure(
            "DEBT_RATIO",
            "part du crédit déclaré restant à rembourser",
            "ratio",
            "debt / credit amount",
            "value",
            "+",
        ),
        Measure("IS_ACTIVE", "crédits déclarés encore en cours", "", "active credits", "flag", "+"),
        Measure(
            "SOLD_OR_BAD_DEBT",
            "crédits déclarés cédés ou passés en perte",
            "",
            "sold or bad-debt credits",
            "flag",
            "+",
        ),
        Measure(
            "OVERDUE",
            "crédits déclarés actuellement en retard",
            "",
            "credits overdue now",
            "flag",
            "+",
        ),
        Measure("PROLONGED", "crédits déclarés prolongés", "", "prolonged credits", "flag", "+"),
        Measure(
            "CONSUMER_CREDIT", "crédits à la consommation déclarés", "", "consumer credits", "flag"
        ),
        Measure("CREDIT_CARD", "cartes de crédit déclarées", "", "credit cards", "flag"),
        Measure("CAR_LOAN", "crédits auto déclarés", "", "car loans", "flag"),
        Measure("MORTGAGE", "crédits immobiliers déclarés", "", "mortgages", "flag", "-"),
        Measure("MICROLOAN", "microcrédits déclarés", "", "microloans", "flag", "+"),
        # bureau_balance, summarised per credit in bureau.sql
        Measure(
            "BB_MONTHS",
            "durée d'historique mensuel au bureau de crédit",
            "mois",
            "months of monthly status",
            source=_BB,
        ),
        Measure(
            "BB_FIRST_MONTH",
            "début de l'historique au bureau de crédit",
            "mois",
            "first month of monthly status",
            source=_BB,
        ),
        Measure(
            "BB_DPD_MONTHS",
            "part des mois en retard de paiement au bureau de crédit",
            "",
            "months with a DPD status",
            "value",
            "+",
            _BB,
        ),
        Measure(
            "BB_DPD30_MONTHS",
            "part des mois avec plus de 30 jours de retard au bureau de crédit",
            "",
            "months with over 30 days past due",
            "value",
            "+",
            _BB,
        ),
        Measure(
            "BB_OK_MONTHS",
            "part des mois sans retard au bureau de crédit",
            "",
            "months without DPD",
            "value",
            "-",
            _BB,
        ),
        Measure(
            "BB_CLOSED_MONTHS",
            "part des mois où le crédit déclaré était clos",
            "",
            "closed months",
            source=_BB,
        ),
        Measure(
            "BB_UNKNOWN_MONTHS",
            "part des mois de statut inconnu au bureau de crédit",
            "",
            "unknown-status months",
            source=_BB,
        ),
        Measure(
            "BB_WORST_STATUS",
            "pire niveau de retard au bureau de crédit, de 0 à 5",
            "",
            "worst DPD status (0-5)",
            "value",
            "+",
            _BB,
        ),
        Measure(
            "BB_MONTHS_12M",
            "mois d'historique récent au bureau de crédit",
            "mois",
            "months in the last 12",
            source=_BB,
        ),
        Measure(
            "BB_DPD_MONTHS_12M",
            "part des 12 derniers mois en retard au bureau de crédit",
            "",
            "DPD months in the last 12",
            "value",
            "+",
            _BB,
        ),
        Measure(
            "BB_WORST_STATUS_12M",
            "pire niveau de retard au bureau de crédit sur 12 mois, de 0 à 5",
            "",
            "worst DPD status in the last 12 months",
            "value",
            "+",
            _BB,
        ),
        Measure(
            "BB_EVER_DPD",
            "crédits déclarés ayant connu un retard",
            "",
            "credits ever past due",
            "flag",
            "+",
            _BB,
        ),
        Measure(
            "BB_LAST_DPD_MONTH",
            "dernier mois en retard au bureau de crédit",
            "mois",
            "latest month with a DPD status",
            "value",
            "+",
            _BB,
        ),
    ),
    aggregates={
        "": [
            ("count",),
            ("min", "DAYS_CREDIT"),
            ("max", "DAYS_CREDIT"),
            ("mean", "DAYS_CREDIT"),
            ("std", "DAYS_CREDIT"),
            ("max", "CREDIT_DAY_OVERDUE"),
            ("mean", "CREDIT_DAY_OVERDUE"),
            ("min", "DAYS_CREDIT_ENDDATE"),
            ("max", "DAYS_CREDIT_ENDDATE"),
            ("mean", "DAYS_CREDIT_ENDDATE"),
            ("mean", "DAYS_ENDDATE_FACT"),
            ("mean", "DAYS_CREDIT_UPDATE"),
            ("max", "DAYS_CREDIT_UPDATE"),
            ("mean", "DURATION"),
            ("mean", "AMT_CREDIT_MAX_OVERDUE"),
            ("max", "AMT_CREDIT_MAX_OVERDUE"),
            ("sum", "CNT_CREDIT_PROLONG"),
            ("mean", "AMT_CREDIT_SUM"),
            ("max", "AMT_CREDIT_SUM"),
            ("sum", "AMT_CREDIT_SUM"),
            ("mean", "AMT_CREDIT_SUM_DEBT"),
            ("max", "AMT_CREDIT_SUM_DEBT"),
            ("sum", "AMT_CREDIT_SUM_DEBT"),
            ("mean", "AMT_CREDIT_SUM_LIMIT"),
            ("sum", "AMT_CREDIT_SUM_LIMIT"),
            ("mean", "AMT_CREDIT_SUM_OVERDUE"),
            ("sum", "AMT_CREDIT_SUM_OVERDUE"),
            ("mean", "AMT_ANNUITY"),
            ("max", "AMT_ANNUITY"),
            ("mean", "DEBT_RATIO"),
            ("rate", "AMT_CREDIT_SUM_DEBT", "AMT_CREDIT_SUM"),
            ("mean", "IS_ACTIVE"),
            ("mean", "SOLD_OR_BAD_DEBT"),
            ("mean", "OVERDUE"),
            ("mean", "PROLONGED"),
            ("mean", "CONSUMER_CREDIT"),
            ("mean", "CREDIT_CARD"),
            ("mean", "CAR_LOAN"),
            ("mean", "MORTGAGE"),
            ("mean", "MICROLOAN"),
            ("sum", "MICROLOAN"),
            ("mean", "BB_MONTHS"),
            ("max", "BB_MONTHS"),
            ("sum", "BB_MONTHS"),
            ("min", "BB_FIRST_MONTH"),
            ("rate", "BB_DPD_MONTHS", "BB_MONTHS"),
            ("rate", "BB_DPD30_MONTHS", "BB_MONTHS"),
            ("rate", "BB_OK_MONTHS", "BB_MONTHS"),
            ("rate", "BB_CLOSED_MONTHS", "BB_MONTHS"),
            ("rate", "BB_UNKNOWN_MONTHS", "BB_MONTHS"),
            ("max", "BB_WORST_STATUS"),
            ("mean", "BB_WORST_STATUS"),
            ("mean", "BB_EVER_DPD"),
            ("sum", "BB_EVER_DPD"),
            ("sum", "BB_MONTHS_12M"),
            ("rate", "BB_DPD_MONTHS_12M", "BB_MONTHS_12M"),
            ("max", "BB_WORST_STATUS_12M"),
        ],
        "ACTIVE": [
            ("count",),
            ("min", "DAYS_CREDIT"),
            ("max", "DAYS_CREDIT"),
            ("mean", "DAYS_CREDIT"),
            ("min", "DAYS_CREDIT_ENDDATE"),
            ("max", "DAYS_CREDIT_ENDDATE"),
            ("mean", "DAYS_CREDIT_ENDDATE"),
            ("max", "CREDIT_DAY_OVERDUE"),
            ("mean", "CREDIT_DAY_OVERDUE"),
            ("mean", "DAYS_CREDIT_UPDATE"),
            ("max", "AMT_CREDIT_MAX_OVERDUE"),
            ("sum", "CNT_CREDIT_PROLONG"),
            ("mean", "AMT_CREDIT_SUM"),
            ("max", "AMT_CREDIT_SUM"),
            ("sum", "AMT_CREDIT_SUM"),
            ("mean", "AMT_CREDIT_SUM_DEBT"),
            ("max", "AMT_CREDIT_SUM_DEBT"),
            ("sum", "AMT_CREDIT_SUM_DEBT"),
            ("sum", "AMT_CREDIT_SUM_LIMIT"),
            ("max", "AMT_CREDIT_SUM_OVERDUE"),
            ("sum", "AMT_CREDIT_SUM_OVERDUE"),
            ("sum", "AMT_ANNUITY"),
            ("mean", "DEBT_RATIO"),
            ("max", "DEBT_RATIO"),
            ("rate", "AMT_CREDIT_SUM_DEBT", "AMT_CREDIT_SUM"),
            ("mean", "OVERDUE"),
            ("mean", "CREDIT_CARD"),
            ("mean", "MICROLOAN"),
            ("mean", "BB_MONTHS"),
            ("rate", "BB_DPD_MONTHS", "BB_MONTHS"),
            ("max", "BB_WORST_STATUS"),
            ("mean", "BB_EVER_DPD"),
            ("rate", "BB_DPD_MONTHS_12M", "BB_MONTHS_12M"),
            ("max", "BB_WORST_STATUS_12M"),
        ],
        "CLOSED": [
            ("count",),
            ("min", "DAYS_CREDIT"),
            ("max", "DAYS_CREDIT"),
            ("mean", "DAYS_CREDIT"),
            ("max", "DAYS_ENDDATE_FACT"),
            ("mean", "DAYS_ENDDATE_FACT"),
            ("mean", "ENDDATE_GAP"),
            ("mean", "DURATION"),
            ("mean", "DAYS_CREDIT_UPDATE"),
            ("max", "AMT_CREDIT_MAX_OVERDUE"),
            ("sum", "CNT_CREDIT_PROLONG"),
            ("mean", "AMT_CREDIT_SUM"),
            ("max", "AMT_CREDIT_SUM"),
            ("sum", "AMT_CREDIT_SUM"),
            ("mean", "AMT_ANNUITY"),
            ("mean", "BB_MONTHS"),
            ("rate", "BB_DPD_MONTHS", "BB_MONTHS"),
            ("max", "BB_WORST_STATUS"),
            ("mean", "BB_EVER_DPD"),
        ],
        "365D": [
            ("count",),
            ("mean", "AMT_CREDIT_SUM"),
            ("sum", "AMT_CREDIT_SUM"),
            ("sum", "AMT_CREDIT_SUM_DEBT"),
            ("max", "CREDIT_DAY_OVERDUE"),
            ("mean", "CREDIT_CARD"),
            ("mean", "MICROLOAN"),
        ],
        **{
            key: [
                ("count",),
                ("sum", "IS_ACTIVE"),
                ("sum", "AMT_CREDIT_SUM_DEBT"),
                ("sum", "AMT_CREDIT_SUM_OVERDUE"),
                ("max", "AMT_CREDIT_MAX_OVERDUE"),
            ]
            for key, *_ in _BUREAU_TYPES
        },
        "LATE": [("max", "BB_LAST_DPD_MONTH")],
    },
    rate_noun={"AMT_CREDIT_SUM_DEBT": "part des montants déclarés restant à rembourser"},
    labels={
        "BURO_LATE_BB_LAST_DPD_MONTH_MAX": "Date du dernier retard déclaré au bureau de crédit"
    },
)

#: Grains in the order their features are laid out.
GRAINS: tuple[Grain, ...] = (
    _BUREAU,
    _PREVIOUS,
    _PREVIOUS_RATES,
    _POS_MONTHS,
    _POS_LOANS,
    _INSTALMENTS,
    _CARD_MONTHS,
    _CARDS,
)


def history_features() -> list[Feature]:
    """Every per-client aggregate of the history tables, in output order."""
    features = [f for grain in GRAINS for f in grain.features()]
    names = [f.name for f in features]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:  # a catalog edit gave two aggregates one name: fail at import, not in a model
        raise ValueError(f"duplicate feature names: {duplicates}")
    return features
