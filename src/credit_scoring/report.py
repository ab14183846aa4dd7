"""Presentation helpers for the notebook reports: tables in French, ready for the site."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from credit_scoring.labels import number, percent


def table(
    frame: pd.DataFrame,
    *,
    percents: Iterable[str] = (),
    integers: Iterable[str] = (),
    decimals: dict[str, int] | None = None,
    index: bool = True,
) -> Styler:
    """A styled table with French number formats and the site's table classes.

    Examples
    --------
    >>> df = pd.DataFrame({"part": [0.081], "clients": [30000]}, index=["Défaut"])
    >>> html = table(df, percents=["part"], integers=["clients"]).to_html()
    >>> "8,1\u202f%" in html and "30\u202f000" in html
    True
    """
    formats = {c: (lambda v: "–" if pd.isna(v) else percent(v)) for c in percents}
    formats |= {c: (lambda v: "–" if pd.isna(v) else number(v)) for c in integers}
    for column, digits in (decimals or {}).items():
        formats[column] = lambda v, d=digits: "–" if pd.isna(v) else number(v, d)
    styler = frame.style.format(formats, na_rep="–").set_table_attributes(
        'class="table table-sm table-striped"'
    )
    return styler if index else styler.hide(axis="index")
