"""MLflow: the project's tracking store, run logging, the model registry.

The store is a SQLite file under ``data/mlflow/`` with artifacts beside it, always set
explicitly (MLflow 3's default is a ``mlflow.db`` in whatever directory the process runs in).
The champion is logged with the scikit-learn flavour, pickled (its pipeline holds LightGBM,
XGBoost and imbalanced-learn objects that skops would refuse), with
``pyfunc_predict_fn="predict_proba"`` so that the generic pyfunc returns probabilities; its
decision settings (threshold, review band, features) travel in the model's metadata and in
the registered version's tags, so serving needs nothing else.

Examples
--------
>>> from pathlib import Path
>>> tracking_uri(Path("/srv/project/data/mlflow"))
'sqlite:////srv/project/data/mlflow/mlflow.db'
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring import paths

log = logging.getLogger(__name__)

DB_FILE = "mlflow.db"
ARTIFACTS = "artifacts"
DEFAULT_EXPERIMENT = "credit-scoring"
CONTRACT_KEY = "scoring_contract"
#: What the pyfunc needs at load time (listing them skips MLflow's slow inference).
PIP_REQUIREMENTS = [
    "scikit-learn",
    "imbalanced-learn",
    "lightgbm",
    "xgboost-cpu",
    "pandas",
    "numpy",
    "credit-scoring",
]


def tracking_uri(mlflow_dir: Path = paths.MLFLOW_DIR) -> str:
    """The SQLite URI of the store in ``mlflow_dir``."""
    return f"sqlite:///{Path(mlflow_dir).resolve() / DB_FILE}"


def import_mlflow() -> Any:
    """``mlflow``, imported with telemetry off."""
    # Telemetry tries the network; these machines have none.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    return mlflow


def configure(mlflow_dir: Path = paths.MLFLOW_DIR, uri: str | None = None) -> str:
    """Point MLflow (tracking and registry) at the project store; return its URI."""
    mlflow = import_mlflow()
    if uri is None:
        Path(mlflow_dir).mkdir(parents=True, exist_ok=True)
        uri = tracking_uri(mlflow_dir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def experiment_id(name: str, mlflow_dir: Path = paths.MLFLOW_DIR) -> str:
    """The id of experiment ``name``, created with its artifacts under ``mlflow_dir``."""
    mlflow = import_mlflow()
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = (Path(mlflow_dir).resolve() / ARTIFACTS).as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def clean_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite numeric entries of ``metrics`` (MLflow rejects None and strings).

    Examples
    --------
    >>> clean_metrics({"a": 1, "b": float("nan"), "c": "x", "d": None, "e": True})
    {'a': 1.0}
    """
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            continue
        if math.isfinite(float(value)):
            out[key] = float(value)
    return out


def flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as ``a.b`` keys with string values (MLflow params are strings).

    Examples
    --------
    >>> flat_params({"a": 1, "b": {"c": [1, 2]}})
    {'a': '1', 'b.c': '[1, 2]'}
    """
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(value)[:6000]
    return out


def child_run(run_name: str) -> Any:
    """Start a run nested in the active one, in the active run's experiment.

    MLflow files a nested run under the *current* experiment, not its parent's: without the
    parent's experiment id, the children of a ``train`` run land in ``Default`` while their
    parent sits in ``credit-scoring``.
    """
    mlflow = import_mlflow()
    parent = mlflow.active_run()
    experiment = parent.info.experiment_id if parent is not None else None
    return mlflow.start_run(run_name=run_name, nested=True, experiment_id=experiment)


def log_run(
    run_name: str,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """Log a finished step as a child run of the active run; return its id."""
    mlflow = import_mlflow()
    with child_run(run_name) as run:
        if params:
            mlflow.log_params(flat_params(params))
        if metrics:
            mlflow.log_metrics(clean_metrics(metrics))
        if tags:
            mlflow.set_tags(tags)
        return str(run.info.run_id)


def serving_signature(schema_step: Any, example: pd.DataFrame, proba: np.ndarray) -> Any:
    """Signature of the served model: every feature optional, numbers as doubles,
    categories as strings; output the (n, 2) class probabilities.

    Inferring it from a training frame would mark integer columns required and refuse the
    pandas ``category`` dtype, which JSON clients cannot send anyway.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    inputs = Schema(
        [
            ColSpec("string" if name in schema_step.categories_ else "double", name, required=False)
            for name in schema_step.columns_
        ]
    )
    outputs = Schema([TensorSpec(np.dtype("float64"), (-1, proba.shape[1]))])
    return ModelSignature(inputs=inputs, outputs=outputs)


def _schema_step(model: Any) -> Any:
    """The :class:`~credit_scoring.modelling.zoo.FrameSchema` at the head of the pipeline(s)."""
    from credit_scoring.modelling.blend import weighted_members

    pipeline, _ = weighted_members(model)[0]
    return pipeline.named_steps["schema"]


def log_model(model: Any, X_example: pd.DataFrame, contract: dict[str, Any]) -> Any:
    """Log ``model`` in the active run with signature, input example and ``contract``
    (threshold, review band, features...) as metadata; return MLflow's ``ModelInfo``."""
    import_mlflow()
    import mlflow.sklearn

    schema = _schema_step(model)
    example = schema.serving_frame(X_example)
    signature = serving_signature(schema, example, model.predict_proba(X_example))
    return mlflow.sklearn.log_model(
        model,
        name="model",
        serialization_format="cloudpickle",
        pyfunc_predict_fn="predict_proba",
        signature=signature,
        input_example=example,
        pip_requirements=PIP_REQUIREMENTS,
        metadata={CONTRACT_KEY: contract},
    )


def register(
    model_uri: str, name: str, *, alias: str = "champion", tags: dict[str, Any] | None = None
) -> str:
    """Register ``model_uri`` as a new version of ``name``, tag it, point ``alias`` at it;
    return the version."""
    mlflow = import_mlflow()
    client = mlflow.MlflowClient()
    version = mlflow.register_model(model_uri, name)
    for key, value in (tags or {}).items():
        client.set_model_version_tag(
            name, version.version, key, json.dumps(value) if not isinstance(value, str) else value
        )
    client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)


@dataclass
class LoadedModel:
    """A registered model, its version and its decision settings."""

    model: Any
    version: str
    contract: dict[str, Any]


def load_registered(
    name: str, alias: str = "champion", *, tracking_uri: str | None = None
) -> LoadedModel:
    """Load ``models:/<name>@<alias>`` (scikit-learn flavour) with its contract.

    Parameters
    ----------
    name, alias
        The registered model and alias.
    tracking_uri
        The store; default: the project store under ``data/mlflow/``.
    """
    import_mlflow()
    import mlflow.sklearn
    from mlflow.models import get_model_info

    uri = configure(uri=tracking_uri) if tracking_uri else configure()
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        version = client.get_model_version_by_alias(name, alias)
    except mlflow.exceptions.MlflowException as error:
        raise LookupError(
            f"no model {name}@{alias} in the MLflow store {uri}: run the train stage "
            f"(dvc repro train) first"
        ) from error
    # The version itself, not the alias: the alias may move between the two calls.
    model_uri = f"models:/{name}/{version.version}"
    model = mlflow.sklearn.load_model(model_uri)
    contract = dict((get_model_info(model_uri).metadata or {}).get(CONTRACT_KEY, {}))
    if not contract:  # older versions: the settings only as version tags
        contract = {
            k: json.loads(v)
            for k, v in version.tags.items()
            if k in ("threshold", "review_band", "features")
        }
    return LoadedModel(model=model, version=str(version.version), contract=contract)
