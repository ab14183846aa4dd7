"""The advisor dashboard (French, ipywidgets, served by Voilà from ``notebooks/dashboard.ipynb``).

- :func:`show`, :class:`Dashboard`: the application (``app.py``);
- :func:`open_backend`, :class:`ApiBackend`, :class:`LocalBackend`: data access, by the
  scoring API (``CREDIT_SCORING_API_URL``; nothing read from the data folders) or in process
  (``backend.py``);
- :class:`Comparison`, :class:`Reference`: the client against all clients, defaulters,
  non-defaulters and similar clients, from aggregates (``compare.py``);
- colours, contrast and the gauge (``style.py``).

Importing this package builds nothing and imports no widget library.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Dashboard": "app",
    "show": "app",
    "ApiBackend": "backend",
    "ClientScore": "backend",
    "LocalBackend": "backend",
    "ModelInfo": "backend",
    "RecordedDecision": "backend",
    "ScoringBackend": "backend",
    "open_backend": "backend",
    "DashboardError": "errors",
    "Comparison": "compare",
    "Reference": "compare",
    "global_importance": "compare",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # PEP 562: `from credit_scoring.dashboard import show` loads app.py only (no pandas), so
    # the page shows its first widgets at once.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
