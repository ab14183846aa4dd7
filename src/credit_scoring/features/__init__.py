"""Per-client features from the seven Home Credit tables: one code path for training and serving.

Public API: :func:`build_features`, :func:`build_feature_tables`, :func:`features_for_clients`,
:func:`feature_dictionary`.
"""

from credit_scoring.features.application import category_levels
from credit_scoring.features.build import (
    all_features,
    build_feature_tables,
    build_features,
    feature_dictionary,
    features_for_clients,
    read_feature_table,
)
from credit_scoring.features.engine import EngineSettings

__all__ = [
    "EngineSettings",
    "all_features",
    "build_feature_tables",
    "build_features",
    "category_levels",
    "feature_dictionary",
    "features_for_clients",
    "read_feature_table",
]
