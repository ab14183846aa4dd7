"""Precomputed explanations of the production batch: one Parquet file, looked up in memory.

Each row holds a client's base value, its SHAP value for every feature (float32: 7 significant
digits, a quarter of the size of float64 at Kaggle scale) and its reasons already written (JSON,
rendered from the float64 values, so a looked-up reason is exactly the on-demand one). The file
is loaded once per process and kept with an index by client, so a lookup is a dictionary access.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from credit_scoring import paths
from credit_scoring.explain.local import Explanation, Reason

if TYPE_CHECKING:
    from credit_scoring.explain.local import Explainer

CLIENT_ID = "SK_ID_CURR"
EXPLAIN_DIR = paths.REPORTS_DIR / "explain"
EXPLANATIONS_FILE = EXPLAIN_DIR / "explanations.parquet"
#: Reasons stored per client (a lookup can ask for fewer).
STORED_REASONS = 10
_META = ("base_value", "reasons_json", "value_texts_json")


def precompute_explanations(
    explainer: Explainer,
    features: pd.DataFrame,
    out_path: Path = EXPLANATIONS_FILE,
    *,
    reasons: int = STORED_REASONS,
    batch_rows: int = 5000,
) -> None:
    """SHAP values and reasons of every row of ``features`` (the production batch), to Parquet.

    Parameters
    ----------
    explainer
        The champion's explainer.
    features
        Feature rows with client ids (``SK_ID_CURR`` column or index).
    out_path
        The Parquet file written (atomically: a temporary file renamed).
    reasons
        Reasons written per client.
    batch_rows
        Rows explained at a time (bounds memory at Kaggle scale).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    frame = features if CLIENT_ID in features.columns else features.reset_index()
    if CLIENT_ID not in frame.columns:
        raise ValueError(f"precompute_explanations needs client ids ({CLIENT_ID})")
    tmp = out_path.with_suffix(".parquet.tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, len(frame), batch_rows):
            chunk = frame.iloc[start : start + batch_rows]
            explanations, values = explainer.explain_with_values(chunk, top=reasons)
            table = pd.DataFrame(
                {
                    CLIENT_ID: chunk[CLIENT_ID].to_numpy(dtype=np.int64),
                    "base_value": [e.base_value for e in explanations],
                    "reasons_json": [
                        json.dumps([r.to_dict() for r in e.reasons], ensure_ascii=False)
                        for e in explanations
                    ],
                    "value_texts_json": [
                        json.dumps(e.value_texts, ensure_ascii=False) for e in explanations
                    ],
                }
            )
            shap = pd.DataFrame(
                values.astype(np.float32), columns=explainer.features, index=table.index
            )
            arrow = pa.Table.from_pandas(pd.concat([table, shap], axis=1), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, arrow.schema, compression="zstd")
            writer.write_table(arrow)
        if writer is None:  # no rows: still a valid, empty file
            empty = pd.DataFrame({CLIENT_ID: pd.Series(dtype="int64")})
            pq.write_table(pa.Table.from_pandas(empty, preserve_index=False), tmp)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(out_path)
    _cache.pop(str(out_path.resolve()), None)


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    row_of: dict[int, int]
    features: list[str]
    values: np.ndarray
    base: np.ndarray
    reasons: list[str]
    value_texts: list[str]


_cache: dict[str, _Loaded] = {}
_lock = threading.Lock()


def _load(path: Path) -> _Loaded:
    key = str(path.resolve())
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        loaded = _cache.get(key)
        if loaded is not None and loaded.stamp == stamp:
            return loaded
        table = pq.read_table(path)
        names = [n for n in table.column_names if n not in (CLIENT_ID, *_META)]
        ids = table.column(CLIENT_ID).to_numpy() if table.num_rows else np.array([], np.int64)
        values = (
            np.column_stack([table.column(n).to_numpy() for n in names])
            if names and table.num_rows
            else np.zeros((table.num_rows, len(names)), dtype=np.float32)
        )
        has_meta = table.num_rows > 0
        loaded = _Loaded(
            stamp=stamp,
            row_of={int(i): k for k, i in enumerate(ids)},
            features=names,
            values=values,
            base=table.column("base_value").to_numpy() if has_meta else np.array([]),
            reasons=table.column("reasons_json").to_pylist() if has_meta else [],
            value_texts=table.column("value_texts_json").to_pylist() if has_meta else [],
        )
        _cache[key] = loaded
        return loaded


def load_explanation(
    client_id: int, path: Path = EXPLANATIONS_FILE, top: int | None = None
) -> Explanation | None:
    """A client's precomputed explanation, or None when the batch does not hold the client.

    The first call of a process reads the file (about a second at Kaggle scale); the next
    ones are dictionary look-ups. A rewritten file is read again.

    Parameters
    ----------
    client_id
        ``SK_ID_CURR``.
    path
        The file written by :func:`precompute_explanations`.
    top
        Reasons returned (default: all stored).
    """
    path = Path(path)
    if not path.exists():
        return None
    loaded = _load(path)
    k = loaded.row_of.get(int(client_id))
    if k is None:
        return None
    reasons = [Reason.from_dict(r) for r in json.loads(loaded.reasons[k])]
    return Explanation(
        client_id=int(client_id),
        base_value=float(loaded.base[k]),
        contributions={f: float(v) for f, v in zip(loaded.features, loaded.values[k], strict=True)},
        reasons=reasons[:top] if top is not None else reasons,
        value_texts=json.loads(loaded.value_texts[k]),
    )
