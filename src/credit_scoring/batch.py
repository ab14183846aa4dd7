"""Batch scoring: the decision contract for every row of a feature table, in pandas or on Spark.

Both engines give one row per client with the same columns (:data:`COLUMNS`), sorted by
``SK_ID_CURR``: the probability of default of the registered champion, its risk score and the
decision, computed by :mod:`credit_scoring.scoring` (the functions every consumer uses).

- ``pandas``: :class:`~credit_scoring.scoring.Scorer` on the whole table, on this machine.
- ``spark``: the champion as a Spark UDF, ``mlflow.pyfunc.spark_udf`` of the registered version,
  over the partitions of the Parquet table; the contract is applied partition by partition by
  the same functions. On a cluster, each executor loads the model once and scores its part.

The Spark UDF gets the version the alias pointed to when the batch started
(``models:/credit-scoring/<version>``), not the alias itself: the contract (threshold, band)
and the model then come from the same version even if the alias moves meanwhile.

Examples
--------
>>> import numpy as np
>>> frame = contract_frame(
...     [7, 8], np.array([0.02, 0.5]), threshold=0.1, review_band=(45, 55),
...     points_to_double_odds=10, model_version="credit-scoring/1")
>>> frame[["SK_ID_CURR", "decision"]].to_dict("list")
{'SK_ID_CURR': [7, 8], 'decision': ['grant', 'refuse']}
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from credit_scoring import paths
from credit_scoring.scoring import (
    CLIENT_ID,
    DEFAULT_ALIAS,
    DEFAULT_MODEL_NAME,
    Scorer,
    decision,
    risk_score,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The columns of a scored batch, in order.
COLUMNS: tuple[str, ...] = (
    CLIENT_ID,
    "probability_default",
    "risk_score",
    "decision",
    "model_version",
)
ENGINES: tuple[str, ...] = ("pandas", "spark")
#: Where ``credit-scoring score-batch`` writes by default (git-ignored, no DVC output).
DEFAULT_OUT = paths.DATA_DIR / "scores" / "production.parquet"


def contract_frame(
    client_ids: Sequence[int] | npt.ArrayLike,
    probability: npt.NDArray[np.float64],
    *,
    threshold: float,
    review_band: Sequence[float],
    points_to_double_odds: float,
    model_version: str,
) -> pd.DataFrame:
    """The :data:`COLUMNS` of scored rows from their probabilities of default."""
    probability = np.asarray(probability, dtype=float)
    score = np.atleast_1d(risk_score(probability, threshold, points_to_double_odds))
    return pd.DataFrame(
        {
            CLIENT_ID: np.asarray(client_ids, dtype="int64"),
            "probability_default": probability,
            "risk_score": score,
            "decision": [decision(float(s), review_band) for s in score],
            "model_version": model_version,
        },
        columns=list(COLUMNS),
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(CLIENT_ID, kind="stable").reset_index(drop=True)


def _check_table(features_path: Path) -> Path:
    path = Path(features_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no feature table here (run the features stage: credit-scoring features build)"
        )
    return path


def score_pandas(features_path: Path, scorer: Scorer) -> pd.DataFrame:
    """Score a feature table (Parquet, with ``SK_ID_CURR``) with ``scorer``, in memory.

    Raises
    ------
    KeyError
        When the table lacks ``SK_ID_CURR`` or a feature of the model (named).
    """
    path = _check_table(features_path)
    features = pd.read_parquet(path)
    if CLIENT_ID not in features.columns:
        raise KeyError(f"{path}: no {CLIENT_ID} column")
    probability = scorer.predict_proba(features)
    return _sorted(
        contract_frame(
            features[CLIENT_ID].to_numpy(),
            probability,
            threshold=scorer.threshold,
            review_band=scorer.review_band,
            points_to_double_odds=scorer.points_to_double_odds,
            model_version=scorer.model_version,
        )
    )


def score_spark(features_path: Path, scorer: Scorer, spark: SparkSession) -> pd.DataFrame:
    """Score a feature table on Spark: the registered model of ``scorer`` as a pandas UDF
    (``mlflow.pyfunc.spark_udf``), then its decision contract, partition by partition.

    ``scorer`` brings the registered version and its contract; its in-memory model is not used.

    Raises
    ------
    KeyError
        When the table lacks ``SK_ID_CURR`` or an input of the model (named).
    """
    import mlflow.pyfunc
    from pyspark.sql import functions, types

    path = _check_table(features_path)
    model_uri = f"models:/{scorer.model_version}"
    model = mlflow.pyfunc.spark_udf(
        spark, model_uri, result_type=types.ArrayType(types.DoubleType()), env_manager="local"
    )
    table = spark.read.parquet(str(path))
    # The signature's columns are optional (missing values are allowed), so the UDF needs
    # them named: one struct of every input, in the signature's order.
    inputs = model.metadata.get_input_schema().input_names()
    absent = [c for c in (CLIENT_ID, *inputs) if c not in table.columns]
    if absent:
        shown = ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else "")
        raise KeyError(f"{path}: {len(absent)} column(s) the model needs are missing: {shown}")
    row = functions.struct(*[functions.col(c) for c in inputs])
    probabilities = table.select(
        functions.col(CLIENT_ID).cast("long").alias(CLIENT_ID),
        model(row)[1].alias("probability_default"),
    )
    settings: dict[str, Any] = {
        "threshold": scorer.threshold,
        "review_band": scorer.review_band,
        "points_to_double_odds": scorer.points_to_double_odds,
        "model_version": scorer.model_version,
    }

    def contract(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield contract_frame(
                batch[CLIENT_ID].to_numpy(), batch["probability_default"].to_numpy(), **settings
            )

    schema = (
        f"{CLIENT_ID} long, probability_default double, risk_score double, "
        "decision string, model_version string"
    )
    return _sorted(probabilities.mapInPandas(contract, schema=schema).toPandas())


def score_batch(
    features_path: Path = paths.FEATURES_DIR / "production.parquet",
    *,
    engine: str = "pandas",
    name: str = DEFAULT_MODEL_NAME,
    alias: str = DEFAULT_ALIAS,
    tracking_uri: str | None = None,
    spark_settings: Any = None,
) -> pd.DataFrame:
    """Score a feature table with the registered ``name@alias`` on ``engine``.

    Parameters
    ----------
    features_path
        A feature table of the features stage (``production.parquet`` by default).
    engine
        ``pandas`` (this process) or ``spark`` (:func:`score_spark`).
    name, alias, tracking_uri
        The registered model, as :meth:`Scorer.from_registry` takes them.
    spark_settings
        A :class:`~credit_scoring.features.spark.SparkSettings` (default: ``local[2]``).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per client, sorted by ``SK_ID_CURR``: the same values from
        either engine.

    Raises
    ------
    ValueError
        When ``engine`` is unknown.
    """
    if engine not in ENGINES:
        raise ValueError(f"the batch engine must be one of {ENGINES}, got {engine!r}")
    _check_table(features_path)
    scorer = Scorer.from_registry(name, alias, tracking_uri=tracking_uri)
    if engine == "pandas":
        return score_pandas(features_path, scorer)
    # Imported here: pyspark is an optional dependency the pandas engine never loads.
    from credit_scoring.features import spark

    session = spark.session(spark_settings or spark.SparkSettings())
    return score_spark(features_path, scorer, session)
