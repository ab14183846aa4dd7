"""Orchestration: clients first, then the side tables in chunks of clients, all written
into a temporary directory that replaces the output directory only on success."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from credit_scoring.data.schema import TABLES

from ._bureau import BUREAU_ID_SPAN, BUREAU_ID_START, bureau_chunk
from ._clients import Clients, build_clients
from ._core import KAGGLE_CLIENTS, Cat, Column, IntArray, child_rng, distinct_ids
from ._previous import PREVIOUS_ID_SPAN, PREVIOUS_ID_START, previous_chunk
from ._writer import BackgroundWriter, CsvTableWriter, atomic_directory

#: Bumped whenever the same config would produce different files.
GENERATOR_VERSION = "twin-1.1.1"
#: The true default probability of every client (never read by feature or model code).
TRUTH_FILE = "twin_truth.parquet"
#: What was generated, how, and how well an oracle does.
MANIFEST_FILE = "twin.json"

#: Clients per side-table chunk: bounds memory (the chunk's bureau_balance rows) and
#: keeps the progress bar moving. Part of the output's definition: changing it changes
#: the bytes, so it is not a parameter.
CHUNK_CLIENTS = 16_384

ChunkFn = Callable[..., dict[str, dict[str, Column]]]
_BUREAU_TABLES = ("bureau", "bureau_balance")
_PREVIOUS_TABLES = (
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)


@dataclass(frozen=True)
class TwinConfig:
    """What to generate.

    Parameters
    ----------
    clients
        Rows of application_train; every other table scales linearly with it.
    seed
        Seed of all randomness: the same config writes the same bytes.
    drift
        Strength of the production drift of application_test (an older population with
        higher incomes, a little more credit, fewer revolving loans), growing along the
        test ids; 0 draws the test clients from the training population.
    test_share
        Rows of application_test relative to application_train.
    """

    clients: int = 30_000
    seed: int = 42
    drift: float = 1.0
    test_share: float = 48_744 / 307_511

    def __post_init__(self) -> None:
        if self.clients < 100:
            raise ValueError("a twin needs at least 100 clients (every table must get rows)")
        if not 0.0 < self.test_share <= 1.0:
            raise ValueError("test_share must be in (0, 1]")
        if self.drift < 0.0:
            raise ValueError("drift must be >= 0")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")

    @property
    def test_clients(self) -> int:
        """Rows of application_test."""
        return max(1, round(self.clients * self.test_share))


def expected_rows(config: TwinConfig) -> dict[str, int]:
    """Rows each table has on average for ``config``: the Kaggle counts scaled linearly.

    Examples
    --------
    >>> expected_rows(TwinConfig(clients=307_511))["bureau"]
    1716428
    """
    total = config.clients + config.test_clients
    out = {"application_train": config.clients, "application_test": config.test_clients}
    for name, table in TABLES.items():
        if name not in out:
            out[name] = round(table.kaggle_rows * total / KAGGLE_CLIENTS)
    return out


def _chunks(n: int) -> Iterator[tuple[int, slice]]:
    for i, start in enumerate(range(0, n, CHUNK_CLIENTS)):
        yield i, slice(start, min(start + CHUNK_CLIENTS, n))


class _Progress:
    """A tqdm bar over the generation steps (or nothing)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="twin", unit="step")

    def step(self, label: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _application_columns(clients: Clients, rows: np.ndarray, name: str) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for c in TABLES[name].column_names:
        v = clients.columns[c]
        out[c] = v.take(rows) if isinstance(v, Cat) else np.asarray(v)[rows]
    return out


def _reserve_ids(
    seed: int, stage: int, counts: IntArray, start: int, span: int
) -> tuple[IntArray, IntArray]:
    """Distinct random ids for all records, and each client's offset into them: chunks
    take their slice, so ids never depend on the chunking."""
    ids = distinct_ids(child_rng(seed, stage), int(counts.sum()), start, span)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return ids, offsets


def _write_side_tables(
    config: TwinConfig,
    clients: Clients,
    tmp: Path,
    progress: _Progress,
) -> dict[str, int]:
    """Generate and write the six side tables, chunk by chunk of clients."""
    # (progress label, records per client, id range, chunk function); each stage's ids
    # come from their own stream (key 2 + stage).
    stages: tuple[tuple[str, IntArray, int, int, ChunkFn], ...] = (
        ("bureau", clients.n_bureau, BUREAU_ID_START, BUREAU_ID_SPAN, bureau_chunk),
        ("previous", clients.n_previous, PREVIOUS_ID_START, PREVIOUS_ID_SPAN, previous_chunk),
    )
    writers = {
        name: CsvTableWriter(tmp, TABLES[name]) for name in (*_BUREAU_TABLES, *_PREVIOUS_TABLES)
    }
    background = BackgroundWriter()
    try:
        for stage, (label, counts, start, span, chunk_fn) in enumerate(stages):
            ids, offsets = _reserve_ids(config.seed, 2 + stage, counts, start, span)
            for i, part in _chunks(len(clients)):
                own = ids[offsets[part.start] : offsets[part.stop]]
                for name, cols in chunk_fn(config.seed, i, clients, part, own).items():
                    background.submit(writers[name], cols)
                progress.step(f"{label} {part.stop}/{len(clients)}")
        background.close()
    except BaseException:
        background.close(check=False)
        raise
    finally:
        for w in writers.values():
            w.close()
    return {name: w.rows for name, w in writers.items()}


def generate_twin(config: TwinConfig, out_dir: Path, *, progress: bool = True) -> dict[str, Any]:
    """Write the eight CSVs, the truth and the manifest into ``out_dir``.

    Everything is written into a temporary sibling directory that replaces ``out_dir``
    only once all files are complete: a failure leaves ``out_dir`` as it was.

    Parameters
    ----------
    config
        What to generate.
    out_dir
        The directory to (re)place.
    progress
        Show a progress bar.

    Returns
    -------
    dict
        The manifest (also written as ``twin.json``): generator version, config, rows per
        table, default rate, oracle AUC on train, generation seconds.
    """
    started = time.perf_counter()
    n_chunks = -(-(config.clients + config.test_clients) // CHUNK_CLIENTS)
    bar = _Progress(total=3 + 2 * n_chunks, enabled=progress)
    try:
        with atomic_directory(Path(out_dir)) as tmp:
            clients = build_clients(config.seed, config.clients, config.test_clients, config.drift)
            bar.step("clients")
            rows: dict[str, int] = {}
            for name, mask in (
                ("application_train", ~clients.is_test),
                ("application_test", clients.is_test),
            ):
                with CsvTableWriter(tmp, TABLES[name]) as writer:
                    writer.write(_application_columns(clients, np.flatnonzero(mask), name))
                rows[name] = writer.rows
            bar.step("application")
            rows.update(_write_side_tables(config, clients, tmp, bar))
            manifest = _finish(config, clients, tmp, rows, started)
            bar.step("truth")
    finally:
        bar.close()
    return manifest


def _finish(
    config: TwinConfig, clients: Clients, tmp: Path, rows: dict[str, int], started: float
) -> dict[str, Any]:
    truth = pd.DataFrame(
        {
            "SK_ID_CURR": clients.ids,
            "split": np.where(clients.is_test, "test", "train"),
            "probability_default": clients.probability,
        }
    )
    truth.to_parquet(tmp / TRUTH_FILE, index=False)
    train = ~clients.is_test
    target = clients.target[train]
    manifest: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "config": asdict(config),
        "rows": {name: int(rows[name]) for name in TABLES},
        "expected_rows": expected_rows(config),
        "default_rate": round(float(target.mean()), 6),
        "mean_probability_train": round(float(clients.probability[train].mean()), 6),
        "mean_probability_test": round(float(clients.probability[clients.is_test].mean()), 6),
        "oracle_auc_train": round(float(roc_auc_score(target, clients.probability[train])), 6),
        "files": [TABLES[name].file_name for name in TABLES] + [TRUTH_FILE],
    }
    # The manifest is part of data/raw, which dvc.lock hashes: no duration in it.
    (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest | {"generation_seconds": round(time.perf_counter() - started, 3)}
