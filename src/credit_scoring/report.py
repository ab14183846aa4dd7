"""Presentation helpers for the notebook reports: tables in French, ready for the site."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from credit_scoring.labels import number, percent


class Table(Styler):
    """A :class:`~pandas.io.formats.style.Styler` whose plain-text form is the same at every run.

    A notebook keeps the plain-text form of a displayed table beside its HTML; a Styler's is
    ``<... Styler at 0x7f...>``, a memory address that changes from run to run.

    >>> repr(Table(pd.DataFrame({"a": [1, 2]})))
    '<table: 2 rows x 1 columns>'
    """

    def __repr__(self) -> str:
        rows, columns = self.data.shape
        return f"<table: {rows} rows x {columns} columns>"


def table(
    frame: pd.DataFrame,
    *,
    percents: Iterable[str] = (),
    integers: Iterable[str] = (),
    decimals: dict[str, int] | None = None,
    index: bool = True,
) -> Table:
    """A styled table with French number formats and the site's table classes.

    Examples
    --------
    >>> df = pd.DataFrame({"part": [0.081], "clients": [30000]}, index=["Défaut"])
    >>> html = table(df, percents=["part"], integers=["clients"]).to_html()
    >>> "8,1\u202f%" in html and "30\u202f000" in html
    True

    The table's HTML id comes from what it shows, not from chance: an executed report holds the
    same bytes at every run.

    >>> table(df).to_html() == table(df.copy()).to_html()
    True
    """
    formats = {c: (lambda v: "–" if pd.isna(v) else percent(v)) for c in percents}
    formats |= {c: (lambda v: "–" if pd.isna(v) else number(v)) for c in integers}
    for column, digits in (decimals or {}).items():
        formats[column] = lambda v, d=digits: "–" if pd.isna(v) else number(v, d)
    styler = Table(frame).format(formats, na_rep="–")
    styler = styler.set_table_attributes('class="table table-sm table-striped"')
    if not index:
        styler = styler.hide(axis="index")
    # pandas gives every styled table a random id (T_<5 hex digits>), or every executed
    # notebook would differ from the last: one from the rendered table instead, whose numbers
    # are rounded for display (the last bits of a float may differ between two runs).
    digest = hashlib.sha256(styler.set_uuid("").to_html().encode("utf-8")).hexdigest()[:10]
    return styler.set_uuid(digest)
