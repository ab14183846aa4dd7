"""Per-client features from the seven Home Credit tables: one code path for training and serving.

Public API: :func:`build_features` (applications -> features), :func:`build_feature_tables`
(the ``features`` stage: ``train.parquet``, ``production.parquet``, ``dictionary.csv``,
``categories.json``), :func:`features_for_clients` (serving), :func:`feature_dictionary`,
:func:`feature_groups` (features by group, to leave one group out).

Layout: ``application.py`` (the application's own features, NumPy; ``rates.py`` infers the
term and rate of the current credit), ``catalog.py`` (every history aggregate declared once:
name, SQL, French label, group), ``sql/*.sql`` (one row per event of each history table,
exact-typed), ``engine.py`` (DuckDB), ``cross.py`` (history against the application),
``build.py`` (entry points), ``report.py`` (the notebook's tables and figures).

Engine: DuckDB, chosen by benchmark
-----------------------------------
``tests/benchmarks/features_scale.py --engines`` runs one heavy aggregate in DuckDB SQL and in
Polars lazy frames on the same Parquet files, 2 threads each: installments per client
(24 aggregates, a 365-day window) and bureau_balance summarised per credit then per client,
split active/closed. On the 30 % twin (92,253 + 14,623 clients; 4.0 M instalments, 8.3 M
monthly bureau statuses):

========================  ==================  ==================
machine                   DuckDB 2.0          Polars 2.1
========================  ==================  ==================
quiet (load ~4)           1.4 s, 0.31 GB      2.0 s, 0.69 GB
busy (load ~10), 3 runs   8.5-10.6 s, 0.31 GB 13.5-16.6 s, 0.60 GB
full scale (load ~9)      11.3 s, 0.50 GB     22.7 s, 0.81 GB
========================  ==================  ==================

DuckDB is 1.4-2x faster with half the memory, and gives exact arithmetic for free: BIGINT and
DECIMAL sums are accumulated in 128-bit integers, so a client's sums and means do not depend
on the row order or on how threads split the rows. That is what makes a served client's row
bit-identical to its batch row (``tests/test_features.py`` checks it with ``check_exact``).
Both engines pay a similar planning cost per aggregate expression (about 0.25 ms each), which
is what dominates serving one client.
"""

from credit_scoring.features.application import category_levels
from credit_scoring.features.build import (
    all_features,
    assemble,
    build_feature_tables,
    build_features,
    feature_dictionary,
    feature_groups,
    features_for_clients,
    read_feature_table,
)
from credit_scoring.features.engine import EngineSettings

__all__ = [
    "EngineSettings",
    "all_features",
    "assemble",
    "build_feature_tables",
    "build_features",
    "category_levels",
    "feature_dictionary",
    "feature_groups",
    "features_for_clients",
    "read_feature_table",
]
