"""The scoring API: FastAPI over :class:`~credit_scoring.scoring.Scorer`.

- :func:`create_app` builds the application (a scorer, explainer and settings can be
  injected; by default the champion is loaded from the registry at startup);
- :func:`serve` runs it with uvicorn (the ``credit-scoring api`` command);
- ``credit_scoring.api:app`` is an application built from the environment on first access,
  for ``uvicorn credit_scoring.api:app`` (importing this package builds nothing).

Settings: :class:`ApiSettings` (environment variables in :mod:`credit_scoring.api.settings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from credit_scoring.api.app import create_app, serve
from credit_scoring.api.settings import ApiSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ApiSettings", "app", "create_app", "serve"]

_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    # PEP 562: the module-level app exists only once asked for, so importing has no effect.
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
