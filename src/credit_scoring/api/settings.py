"""Settings of the scoring API: where its data is, who may call it, how much it accepts.

Every path defaults to :mod:`credit_scoring.paths` (so ``CREDIT_SCORING_ROOT`` re-anchors them
all); the rest comes from the environment (:meth:`ApiSettings.from_env`):

========================================  =============================================
``CREDIT_SCORING_API_KEYS``               accepted API keys, comma-separated
``CREDIT_SCORING_API_KEY``                one more accepted key (single-key deployments)
``CREDIT_SCORING_API_AUTH``               ``on`` (default) or ``off`` (local use only)
``CREDIT_SCORING_DECISION_LOG``           the SQLite decision log (``data/decisions.sqlite``)
``CREDIT_SCORING_MODEL_ALIAS``            the registry alias served (``champion``)
========================================  =============================================

Examples
--------
>>> s = ApiSettings.from_env({"CREDIT_SCORING_API_KEYS": "k1, k2", "CREDIT_SCORING_API_KEY": "k3"})
>>> s.auth, s.api_keys
(True, ('k1', 'k2', 'k3'))
>>> ApiSettings.from_env({"CREDIT_SCORING_API_AUTH": "off"}).auth
False
>>> s.decision_log.relative_to(paths.ROOT).as_posix()
'data/decisions.sqlite'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from credit_scoring import paths

ENV_KEYS = "CREDIT_SCORING_API_KEYS"
ENV_KEY = "CREDIT_SCORING_API_KEY"
ENV_AUTH = "CREDIT_SCORING_API_AUTH"
ENV_LOG = "CREDIT_SCORING_DECISION_LOG"
ENV_ALIAS = "CREDIT_SCORING_MODEL_ALIAS"
#: The scorecard challenger the train stage writes in the models folder
#: (credit_scoring.modelling.train.SCORECARD_FILE, named here so the API need not import
#: the training code).
SCORECARD_FILE = "scorecard.json"

_ON = {"on", "true", "1", "yes"}
_OFF = {"off", "false", "0", "no"}


def _explanations_file() -> Path:
    # Where the explain stage writes the production batch's explanations
    # (credit_scoring.explain.store.EXPLANATIONS_FILE), without importing SHAP to know it.
    return paths.REPORTS_DIR / "explain" / "explanations.parquet"


@dataclass(frozen=True)
class ApiSettings:
    """Everything the API reads besides the model.

    Attributes
    ----------
    auth
        Require an ``X-API-Key`` header on every endpoint but health and the docs.
    api_keys
        The accepted keys. With ``auth`` on and no key, protected endpoints answer 503.
    interim_dir
        The ingested tables (client histories, category levels, stored applications).
    features_dir
        ``production.parquet``: the features of the production batch (the known clients).
    metrics_dir
        ``data.json`` (twin or real data).
    models_dir
        ``summary.json`` of the train stage (the model card's metrics) and ``scorecard.json``
        (the scorecard challenger, a second reading of known clients).
    mlflow_dir
        The MLflow store holding the registered model.
    explanations_file
        Precomputed explanations of the production batch; None to always compute them.
    decision_log
        The SQLite decision log.
    params_file
        ``params.yaml`` (counterfactual bounds of the ``explain`` section).
    model_name, model_alias
        The registered model served: ``models:/<name>@<alias>``.
    max_batch_clients, max_batch_applications
        Largest batches accepted (more: 422).
    max_body_bytes
        Largest request body accepted (more: 422, before the body is read).
    precompute_scores
        Score the whole production batch once, in the background, at startup: a known
        client's score is then a look-up. Off: each request runs the model on the client's
        in-memory features.
    load_at_startup
        Load the model when the server starts (off: on the first request that needs it).
    history_cache
        Posted applications reuse the history features already computed for the
        production batch, and the empty history for clients without any history row,
        instead of querying the history tables per request (same values, tested). Off:
        every posted application goes through ``features_for_clients``.
    """

    auth: bool = True
    api_keys: tuple[str, ...] = ()
    interim_dir: Path = field(default_factory=lambda: paths.INTERIM_DIR)
    features_dir: Path = field(default_factory=lambda: paths.FEATURES_DIR)
    metrics_dir: Path = field(default_factory=lambda: paths.METRICS_DIR)
    models_dir: Path = field(default_factory=lambda: paths.MODELS_DIR)
    mlflow_dir: Path = field(default_factory=lambda: paths.MLFLOW_DIR)
    explanations_file: Path | None = field(default_factory=_explanations_file)
    decision_log: Path = field(default_factory=lambda: paths.DATA_DIR / "decisions.sqlite")
    params_file: Path = field(default_factory=lambda: paths.PARAMS_FILE)
    model_name: str = "credit-scoring"
    model_alias: str = "champion"
    max_batch_clients: int = 1000
    max_batch_applications: int = 1000
    max_body_bytes: int = 4_194_304
    precompute_scores: bool = True
    history_cache: bool = True
    load_at_startup: bool = True

    def __post_init__(self) -> None:
        if self.max_batch_clients < 1 or self.max_batch_applications < 1:
            raise ValueError("batch limits must be at least 1")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")

    @property
    def production_file(self) -> Path:
        """The production batch's feature table."""
        return Path(self.features_dir) / "production.parquet"

    @property
    def scorecard_file(self) -> Path:
        """The scorecard challenger of the train stage (:data:`SCORECARD_FILE`)."""
        return Path(self.models_dir) / SCORECARD_FILE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ApiSettings:
        """Settings from the environment (see the module docstring), then ``overrides``.

        Raises
        ------
        ValueError
            When ``CREDIT_SCORING_API_AUTH`` is neither on nor off.
        """
        env = os.environ if environ is None else environ
        raw_auth = env.get(ENV_AUTH, "on").strip().lower()
        if raw_auth not in _ON | _OFF:
            raise ValueError(f"{ENV_AUTH} must be 'on' or 'off', got {raw_auth!r}")
        keys = [k.strip() for k in env.get(ENV_KEYS, "").split(",")]
        keys.append(env.get(ENV_KEY, "").strip())
        values: dict[str, object] = {
            "auth": raw_auth in _ON,
            "api_keys": tuple(dict.fromkeys(k for k in keys if k)),
        }
        if env.get(ENV_LOG):
            values["decision_log"] = Path(env[ENV_LOG])
        if env.get(ENV_ALIAS):
            values["model_alias"] = env[ENV_ALIAS]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
