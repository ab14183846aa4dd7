"""Request and response models of the API; the application's fields come from ``schema.py``.

A posted application has the columns of ``application_test`` (the table declaration in
:mod:`credit_scoring.data.schema`), one field each, typed by the declared dtype:

- ``int64`` columns are required JSON integers (the real files never miss one);
- ``float64`` and ``object`` columns are required when the measured profile
  (``homecredit_profile.json``) shows no missing value, optional (null or absent = missing)
  otherwise; :data:`RARELY_MISSING` lists the columns the profile's sample never saw missing
  but the full files sometimes do;
- categories (``object``) accept the levels of the profile, of the validation rules, and
  :data:`EXTRA_LEVELS` (levels too rare for the profile's 5,000-row sample);
- ranges come from the validation rules of :mod:`credit_scoring.data.validation` (the same
  rules ingestion applies), plus :data:`PLAUSIBLE` bounds that refuse typos such as an
  amount in cents;
- numbers must be finite (JSON ``NaN`` / ``Infinity`` are refused), unknown fields are
  refused (a misspelt field would silently become a missing value).

Examples
--------
>>> Application = application_model()
>>> sorted(Application.model_fields)[:2]
['AMT_ANNUITY', 'AMT_CREDIT']
>>> "SK_ID_CURR" in Application.model_fields, len(Application.model_fields)
(False, 120)
>>> Application.model_fields["AMT_CREDIT"].is_required()
True
>>> Application.model_fields["EXT_SOURCE_1"].is_required()
False
>>> app = Application.model_validate(EXAMPLE_APPLICATION)
>>> app.NAME_CONTRACT_TYPE
'Cash loans'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
)

import credit_scoring.data as _data
from credit_scoring.data.schema import CLIENT_ID, DAYS_SENTINEL, TABLES, Column
from credit_scoring.data.validation import RULES
from credit_scoring.features.engine import SIDE_TABLES

__all__ = [
    "EXAMPLE_APPLICATION",
    "EXTRA_LEVELS",
    "PLAUSIBLE",
    "RARELY_MISSING",
    "FieldSpec",
    "application_model",
    "field_specs",
]

#: The table a posted application mirrors.
TABLE = "application_test"
#: Largest client id: SK_ID_CURR is an int64.
MAX_CLIENT_ID = 2**63 - 1


def _whole(value: Any) -> Any:
    """A JSON number with no fractional part (``4766.0``) is an integer, as JSON Schema says;
    any other value is left to the strict integer check (a string or ``4.5`` is refused).

    Examples
    --------
    >>> _whole(4766.0), _whole(4.5), _whole("7"), _whole(True)
    (4766, 4.5, '7', True)
    """
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_CLIENT_ID:
        return int(value)
    return value


#: A strict integer that also takes integral JSON numbers.
Whole = BeforeValidator(_whole)

#: Category levels of the full Kaggle files that the profile's 5,000-row sample does not show
#: (the twin generator adds the same ones, see ``data/twin/_clients.py``).
EXTRA_LEVELS: dict[str, tuple[str, ...]] = {
    "CODE_GENDER": ("XNA",),
    "NAME_INCOME_TYPE": ("Unemployed", "Student", "Businessman", "Maternity leave"),
    "NAME_FAMILY_STATUS": ("Unknown",),
    "ORGANIZATION_TYPE": ("Industry: type 8",),
}
#: Missing in a handful of rows of the full files although the profile's sample has none.
RARELY_MISSING: frozenset[str] = frozenset({"CNT_FAM_MEMBERS", "DAYS_LAST_PHONE_CHANGE"})

_CENTURY_DAYS = 36_525
#: Plausibility bounds beyond the data rules, (column pattern, minimum, maximum): about ten
#: times the largest real value, so they refuse typos, never a real client. Applicants are
#: adults (18 to 100 years old).
PLAUSIBLE: tuple[tuple[str, float | None, float | None], ...] = (
    (r"AMT_INCOME_TOTAL", None, 1e9),
    (r"AMT_(CREDIT|ANNUITY|GOODS_PRICE)", None, 1e8),
    (r"CNT_CHILDREN", None, 30),
    (r"CNT_FAM_MEMBERS", 1, 40),
    (r"DAYS_BIRTH", -_CENTURY_DAYS, -round(18 * 365.25)),
    (r"DAYS_(EMPLOYED|REGISTRATION|ID_PUBLISH|LAST_PHONE_CHANGE)", -_CENTURY_DAYS, None),
    (r"OWN_CAR_AGE", None, 100),
    (r"REGION_RATING_CLIENT(_W_CITY)?", 1, 3),
    (r"\w+_CNT_SOCIAL_CIRCLE|AMT_REQ_CREDIT_BUREAU_\w+", None, 1000),
)

#: Bounds of a posted history record's numbers, (column pattern, minimum, maximum): ten times
#: beyond any value of the full Kaggle tables (a sentinel 365243 included), and small enough
#: for the batch's exact arithmetic (amounts in DECIMAL(18, 3), sort keys such as
#: ``DAYS_DECISION * 1e10 + SK_ID_PREV`` in BIGINT). The first matching pattern applies.
HISTORY_PLAUSIBLE: tuple[tuple[str, float, float], ...] = (
    (r"SK_ID_\w+", 1, 1e12),
    (r"(DAYS|MONTHS)_\w+", -1e6, 1e6),
    (r"AMT_\w+", -1e10, 1e10),
    (r"CNT_\w+", -1e5, 1e5),
    (r"\w+", -1e9, 1e9),
)


@cache
def _profile(table: str = "application_train") -> dict[str, Any]:
    path = Path(_data.__file__).with_name("homecredit_profile.json")
    columns: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["tables"][table][
        "columns"
    ]
    return columns


@dataclass(frozen=True)
class FieldSpec:
    """What the API accepts for one application column.

    Attributes
    ----------
    name, dtype, description
        From the table declaration.
    required
        Must be present and not null.
    levels
        Accepted levels of a category (``object`` columns).
    ge, gt, le, lt
        Bounds of a number.
    days_sentinel
        ``DAYS_EMPLOYED``: at most 0, or the 365243 "no date" sentinel.
    checks
        Validation-rule checks the API cannot express as bounds or levels: run as is.
    """

    name: str
    dtype: str
    description: str
    required: bool
    levels: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    days_sentinel: bool = False
    checks: tuple[Any, ...] = ()


def _tighter(current: float | None, new: float | None, lower: bool) -> float | None:
    if new is None:
        return current
    if current is None:
        return new
    return max(current, new) if lower else min(current, new)


def _spec(column: Column, table: str = TABLE) -> FieldSpec:
    application = table == TABLE
    profile = _profile("application_train" if application else table).get(column.name, {})
    missing = float(profile.get("missing_rate", 0.0))
    required = column.dtype == "int64" or (missing == 0.0 and column.name not in RARELY_MISSING)
    bounds: dict[str, float | None] = {"ge": None, "gt": None, "le": None, "lt": None}
    levels: list[str] = []
    days_sentinel = False
    checks: list[Any] = []
    for rule in RULES:
        if not rule.applies_to(table, column.name, column.dtype):
            continue
        check = rule.check()
        stats = dict(check.statistics or {})
        name = check.name
        if name == "isin" and column.dtype == "object":
            levels += [str(v) for v in stats["allowed_values"]]
        elif name == "isin" and _contiguous(stats["allowed_values"]):
            allowed = sorted(stats["allowed_values"])
            bounds["ge"] = _tighter(bounds["ge"], allowed[0], True)
            bounds["le"] = _tighter(bounds["le"], allowed[-1], False)
        elif name in ("greater_than", "greater_than_or_equal_to"):
            key = "gt" if name == "greater_than" else "ge"
            bounds[key] = _tighter(bounds[key], stats["min_value"], True)
        elif name in ("less_than", "less_than_or_equal_to"):
            key = "lt" if name == "less_than" else "le"
            bounds[key] = _tighter(bounds[key], stats["max_value"], False)
        elif (
            name == "in_range" and stats.get("include_min", True) and stats.get("include_max", True)
        ):
            bounds["ge"] = _tighter(bounds["ge"], stats["min_value"], True)
            bounds["le"] = _tighter(bounds["le"], stats["max_value"], False)
        elif name == "le0_or_sentinel":
            days_sentinel = True
        else:  # a rule the API cannot state as bounds: it still applies, as is
            checks.append(check)
    if column.dtype == "object" and (application or not levels):
        # A history table's level lists of the profile are samples: its rules' levels are
        # the whole list, or the level is free text (a new level is missing for the model).
        levels += [str(v) for v in profile.get("values", {})] if application else []
        levels += EXTRA_LEVELS.get(column.name, ()) if application else []
    if application:
        plausible = [(lo, hi) for p, lo, hi in PLAUSIBLE if re.fullmatch(p, column.name)]
    elif column.dtype != "object":
        plausible = [
            next((lo, hi) for p, lo, hi in HISTORY_PLAUSIBLE if re.fullmatch(p, column.name))
        ]
    else:
        plausible = []
    for low, high in plausible:
        bounds["ge"] = _tighter(bounds["ge"], low, True)
        if not days_sentinel:
            bounds["le"] = _tighter(bounds["le"], high, False)
    # A strict bound made redundant by a tighter inclusive one only clutters the schema.
    if bounds["lt"] is not None and bounds["le"] is not None and bounds["le"] < bounds["lt"]:
        bounds["lt"] = None
    if bounds["gt"] is not None and bounds["ge"] is not None and bounds["ge"] > bounds["gt"]:
        bounds["gt"] = None
    return FieldSpec(
        name=column.name,
        dtype=column.dtype,
        # The Kaggle descriptions carry a cp1252 ellipsis (\x85).
        description=column.description.replace("\x85", "…"),
        required=required,
        levels=tuple(dict.fromkeys(levels)),
        days_sentinel=days_sentinel,
        checks=tuple(checks),
        **bounds,
    )


def _contiguous(values: list[Any]) -> bool:
    ints = sorted(v for v in values if isinstance(v, int))
    return len(ints) == len(values) and ints == list(range(ints[0], ints[-1] + 1))


@cache
def field_specs() -> tuple[FieldSpec, ...]:
    """One :class:`FieldSpec` per column of application_test but ``SK_ID_CURR``, in order.

    Examples
    --------
    >>> spec = {s.name: s for s in field_specs()}
    >>> spec["HOUR_APPR_PROCESS_START"].ge, spec["HOUR_APPR_PROCESS_START"].le
    (0, 23)
    >>> spec["EXT_SOURCE_2"].ge, spec["EXT_SOURCE_2"].le, spec["EXT_SOURCE_2"].required
    (0, 1, False)
    >>> spec["DAYS_EMPLOYED"].days_sentinel, spec["FLAG_MOBIL"].le
    (True, 1)
    """
    return tuple(_spec(c) for c in TABLES[TABLE].columns if c.name != CLIENT_ID)


def _days_or_sentinel(value: int) -> int:
    if value > 0 and value != DAYS_SENTINEL:
        raise ValueError(f"must be <= 0 (days before the application) or {DAYS_SENTINEL} (no date)")
    return value


def _run_check(check: Any) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        import pandas as pd

        if value is not None and not bool(check(pd.Series([value])).check_passed):
            raise ValueError(f"fails the data rule {check.error or check.name}")
        return value

    return validate


def _annotation(spec: FieldSpec) -> Any:
    description = spec.description.rstrip(". ") + "."
    if not spec.required:
        description += " Optional: null or absent when unknown."
    extra: dict[str, Any] = {}
    validators: list[Any] = []
    if spec.levels:
        base: Any = Literal[spec.levels]
        constraints: dict[str, Any] = {}
    elif spec.dtype == "object":
        base, constraints = str, {"strict": True, "max_length": 200}
    else:
        kind = int if spec.dtype == "int64" else float
        constraints = {"strict": True}
        if kind is float:
            constraints["allow_inf_nan"] = False
        for key in ("ge", "gt", "le", "lt"):
            bound = getattr(spec, key)
            if bound is not None:
                constraints[key] = kind(bound)
        if kind is int:  # the columns are int64
            if "le" not in constraints and "lt" not in constraints:
                constraints["le"] = MAX_CLIENT_ID
            if "ge" not in constraints and "gt" not in constraints:
                constraints["ge"] = -(2**63)
        if spec.days_sentinel:
            constraints["le"] = DAYS_SENTINEL
            extra["anyOf"] = [{"maximum": 0}, {"const": DAYS_SENTINEL}]
            validators.append(AfterValidator(_days_or_sentinel))
        validators += [AfterValidator(_run_check(c)) for c in spec.checks]
        if kind is int:
            validators.insert(0, Whole)
        base = kind
    inner = (
        Annotated[base, Field(**constraints), *validators] if constraints or validators else base
    )
    field = Field(
        ... if spec.required else None,
        title=spec.name,
        description=description,
        json_schema_extra=extra or None,
    )
    return (inner if spec.required else inner | None), field


@cache
def application_model() -> type[BaseModel]:
    """The model of one posted application, built once from :func:`field_specs`."""
    fields = {spec.name: _annotation(spec) for spec in field_specs()}
    model: type[BaseModel] = create_model(
        "Application",
        __config__=ConfigDict(
            extra="forbid",
            title="Application",
            json_schema_extra={"examples": [EXAMPLE_APPLICATION]},
        ),
        __doc__=(
            "One loan application: the columns of Home Credit's application_test (without "
            "SK_ID_CURR, given as client_id). Required fields must be present and not null; "
            "optional fields may be null or absent (missing). Unknown fields are refused."
        ),
        **fields,
    )
    return model


#: The application fields a what-if may change (the scoring service's ``WHAT_IF_FIELDS``).
WHAT_IF_FIELDS = ("AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "AMT_INCOME_TOTAL")


@cache
def what_if_model() -> type[BaseModel]:
    """The body of a what-if: some amounts of the stored application changed, each checked
    as in a posted application (absent: unchanged)."""
    specs = {spec.name: spec for spec in field_specs()}
    fields: dict[str, Any] = {}
    for name in WHAT_IF_FIELDS:
        # A required field may be changed, not removed: no null for it.
        annotation, info = _annotation(specs[name])
        fields[name] = (
            annotation,
            Field(None, title=name, description=f"{info.description} Absent: unchanged."),
        )
    model: type[BaseModel] = create_model(
        "WhatIfRequest",
        __config__=ConfigDict(
            extra="forbid",
            title="WhatIfRequest",
            json_schema_extra={"examples": [{"AMT_CREDIT": 250000.0, "AMT_ANNUITY": 12500.0}]},
        ),
        __doc__=(
            "Changes to a known client's stored application: amounts of the credit, annuity, "
            "goods price or income. Absent fields keep their stored value; every other field "
            "of the application stays as stored (it never leaves the server)."
        ),
        **fields,
    )
    return model


def _example(
    specs: tuple[FieldSpec, ...] | None = None, table: str = "application_train"
) -> dict[str, Any]:
    """A typical row, from the profile: the median or the most frequent level of each column
    that is rarely missing (typical, not a real client)."""
    out: dict[str, Any] = {}
    for spec in field_specs() if specs is None else specs:
        profile = _profile(table).get(spec.name, {})
        if not spec.required and float(profile.get("missing_rate", 0.0)) > 0.35:
            continue
        if spec.levels or spec.dtype == "object":
            shares = profile.get("values") or {(spec.levels or ("XNA",))[0]: 1.0}
            shares = {k: v for k, v in shares.items() if not spec.levels or k in spec.levels}
            out[spec.name] = max(shares, key=shares.get)
            continue
        median = float(profile.get("quantiles", {}).get("0.5", profile.get("min", 0.0)))
        for key, clip in (("ge", max), ("le", min)):
            bound = getattr(spec, key)
            if bound is not None:
                median = clip(median, float(bound))
        if spec.gt is not None and median <= spec.gt:
            median = spec.gt + 1
        if spec.lt is not None and median >= spec.lt:
            median = spec.lt - 1
        out[spec.name] = round(median) if spec.dtype == "int64" else round(median, 6)
    return out


#: The example of the OpenAPI page (and of the tests): a typical, invented application.
EXAMPLE_APPLICATION: dict[str, Any] = _example()


# --------------------------------------------------------------------------- posted history

#: Most records of one table in a posted history.
MAX_HISTORY_RECORDS = 2000


@cache
def history_field_specs(table: str) -> tuple[FieldSpec, ...]:
    """One :class:`FieldSpec` per column of a history table but ``SK_ID_CURR`` (the
    application's client), in order: the data rules' bounds and levels.

    Examples
    --------
    >>> spec = {s.name: s for s in history_field_specs("bureau")}
    >>> spec["SK_ID_BUREAU"].required, spec["CREDIT_ACTIVE"].levels
    (True, ('Active', 'Closed', 'Sold', 'Bad debt'))
    """
    return tuple(_spec(c, table) for c in TABLES[table].columns if c.name != CLIENT_ID)


def _model_name(table: str) -> str:
    return "".join(part[:1].upper() + part[1:].lower() for part in table.split("_")) + "Record"


@cache
def history_record_model(table: str) -> type[BaseModel]:
    """The model of one record of a history table."""
    specs = history_field_specs(table)
    fields = {spec.name: _annotation(spec) for spec in specs}
    name = _model_name(table)
    model: type[BaseModel] = create_model(
        name,
        __config__=ConfigDict(
            extra="forbid",
            title=name,
            json_schema_extra={"examples": [_example(specs, table)]},
        ),
        __doc__=(
            f"One row of Home Credit's {table} table, without SK_ID_CURR (the application's "
            "client). Required fields must be present and not null; optional fields may be "
            "null or absent. Unknown fields are refused."
        ),
        **fields,
    )
    return model


@cache
def history_model() -> type[BaseModel]:
    """A client's history posted with an application: records of each history table."""
    fields: dict[str, Any] = {
        table: (
            list[history_record_model(table)] | None,  # type: ignore[misc]
            Field(
                None,
                max_length=MAX_HISTORY_RECORDS,
                description=(
                    f"Rows of {table} (at most {MAX_HISTORY_RECORDS}); absent or null: none."
                    + (
                        " As in the batch, months of a credit that is not among the posted "
                        "bureau records count for nothing."
                        if table == "bureau_balance"
                        else ""
                    )
                ),
            ),
        )
        for table in SIDE_TABLES
    }
    bureau = _example(history_field_specs("bureau"), "bureau")
    balance = _example(history_field_specs("bureau_balance"), "bureau_balance")
    balance["SK_ID_BUREAU"] = bureau["SK_ID_BUREAU"]
    model: type[BaseModel] = create_model(
        "History",
        __config__=ConfigDict(
            extra="forbid",
            title="History",
            json_schema_extra={"examples": [{"bureau": [bureau], "bureau_balance": [balance]}]},
        ),
        __doc__=(
            "The client's credit history as the bank's systems hold it, in the columns of the "
            "Home Credit tables. When posted, it replaces the stored history of the client: "
            "the history features are computed from these records alone, by the batch's SQL."
        ),
        **fields,
    )
    return model


# --------------------------------------------------------------------------- requests

CLIENT_ID_DESCRIPTION = "SK_ID_CURR, the bank's pseudonymous client key."
ClientId = Annotated[
    int,
    Field(strict=True, gt=0, le=MAX_CLIENT_ID, description=CLIENT_ID_DESCRIPTION),
    Whole,
]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_LONG_NUMBER = re.compile(r"\d(?:[\s.-]?\d){9,}")


def _no_personal_data(text: str) -> str:
    """Refuse the obvious personal data in an advisor's free text.

    >>> _no_personal_data("Apport de 20 000 € confirmé")
    'Apport de 20 000 € confirmé'
    >>> _no_personal_data("rappeler au 06 12 34 56 78")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: looks like a phone, account or identity number: ...
    """
    if _EMAIL.search(text):
        raise ValueError(
            "looks like an e-mail address: the decision log must hold no personal data"
        )
    if _LONG_NUMBER.search(text):
        raise ValueError(
            "looks like a phone, account or identity number: the decision log must hold no "
            "personal data"
        )
    return text


class AdvisorDecisionRequest(BaseModel):
    """An advisor's decision on a client, typically one the model sent to review."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "grant",
                    "reason": "Apport personnel de 20 % confirmé, CDI vérifié.",
                    "advisor_id": "adv-042",
                }
            ]
        },
    )

    decision: Literal["grant", "refuse"] = Field(description="The advisor's decision.")
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=r"\S"),
    ] = Field(
        description=(
            "Why (required, 1 to 1,000 characters). Stored in the decision log: write the "
            "business reason only, never personal data (no names, contact details, "
            "identity or account numbers, health or family details)."
        )
    )
    advisor_id: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
        ]
        | None
    ) = Field(
        default=None,
        description="The advisor's pseudonymous code (letters, digits, '_', '.', '-'), not a name.",
    )
    decision_id: Annotated[int, Field(strict=True, gt=0, le=MAX_CLIENT_ID), Whole] | None = Field(
        default=None,
        description=(
            "The decision_id of the model answer this decision rules on; default: the "
            "client's latest model answer."
        ),
    )

    @field_validator("reason")
    @classmethod
    def _reason_has_no_personal_data(cls, value: str) -> str:
        return _no_personal_data(value)


def request_models(max_clients: int, max_applications: int) -> dict[str, type[BaseModel]]:
    """The request models whose limits are settings: batch of ids, posted application(s)."""
    Application = application_model()
    example = {"client_id": 100001, "application": EXAMPLE_APPLICATION}

    ApplicationRequest = create_model(
        "ApplicationRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
        __doc__=(
            "A posted application. With a client_id, the client's stored history (bureau, "
            "previous applications, payments) is joined to it; without, it is scored as a "
            "new client without history. A posted history replaces the stored one."
        ),
        client_id=(ClientId | None, Field(default=None, description=CLIENT_ID_DESCRIPTION)),
        application=(Application, Field(description="The application's fields.")),
        history=(
            history_model() | None,
            Field(
                default=None,
                description=(
                    "The client's history records, when the bank's systems send them: they "
                    "replace the stored history. Absent: the stored history of client_id (none "
                    "for a new client)."
                ),
            ),
        ),
    )
    ApplicationBatchRequest = create_model(
        "ApplicationBatchRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Up to {max_applications} posted applications, scored together.",
        applications=(
            list[ApplicationRequest],  # type: ignore[valid-type]
            Field(min_length=1, max_length=max_applications),
        ),
    )
    ClientBatchRequest = create_model(
        "ClientBatchRequest",
        __config__=ConfigDict(
            extra="forbid", json_schema_extra={"examples": [{"client_ids": [100001, 100005]}]}
        ),
        __doc__=f"Up to {max_clients} clients of the production batch.",
        client_ids=(list[ClientId], Field(min_length=1, max_length=max_clients)),
    )
    return {
        "ApplicationRequest": ApplicationRequest,
        "ApplicationBatchRequest": ApplicationBatchRequest,
        "ClientBatchRequest": ClientBatchRequest,
    }


# --------------------------------------------------------------------------- responses

DecisionName = Literal["grant", "review", "refuse"]


class ReasonOut(BaseModel):
    """A feature that pushed the score, in French."""

    feature: str = Field(description="Feature name (for systems).")
    label: str = Field(description="Its French label.")
    value: bool | int | float | str | None = Field(description="The client's value.")
    value_text: str = Field(description="The value with its unit, in French.")
    contribution: float = Field(description="SHAP value on the log-odds (> 0 raises the risk).")
    direction: Literal["augmente", "diminue"] = Field(description="Effect on the risk.")
    sentence: str = Field(description="The reason as a client reads it.")


class ScoreOut(BaseModel):
    """The decision contract's answer for one client."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": 100001,
                    "probability_default": 0.0612,
                    "risk_score": 37.4,
                    "decision": "grant",
                    "decision_label": "Accordé",
                    "threshold": 0.0818,
                    "review_band": [45.0, 55.0],
                    "model_version": "credit-scoring/3",
                    "reasons": [],
                    "decision_id": 1234,
                }
            ]
        }
    )

    client_id: int | None = Field(description="SK_ID_CURR; null for an anonymous application.")
    probability_default: float = Field(ge=0, le=1, description="Calibrated probability.")
    risk_score: float = Field(ge=0, le=100, description="0-100, the threshold at 50.")
    decision: DecisionName = Field(
        description="grant below the review band, review inside it (the advisor decides), "
        "refuse above."
    )
    decision_label: str = Field(description="The decision in French.")
    threshold: float = Field(description="The cost-optimal probability threshold.")
    review_band: list[float] = Field(description="Score band of the review decision.")
    model_version: str = Field(description="The registered model version that answered.")
    reasons: list[ReasonOut] = Field(
        description="The features that pushed the score most (with explain=true), else empty."
    )
    decision_id: int = Field(description="This answer's entry in the decision log.")


class BatchOut(BaseModel):
    """Answers in the order asked."""

    count: int
    results: list[ScoreOut]


class ExplanationOut(BaseModel):
    """Why the model scored the client as it did (SHAP on the model's log-odds)."""

    client_id: int
    model_version: str
    source: Literal["precomputed", "computed"] = Field(
        description="precomputed: looked up in the explain stage's batch; computed: now."
    )
    probability_default: float
    risk_score: float
    decision: DecisionName
    base_value: float = Field(description="The model's average log-odds.")
    log_odds: float = Field(description="base_value plus every SHAP value.")
    reasons: list[ReasonOut]
    shap_values: dict[str, float] = Field(description="SHAP value of every feature.")
    value_texts: dict[str, str] = Field(description="Formatted values of the main features.")


class CounterfactualOut(BaseModel):
    """The smallest change of amount and term that gets the application granted."""

    client_id: int | None
    feasible: bool
    changes: dict[str, list[float]] = Field(
        description="Changed inputs, name: [old, new] (AMT_CREDIT, AMT_GOODS_PRICE, "
        "AMT_ANNUITY, term_months)."
    )
    new_probability: float | None
    new_risk_score: float | None
    new_decision: str | None
    message: str = Field(description="The answer in French.")
    probability: float | None
    risk_score: float | None
    decision: str
    lever: str | None
    candidates: int
    seconds: float
    model_version: str


class ScorecardAttributeOut(BaseModel):
    """One feature of the scorecard for this client: the bin the client falls in and what it
    is worth."""

    feature: str = Field(description="Feature name (for systems).")
    label: str = Field(description="Its French label.")
    bin: str = Field(description="The client's bin, in French (« [0,35 ; 0,52[ », « manquant »).")
    value: bool | int | float | str | None = Field(
        description="The client's value; null when missing."
    )
    points: float = Field(description="The bin's points (> 0 raises the risk, < 0 lowers it).")


class ScorecardOut(BaseModel):
    """A second reading of a known client by the scorecard challenger. It decides nothing:
    the decision is the served model's (``GET /v1/clients/{client_id}/score``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": 100001,
                    "challenger": True,
                    "note": (
                        "Deuxième lecture : grille de score (modèle challenger). Elle ne "
                        "décide pas ; la décision vient du modèle retenu."
                    ),
                    "total_points": 41.3,
                    "score": 41.3,
                    "decision": "grant",
                    "decision_label": "Accordé",
                    "review_band": [45.0, 55.0],
                    "threshold": 0.0923,
                    "points_to_double_odds": 10.0,
                    "base_points": 47.9,
                    "attributes": [
                        {
                            "feature": "EXT_SOURCE_3",
                            "label": "Score externe 3",
                            "bin": "≥ 0,53",
                            "value": 0.71,
                            "points": -8.2,
                        },
                        {
                            "feature": "AGE_YEARS",
                            "label": "Âge (années)",
                            "bin": "< 32,5",
                            "value": 28.4,
                            "points": 1.6,
                        },
                    ],
                }
            ]
        }
    )

    client_id: int = Field(description=CLIENT_ID_DESCRIPTION)
    challenger: Literal[True] = Field(
        description="Always true: a challenger's reading, not the decision."
    )
    note: str = Field(description="What this reading is, in French.")
    total_points: float = Field(description="base_points plus the points of every attribute.")
    score: float = Field(
        ge=0, le=100, description="total_points clipped to 0-100 (50 at the threshold)."
    )
    decision: DecisionName = Field(
        description="What the scorecard would say with the served model's review band."
    )
    decision_label: str = Field(description="That decision in French.")
    review_band: list[float] = Field(description="Score band of the review decision.")
    threshold: float = Field(description="The scorecard's probability threshold (50 points).")
    points_to_double_odds: float = Field(description="Points that double the odds of default.")
    base_points: float = Field(description="The points every client starts from.")
    attributes: list[ScorecardAttributeOut] = Field(
        description="One per feature of the scorecard, largest absolute points first."
    )


class AdvisorDecisionOut(BaseModel):
    """The advisor decision as logged."""

    decision_id: int
    client_id: int
    decision: Literal["grant", "refuse"]
    model_decision: DecisionName
    model_decision_id: int
    model_version: str | None
    override: bool = Field(description="The advisor reversed a firm model decision.")
    logged_at: str


class FeatureOut(BaseModel):
    name: str
    label_fr: str


class ModelCardOut(BaseModel):
    """What is served, and how good it is."""

    model_name: str
    model_version: str
    alias: str
    threshold: float
    review_band: list[float]
    review_band_probabilities: list[float] = Field(
        description="The probabilities of default at the review band's bounds."
    )
    decision_rule: str
    data_origin: str | None = Field(description="twin (synthetic) or kaggle (real data).")
    data_note: str | None
    metrics: dict[str, Any] | None = Field(
        description="Key metrics of the training run (data/models/summary.json)."
    )
    feature_count: int
    features: list[FeatureOut]
    production_clients: int | None


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    model_loaded: bool
    model_version: str | None
    production_clients: int | None
    scores_precomputed: bool
    precomputed_explanations: bool | None
    auth: bool
    detail: str | None = None


class ClientListOut(BaseModel):
    """Ids of the production batch, in increasing order, a page at a time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"total": 3, "offset": 0, "limit": 100, "client_ids": [100001, 100005, 100013]}
            ]
        }
    )

    total: int = Field(ge=0, description="Clients matching the prefix (all pages).")
    offset: int = Field(ge=0, description="Position of the first id of this page.")
    limit: int = Field(ge=1, description="Largest page asked.")
    client_ids: list[int] = Field(description="SK_ID_CURR of this page's clients.")


class ClientApplicationOut(BaseModel):
    """The fields of a client's stored application an advisor needs (GDPR minimisation:
    the credit asked for and the income, nothing on identity, family or contact)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": 100001,
                    "NAME_CONTRACT_TYPE": "Cash loans",
                    "AMT_CREDIT": 568800.0,
                    "AMT_ANNUITY": 20560.5,
                    "AMT_GOODS_PRICE": 450000.0,
                    "AMT_INCOME_TOTAL": 135000.0,
                }
            ]
        }
    )

    client_id: int = Field(description=CLIENT_ID_DESCRIPTION)
    NAME_CONTRACT_TYPE: str | None = Field(description="Cash or revolving loan.")
    AMT_CREDIT: float | None = Field(description="Credit amount asked for.")
    AMT_ANNUITY: float | None = Field(description="Loan annuity.")
    AMT_GOODS_PRICE: float | None = Field(description="Price of the goods financed.")
    AMT_INCOME_TOTAL: float | None = Field(description="Income of the client.")


class GroupStatsOut(BaseModel):
    """Aggregates of one feature over a group of clients (never a row)."""

    count: int = Field(ge=0, description="Clients of the group with a value.")
    missing: int = Field(ge=0, description="Clients of the group without a value.")
    mean: float | None = Field(description="Mean; null when the group is too small.")
    quantiles: dict[str, float] = Field(
        description="Value at the levels 0.05, 0.10, ..., 0.95 (keys '0.05' ... '0.95'); "
        "empty when the group has fewer than 10 values (no extreme is ever given)."
    )


class FeatureDistributionOut(BaseModel):
    """One feature over the reference clients (the training table, whose outcome is known)."""

    feature: str
    label_fr: str = Field(description="Its French label.")
    groups: dict[Literal["all", "repaid", "defaulted"], GroupStatsOut] = Field(
        description="all: every reference client; repaid: TARGET 0; defaulted: TARGET 1."
    )


class PopulationOut(BaseModel):
    """The reference population of the comparisons."""

    clients: int = Field(ge=0, description="Reference clients (a sample of the training table).")
    default_rate: float | None = Field(description="Share of defaulters among them.")
    neighbours: int = Field(ge=1, description="Similar clients described per client.")
    key_features: list[FeatureOut] = Field(
        description="Features compared, most important first; also the similarity's features."
    )
    data_origin: str | None = Field(description="twin (synthetic) or kaggle (real data).")


class NeighboursOut(BaseModel):
    """A known client against its most similar reference clients, as aggregates only."""

    client_id: int
    k: int = Field(ge=0, description="Similar clients described.")
    default_rate: float | None = Field(description="Share of defaulters among them.")
    client_values: dict[str, float | None] = Field(
        description="The client's value of each key feature (null when missing)."
    )
    ranks: dict[str, float | None] = Field(
        description="Share of all reference clients with a lower value, per key feature."
    )
    features: dict[str, GroupStatsOut] = Field(
        description="Aggregates of each key feature over the similar clients."
    )


class ImportanceItemOut(BaseModel):
    name: str
    label_fr: str
    share: float = Field(description="Share of the total mean |SHAP| value.")


class ImportanceOut(BaseModel):
    """The model's global importance, from the explain stage."""

    features: list[ImportanceItemOut] = Field(
        description="Largest first; empty when the explain stage has not run."
    )


class ErrorOut(BaseModel):
    detail: str


class FieldErrorOut(BaseModel):
    loc: list[str | int]
    field: str = Field(description="The field at fault, dotted (application.AMT_CREDIT).")
    msg: str = Field(description="What is wrong.")
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[FieldErrorOut]
    truncated: int = Field(0, description="Errors left out of the list.")
