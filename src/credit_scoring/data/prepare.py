"""The ``data`` stage: the real Kaggle files when present, else the data twin; validated; parquet.

Raw files are never modified: the twin is written to its own folder, ``data/raw/twin/``, and only
regenerated when its settings change.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from credit_scoring import paths
from credit_scoring.data.ingest import KaggleSource, find_kaggle_source, ingest
from credit_scoring.data.twin import GENERATOR_VERSION, MANIFEST_FILE, TwinConfig, generate_twin

log = logging.getLogger(__name__)

Origin = Literal["real", "twin"]


def ensure_twin(config: TwinConfig, twin_dir: Path, *, progress: bool = True) -> dict[str, Any]:
    """Return the twin manifest, generating the twin first unless this generator already wrote
    one with ``config`` there."""
    manifest_file = twin_dir / MANIFEST_FILE
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        same = (manifest.get("config"), manifest.get("generator_version"))
        if same == (asdict(config), GENERATOR_VERSION):
            log.info("twin in %s is up to date, not regenerated", twin_dir)
            return manifest
    return generate_twin(config, twin_dir, progress=progress)


def choose_source(
    source: str, raw_dir: Path, twin_config: TwinConfig, *, progress: bool = True
) -> tuple[Origin, KaggleSource]:
    """Pick the tables to ingest: real files for ``auto`` when present, else the twin."""
    if source not in ("auto", "twin", "real"):
        raise ValueError(f"params.yaml data.source: expected auto, twin or real, got {source!r}")
    real = None if source == "twin" else find_kaggle_source(raw_dir)
    if real is not None:
        return "real", real
    if source == "real":
        raise FileNotFoundError(
            f"params.yaml data.source is 'real' but {raw_dir} holds neither the eight Kaggle CSV "
            "files nor the Kaggle zip"
        )
    twin_dir = raw_dir / "twin"
    ensure_twin(twin_config, twin_dir, progress=progress)
    twin = find_kaggle_source(twin_dir)
    if twin is None:  # generate_twin returned without writing the tables: a bug, say so
        raise RuntimeError(f"the twin generator left no tables in {twin_dir}")
    return "twin", twin


SUMMARY_FILE = "summary.json"


def prepare(
    params: dict[str, Any],
    raw_dir: Path = paths.RAW_DIR,
    interim_dir: Path = paths.INTERIM_DIR,
    metrics_file: Path = paths.METRICS_DIR / "data.json",
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the ``data`` stage with the ``data`` section of ``params.yaml``; return its summary.

    The summary (origin, each table's rows, columns and missing share, the empty tables, the
    twin's settings) goes to ``interim_dir/summary.json``, which the reports read; the headline
    figures (origin, clients, and on the twin its default rate and oracle AUC) go to
    ``metrics_file``, so that ``dvc metrics show`` reads at a glance. Per-column detail stays
    in ``ingest.json``.
    """
    twin_config = TwinConfig(**params["twin"])
    origin, source = choose_source(params["source"], raw_dir, twin_config, progress=progress)
    report = ingest(source, interim_dir).to_dict()
    tables = {
        name: {k: table[k] for k in ("rows", "empty", "columns", "missing_share")}
        for name, table in report["tables"].items()
    }
    empty = [name for name, table in tables.items() if table["empty"]]
    summary: dict[str, Any] = {"origin": origin, "tables": tables, "empty_tables": empty}
    headline: dict[str, Any] = {
        "origin": origin,
        "clients": tables["application_train"]["rows"],
        "production_clients": tables["application_test"]["rows"],
    }
    if origin == "twin":
        manifest = json.loads((raw_dir / "twin" / MANIFEST_FILE).read_text(encoding="utf-8"))
        summary["twin"] = {
            "config": manifest["config"],
            "generator_version": manifest["generator_version"],
            "default_rate": manifest["default_rate"],
            "oracle_auc": manifest["oracle_auc_train"],
        }
        headline |= {k: summary["twin"][k] for k in ("default_rate", "oracle_auc")}
    (Path(interim_dir) / SUMMARY_FILE).write_text(json.dumps(summary, indent=2), "utf-8")
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    metrics_file.write_text(json.dumps(headline, indent=2), encoding="utf-8")
    return summary


def data_origin(summary_file: Path = paths.INTERIM_DIR / SUMMARY_FILE) -> dict[str, Any]:
    """What the pipeline ran on (``origin``: ``twin`` or ``real``, the tables, the twin's
    settings), from the data stage's summary."""
    return json.loads(summary_file.read_text(encoding="utf-8"))
