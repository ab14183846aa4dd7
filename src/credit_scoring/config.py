"""Read ``params.yaml``, the one place where the pipeline's settings live.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "params.yaml"
>>> _ = p.write_text("eda:\\n  seed: 7\\n")
>>> load_params("eda", p)
{'seed': 7}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from credit_scoring import paths


def load_params(section: str, params_file: Path | None = None) -> dict[str, Any]:
    """Return one section of ``params.yaml``.

    Raises
    ------
    KeyError
        When the file has no such section; the message names the file and the section.
    """
    params_file = params_file or paths.PARAMS_FILE
    with params_file.open(encoding="utf-8") as f:
        params = yaml.safe_load(f) or {}
    if section not in params:
        raise KeyError(f"{params_file}: no section {section!r} (found: {', '.join(params)})")
    return params[section]
