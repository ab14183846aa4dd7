"""Validation of the Home Credit tables: the error type and pandera schemas built from schema.py.

Every column's dtype, nullability and order, and every primary key's uniqueness, come from
:data:`credit_scoring.data.schema.TABLES`. The domain checks come from :data:`RULES`, a short list
of (column-name pattern, check) pairs applied to every table that holds a matching column. The
rules are deliberately conservative: each holds on the real Kaggle files, whose quirks are data,
not errors (365243 day sentinels, ``XNA``/``XAP`` codes, negative debts and card balances).

Examples
--------
>>> schema = dataframe_schema("bureau_balance")
>>> list(schema.columns)
['SK_ID_BUREAU', 'MONTHS_BALANCE', 'STATUS']
>>> [c.name for c in schema.columns["STATUS"].checks]
['isin']
>>> str(DataValidationError("bureau.csv", "DAYS_CREDIT", "expected int64, found text 'abc'"))
"bureau.csv, column DAYS_CREDIT: expected int64, found text 'abc'"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa

from credit_scoring.data.schema import DAYS_SENTINEL, TABLES, Dtype

__all__ = [
    "RULES",
    "DataValidationError",
    "Rule",
    "dataframe_schema",
    "failure_cases_error",
    "rule_columns",
    "validate_frame",
]

#: How many failing values an error message quotes per problem.
EXAMPLES = 3


class DataValidationError(ValueError):
    """Bad input data: which file, which column, what was expected and what was found.

    Parameters
    ----------
    file : str
        The file at fault as the user knows it, e.g. ``"bureau.csv"`` or
        ``"home-credit-default-risk.zip:bureau.csv"``.
    column : str or None
        The column at fault; ``None`` when the problem is the whole file or several columns.
    problem : str
        What was expected and what was found.
    problems : sequence of (column, problem), optional
        Every problem found when there are several (``problem`` then summarises them all).

    Examples
    --------
    >>> err = DataValidationError("bureau.csv", None, "the file is empty (0 bytes)")
    >>> err.file, err.column
    ('bureau.csv', None)
    >>> str(err)
    'bureau.csv: the file is empty (0 bytes)'
    """

    def __init__(
        self,
        file: str,
        column: str | None,
        problem: str,
        *,
        problems: Sequence[tuple[str | None, str]] = (),
    ) -> None:
        self.file = file
        self.column = column
        self.problem = problem
        self.problems: tuple[tuple[str | None, str], ...] = tuple(problems) or ((column, problem),)
        super().__init__(str(self))

    @classmethod
    def from_problems(
        cls, file: str, problems: Sequence[tuple[str | None, str]]
    ) -> DataValidationError:
        """One error for all the ``(column, problem)`` pairs found in ``file``.

        Examples
        --------
        >>> err = DataValidationError.from_problems("x.csv", [("A", "bad"), ("B", "worse")])
        >>> print(err)
        x.csv: 2 problems:
          - column A: bad
          - column B: worse
        >>> err.column is None, len(err.problems)
        (True, 2)
        """
        if len(problems) == 1:
            (column, problem), *_ = problems
            return cls(file, column, problem)
        columns = {column for column, _ in problems}
        column = next(iter(columns)) if len(columns) == 1 else None
        lines = [
            f"  - column {col}: {text}" if col is not None else f"  - {text}"
            for col, text in problems
        ]
        summary = f"{len(problems)} problems:\n" + "\n".join(lines)
        return cls(file, column, summary, problems=problems)

    def __str__(self) -> str:
        if self.column is not None and len(self.problems) == 1:
            return f"{self.file}, column {self.column}: {self.problem}"
        return f"{self.file}: {self.problem}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the attributes when the error crosses a process boundary (joblib, multiprocessing).
        return (_rebuild_error, (self.file, self.column, self.problem, self.problems))


def _rebuild_error(
    file: str, column: str | None, problem: str, problems: tuple[tuple[str | None, str], ...]
) -> DataValidationError:
    return DataValidationError(file, column, problem, problems=problems)


@dataclass(frozen=True)
class Rule:
    """A domain check for every column whose name fully matches ``columns``.

    Parameters
    ----------
    columns : str
        Regular expression, matched against the whole column name.
    check : callable
        Builds the pandera check (one fresh ``Check`` per column).
    dtypes : tuple of str
        Only columns declared with one of these dtypes get the check.
    tables : tuple of str or None
        Only these tables; ``None`` for every table.
    """

    columns: str
    check: Callable[[], pa.Check]
    dtypes: tuple[Dtype, ...] = ("int64", "float64")
    tables: tuple[str, ...] | None = None

    def applies_to(self, table: str, column: str, dtype: Dtype) -> bool:
        return (
            (self.tables is None or table in self.tables)
            and dtype in self.dtypes
            and re.fullmatch(self.columns, column) is not None
        )


def _isin(*values: object) -> Callable[[], pa.Check]:
    return lambda: pa.Check.isin(list(values))


def _le0_or_sentinel() -> pa.Check:
    return pa.Check(
        lambda s: (s <= 0) | (s == DAYS_SENTINEL),
        name="le0_or_sentinel",
        error=f"less_than_or_equal_to(0) or == {DAYS_SENTINEL}",
    )


_APPLICATIONS = ("application_train", "application_test")
_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

#: The domain rules. Each holds on the real Kaggle files; when in doubt a column gets no rule.
#: Known real negatives, hence no sign rule: bureau AMT_CREDIT_SUM_DEBT / AMT_CREDIT_SUM_LIMIT,
#: previous_application AMT_DOWN_PAYMENT / RATE_DOWN_PAYMENT, credit_card_balance AMT_BALANCE,
#: AMT_DRAWINGS_(ATM_)CURRENT and the receivables; known real positives among DAYS_*: bureau
#: DAYS_CREDIT_ENDDATE / DAYS_CREDIT_UPDATE and the previous_application due dates.
RULES: tuple[Rule, ...] = (
    # keys and codes
    Rule(r"SK_ID_\w+", lambda: pa.Check.gt(0)),
    Rule(r"TARGET", _isin(0, 1)),
    Rule(r"N?FLAG_\w+", _isin(0, 1)),
    Rule(r"FLAG_\w+", _isin("Y", "N"), dtypes=("object",)),
    Rule(r"CODE_GENDER", _isin("F", "M", "XNA"), dtypes=("object",)),
    Rule(
        r"NAME_CONTRACT_TYPE",
        _isin("Cash loans", "Revolving loans"),
        dtypes=("object",),
        tables=_APPLICATIONS,
    ),
    Rule(
        r"NAME_CONTRACT_TYPE",
        _isin("Cash loans", "Consumer loans", "Revolving loans", "XNA"),
        dtypes=("object",),
        tables=("previous_application",),
    ),
    Rule(
        r"NAME_CONTRACT_STATUS",
        _isin("Approved", "Canceled", "Refused", "Unused offer"),
        dtypes=("object",),
        tables=("previous_application",),
    ),
    Rule(r"WEEKDAY_APPR_PROCESS_START", _isin(*_WEEKDAYS), dtypes=("object",)),
    Rule(r"HOUR_APPR_PROCESS_START", lambda: pa.Check.in_range(0, 23)),
    Rule(r"CREDIT_ACTIVE", _isin("Active", "Closed", "Sold", "Bad debt"), dtypes=("object",)),
    Rule(r"STATUS", _isin("C", "X", "0", "1", "2", "3", "4", "5"), dtypes=("object",)),
    # time, as negative offsets from the application date
    Rule(r"DAYS_BIRTH", lambda: pa.Check.lt(0)),
    Rule(r"DAYS_EMPLOYED", _le0_or_sentinel),
    Rule(
        r"DAYS_(REGISTRATION|ID_PUBLISH|LAST_PHONE_CHANGE|CREDIT|ENDDATE_FACT|DECISION"
        r"|INSTALMENT|ENTRY_PAYMENT)|MONTHS_BALANCE",
        lambda: pa.Check.le(0),
    ),
    # normalised scores and shares
    Rule(
        r"EXT_SOURCE_\d|\w+_(AVG|MODE|MEDI)|REGION_POPULATION_RELATIVE|RATE_INTEREST_\w+",
        lambda: pa.Check.in_range(0, 1),
        dtypes=("float64",),
    ),
    # counts
    Rule(
        r"CNT_\w+|\w+_CNT_SOCIAL_CIRCLE|AMT_REQ_CREDIT_BUREAU_\w+|SK_DPD(_DEF)?"
        r"|CREDIT_DAY_OVERDUE|NUM_INSTALMENT_VERSION|OWN_CAR_AGE",
        lambda: pa.Check.ge(0),
    ),
    Rule(r"NUM_INSTALMENT_NUMBER", lambda: pa.Check.ge(1)),
    # amounts that are never negative in the real files
    Rule(r"AMT_INCOME_TOTAL", lambda: pa.Check.gt(0)),
    Rule(
        r"AMT_(ANNUITY|CREDIT|GOODS_PRICE|APPLICATION|CREDIT_SUM|CREDIT_SUM_OVERDUE"
        r"|CREDIT_MAX_OVERDUE|INSTALMENT|PAYMENT|CREDIT_LIMIT_ACTUAL|DRAWINGS_OTHER_CURRENT"
        r"|DRAWINGS_POS_CURRENT|INST_MIN_REGULARITY|PAYMENT_CURRENT|PAYMENT_TOTAL_CURRENT)",
        lambda: pa.Check.ge(0),
    ),
)


def rule_columns(rule: Rule) -> list[tuple[str, str]]:
    """The ``(table, column)`` pairs a rule applies to.

    Examples
    --------
    >>> rule_columns(Rule(r"STATUS", _isin("C"), dtypes=("object",)))
    [('bureau_balance', 'STATUS')]
    """
    return [
        (t.name, c.name)
        for t in TABLES.values()
        for c in t.columns
        if rule.applies_to(t.name, c.name, c.dtype)
    ]


def _check_rules(rules: Iterable[Rule]) -> None:
    # A typo in a pattern would silently check nothing: refuse dead rules at import time.
    dead = [r.columns for r in rules if not rule_columns(r)]
    if dead:
        raise ValueError(f"validation rules matching no declared column: {dead}")


_check_rules(RULES)


@cache
def dataframe_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema of ``table``, built from its declaration and :data:`RULES`.

    Columns are typed and ordered as declared, ``int64`` columns are not nullable (the real files
    have no missing integers), the primary key is unique, and no other column is allowed.

    Examples
    --------
    >>> s = dataframe_schema("bureau")
    >>> s.columns["SK_ID_BUREAU"].unique, s.columns["SK_ID_CURR"].unique
    (True, False)
    >>> s.columns["AMT_CREDIT_SUM_DEBT"].checks
    []
    """
    spec = TABLES[table]
    columns = {
        c.name: pa.Column(
            c.dtype,
            nullable=c.dtype != "int64",
            unique=c.name == spec.primary_key,
            checks=[r.check() for r in RULES if r.applies_to(table, c.name, c.dtype)],
            description=c.description,
        )
        for c in spec.columns
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=table)


def validate_frame(
    df: pd.DataFrame, table: str, file: str | None = None, *, columns: Sequence[str] | None = None
) -> None:
    """Validate ``df`` against the schema of ``table``; raise one error listing every problem.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; with a default ``RangeIndex`` the messages give 1-based data row numbers.
    table : str
        A key of :data:`~credit_scoring.data.schema.TABLES`.
    file : str, optional
        The name to blame in the error (default: the table's CSV file name).
    columns : sequence of str, optional
        Validate only these columns (the frame then holds exactly them); the structure of the
        whole table is assumed checked elsewhere. Lets large tables be checked a few columns at a
        time.

    Raises
    ------
    DataValidationError
        With every failure pandera found (``lazy=True``).

    Examples
    --------
    >>> df = pd.DataFrame({"SK_ID_BUREAU": [1, 2], "MONTHS_BALANCE": [0, -1], "STATUS": ["C", "Q"]})
    >>> validate_frame(df, "bureau_balance")
    Traceback (most recent call last):
    ...
    credit_scoring.data.validation.DataValidationError: bureau_balance.csv, column STATUS: \
failed isin(['C', 'X', '0', '1', '2', '3', '4', '5']) for 1 row: 'Q' (row 2)
    """
    file = file or TABLES[table].file_name
    schema = dataframe_schema(table)
    if columns is not None:
        schema = pa.DataFrameSchema(
            {c: schema.columns[c] for c in columns}, strict=True, ordered=True, name=table
        )
    try:
        # inplace: nothing is coerced, so pandera need not copy a frame of tens of millions of rows
        schema.validate(df, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        raise failure_cases_error(file, exc.failure_cases, row_numbers=_has_row_index(df)) from None


def _has_row_index(df: pd.DataFrame) -> bool:
    index = df.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _where(index: object, row_numbers: bool) -> str:
    if row_numbers and isinstance(index, int | float) and not pd.isna(index):
        return f"row {int(index) + 1}"
    return f"index {index!r}"


def _quote(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    return repr(value)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def failure_cases_error(
    file: str, failure_cases: pd.DataFrame, *, row_numbers: bool = True
) -> DataValidationError:
    """Turn pandera's ``failure_cases`` into one :class:`DataValidationError`.

    One problem per (column, check), with the number of failing rows and a few failing values.
    """
    problems: list[tuple[str | None, str]] = []
    structural = failure_cases[failure_cases["column"].isna()]
    for check, group in structural.groupby("check", sort=False):
        names = ", ".join(str(v) for v in group["failure_case"])
        if check == "column_in_dataframe":
            problems.append((None, f"missing columns: {names}"))
        elif check == "column_in_schema":
            problems.append((None, f"unexpected columns: {names}"))
        elif check == "column_ordered":
            problems.append((None, f"columns out of the declared order: {names}"))
        else:
            problems.append((None, f"{check}: {names}"))
    per_column = failure_cases[failure_cases["column"].notna()]
    for (column, check), group in per_column.groupby(["column", "check"], sort=False):
        problems.append((str(column), _describe(str(check), _by_row(group), row_numbers)))
    return DataValidationError.from_problems(file, problems)


def _by_row(group: pd.DataFrame) -> pd.DataFrame:
    # pandera lists failures in no useful order: quote the first rows of the file.
    try:
        return group.sort_values("index", kind="stable")
    except TypeError:  # index labels that do not sort (mixed types)
        return group


def _describe(check: str, group: pd.DataFrame, row_numbers: bool) -> str:
    n = len(group)
    head = group.head(EXAMPLES)
    if check == "field_uniqueness":
        keys = group["failure_case"].drop_duplicates()
        shown = ", ".join(_quote(k) for k in keys.head(EXAMPLES))
        return (
            f"duplicate primary key: {_plural(n, 'row')} share {_plural(len(keys), 'value')} "
            f"(e.g. {shown}); each value must appear once"
        )
    if check.startswith("dtype("):
        found = ", ".join(str(v) for v in group["failure_case"])
        expected = check.removeprefix("dtype(").removesuffix(")").strip("'")
        return f"expected {expected}, found {found}"
    if check == "not_nullable":
        rows = ", ".join(_where(i, row_numbers) for i in head["index"])
        return f"expected no missing values, found {_plural(n, 'missing value')} ({rows})"
    shown = ", ".join(
        f"{_quote(v)} ({_where(i, row_numbers)})"
        for v, i in zip(head["failure_case"], head["index"], strict=True)
    )
    more = ", ..." if n > EXAMPLES else ""
    return f"failed {check} for {_plural(n, 'row')}: {shown}{more}"
