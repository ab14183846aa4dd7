"""The data twin: a realistic stand-in for the eight Home Credit CSV files.

The real Kaggle files cannot be downloaded everywhere, so :func:`generate_twin` writes
files with the same names, columns, dtypes (as ``pandas.read_csv`` infers them), keys
and quirks, marginals measured on real samples (``homecredit_profile.json``), and a
default signal spread over the tables. The generator knows each client's true default
probability: ``twin_truth.parquet`` holds it, so models can be compared with an oracle.

Examples
--------
>>> import shutil, tempfile
>>> from pathlib import Path
>>> import pandas as pd
>>> out = Path(tempfile.mkdtemp()) / "twin"
>>> manifest = generate_twin(TwinConfig(clients=300, seed=1), out, progress=False)
>>> manifest["rows"]["application_train"], manifest["rows"]["application_test"]
(300, 48)
>>> pd.read_csv(out / "bureau.csv").columns[:2].tolist()
['SK_ID_CURR', 'SK_ID_BUREAU']
>>> shutil.rmtree(out.parent)
"""

from __future__ import annotations

from ._generate import (
    GENERATOR_VERSION,
    MANIFEST_FILE,
    TRUTH_FILE,
    TwinConfig,
    expected_rows,
    generate_twin,
)

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_FILE",
    "TRUTH_FILE",
    "TwinConfig",
    "expected_rows",
    "generate_twin",
]
