"""Time and memory of ingesting the eight tables: per-table seconds, rows and peak RSS.

Usage::

    .venv/bin/python tests/benchmarks/ingest_scale.py [DIR] [--mode ingest|validate|read]

``DIR`` holds the eight CSV files or the Kaggle zip (default: ``data/raw/twin``). Modes:

- ``ingest`` (default): :func:`~credit_scoring.data.ingest.ingest` into a temporary directory
  beside the system temp dir (removed afterwards): strict read, validation, orphan counts, parquet.
- ``validate``: the same without writing (:func:`~credit_scoring.data.ingest.validate_source`).
- ``read``: :func:`~credit_scoring.data.ingest.read_table` table by table, the pandas frames a
  notebook would get (each frame is dropped before the next table).

Peak RSS per table is the process high-water mark while that table was processed (reset between
tables through ``/proc/self/clear_refs`` where the kernel allows it, otherwise cumulative).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from credit_scoring import paths
from credit_scoring.data.ingest import (
    TableReport,
    find_kaggle_source,
    ingest,
    read_table,
    validate_source,
)
from credit_scoring.data.schema import TABLES


def _peak_rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _Clock:
    """Per-table seconds and peak RSS, from one table's end to the next one's."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.resettable = _reset_peak()
        self.start = time.perf_counter()

    def tick(self, table: str, rows: int) -> None:
        now = time.perf_counter()
        self.rows.append(
            {
                "table": table,
                "rows": rows,
                "seconds": round(now - self.start, 2),
                "peak_rss_gb": round(_peak_rss_bytes() / 1e9, 2),
            }
        )
        print(
            f"{table:24s} {rows:>12,} rows {now - self.start:8.1f} s "
            f"{_peak_rss_bytes() / 1e9:6.2f} GB peak",
            flush=True,
        )
        gc.collect()
        _reset_peak()
        self.start = time.perf_counter()

    def on_table(self, report: TableReport) -> None:
        self.tick(report.table, report.rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=paths.TWIN_DIR)
    parser.add_argument("--mode", choices=("ingest", "validate", "read"), default="ingest")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    source = find_kaggle_source(args.directory)
    if source is None:
        parser.error(f"{args.directory} holds neither the eight CSV files nor a Kaggle zip")
    print(f"{args.mode}: {source.description}", flush=True)
    clock = _Clock()
    started = time.perf_counter()
    if args.mode == "read":
        for table in TABLES:
            frame = read_table(source, table)
            rows = len(frame)
            del frame
            clock.tick(table, rows)
    elif args.mode == "validate":
        validate_source(source, on_table=clock.on_table)
    else:
        with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
            ingest(source, Path(tmp) / "interim", on_table=clock.on_table)
            written = sum(p.stat().st_size for p in (Path(tmp) / "interim").iterdir())
            print(f"parquet + report written: {written / 1e9:.2f} GB")
    total = time.perf_counter() - started
    # Resetting the high-water mark also lowers getrusage's maxrss: the run's peak is the
    # largest per-table peak.
    peak = max([_peak_rss_bytes(), *(int(r["peak_rss_gb"] * 1e9) for r in clock.rows)])
    print(
        f"{'total':24s} {sum(r['rows'] for r in clock.rows):>12,} rows {total:8.1f} s "
        f"{peak / 1e9:6.2f} GB peak (whole run)"
    )
    if not clock.resettable:
        print("(per-table peaks are cumulative: /proc/self/clear_refs not writable)")
    figures = {
        "mode": args.mode,
        "source": source.to_dict(),
        "tables": clock.rows,
        "total_seconds": round(total, 2),
        "peak_rss_gb": round(peak / 1e9, 2),
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
