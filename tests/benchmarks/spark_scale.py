"""Time and peak memory of the features stage on DuckDB and on Spark, at 10 %, 30 % and 100 %.

Usage::

    .venv/bin/python tests/benchmarks/spark_scale.py [--scales 0.1 0.3 1] [--clients N ...]
        [--root DIR] [--master local[2]] [--partitions 8] [--driver-memory-mb 3000]
        [--json OUT]

For each scale, a data twin of ``round(307,511 x scale)`` training clients is generated and
ingested once into ``ROOT/s<percent>/interim``, the twins of ``features_scale.py`` (same default
ROOT: they are shared); ``--clients N`` asks for a twin of N training clients instead, in
``ROOT/c<N>/interim``. On the same files, each engine runs the whole features stage
(:func:`~credit_scoring.features.build_feature_tables`: read, history aggregates, application and
cross features, both Parquet tables written) in a fresh process:

- ``duckdb``: the default engine, 2 threads, 3 GB memory limit; peak RSS from ``wait4``.
- ``spark``: ``--master`` (``local[2]`` by default: Spark on the same two cores). The session
  starts first, timed apart (``startup_s``: the JVM, a few seconds on any cluster too); the
  stage's time then counts the queries only. Peak memory is the Python driver's peak RSS plus
  the Spark JVM's (its ``VmHWM``, read before it stops): in local mode the JVM holds the
  executors.

``history_s`` is the history step alone (the SQL catalog), where the engines differ; the rest of
the stage (application and cross features, the writes) is the same pandas and Arrow code.
Spark on two cores is slower than DuckDB: the figure is the cost of running the very same SQL
where it scales out, on a cluster, with more cores and memory than one machine holds.

``--json OUT`` writes the figures; ``docs/benchmarks/spark_scale.json`` is the file the site's
"Passer à l'échelle" page quotes (``credit_scoring.site``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from credit_scoring.features import build_feature_tables
from credit_scoring.features.engine import SIDE_TABLES

sys.path.insert(0, str(Path(__file__).parent))
from features_scale import KAGGLE_TRAIN_CLIENTS, ensure_twin, twin_interim


def _rows(path: Path) -> int:
    return pq.read_metadata(path).num_rows


def _jvm_usage(spark: Any) -> dict[str, float]:
    """Peak RSS (GB) and CPU seconds of the Spark JVM this process launched, from /proc."""
    pid = spark.sparkContext._gateway.proc.pid
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "jvm_rss_gb": round(peak_kb * 1024 / 1e9, 2),
        "jvm_cpu_s": round((int(fields[11]) + int(fields[12])) / ticks, 1),
    }


def _run_child(engine: str, interim: Path, options: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    spark_settings = None
    session = None
    if engine == "spark":
        from credit_scoring.features import spark

        spark_settings = spark.SparkSettings(
            options["master"], options["partitions"], options["driver_memory_mb"]
        )
        started = time.perf_counter()
        session = spark.session(spark_settings)
        result["startup_s"] = round(time.perf_counter() - started, 2)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        metrics = build_feature_tables(
            interim, Path(out) / "features", engine_name=engine, spark_settings=spark_settings
        )
        result["seconds"] = round(time.perf_counter() - started, 2)
    result["history_s"] = metrics["seconds"]["history"]
    result["features"] = metrics["features"]
    if session is not None:
        result.update(_jvm_usage(session))
        session.stop()
    return result


def _child(engine: str, interim: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Run ``engine`` in a fresh interpreter; its figures, and its peak RSS from wait4."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-W", "ignore", __file__),
            *("--child", engine, str(interim), "--options", json.dumps(options)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{engine} failed on {interim}:\n{output[-2000:]}")
    result = json.loads(output.strip().splitlines()[-1])
    driver_gb = usage.ru_maxrss * 1024 / 1e9  # Linux: kilobytes
    cpu_s = usage.ru_utime + usage.ru_stime
    result["driver_rss_gb"] = round(driver_gb, 2)
    result["peak_rss_gb"] = round(driver_gb + result.get("jvm_rss_gb", 0.0), 2)
    result["cpu_s"] = round(cpu_s + result.get("jvm_cpu_s", 0.0), 1)
    result["load"] = round(os.getloadavg()[0], 1)
    return result


def measure(interim: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Both engines on one twin: its sizes and each engine's figures."""
    row: dict[str, Any] = {
        "clients_train": _rows(interim / "application_train.parquet"),
        "clients_production": _rows(interim / "application_test.parquet"),
        "history_rows": sum(_rows(interim / f"{t}.parquet") for t in SIDE_TABLES),
    }
    row["duckdb"] = _child("duckdb", interim, options)
    row["spark"] = _child("spark", interim, options)
    row["ratio"] = round(row["spark"]["seconds"] / row["duckdb"]["seconds"], 1)
    row["history_ratio"] = round(row["spark"]["history_s"] / row["duckdb"]["history_s"], 1)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument(
        "--clients", type=int, nargs="+", help="twins of these many clients instead of --scales"
    )
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "features_bench")
    parser.add_argument("--master", default="local[2]", help="Spark master URL")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    parser.add_argument("--driver-memory-mb", type=int, default=3000)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        engine, interim = args.child
        print(json.dumps(_run_child(engine, Path(interim), json.loads(args.options))))
        return 0

    options = {
        "master": args.master,
        "partitions": args.partitions,
        "driver_memory_mb": args.driver_memory_mb,
    }
    twins = (
        [(n / KAGGLE_TRAIN_CLIENTS, twin_interim(args.root / f"c{n}", n)) for n in args.clients]
        if args.clients
        else [(s, ensure_twin(args.root, s)) for s in args.scales]
    )
    results = []
    for scale, interim in twins:
        row = {"scale": round(scale, 4), **measure(interim, options)}
        duck, spark = row["duckdb"], row["spark"]
        print(
            f"[{scale:>6.1%}] {row['clients_train']:,} + {row['clients_production']:,} clients, "
            f"{row['history_rows']:,} history rows: DuckDB {duck['seconds']} s (history "
            f"{duck['history_s']} s, {duck['cpu_s']} s CPU), peak {duck['peak_rss_gb']} GB; "
            f"Spark {args.master} {spark['seconds']} s (history {spark['history_s']} s, "
            f"{spark['cpu_s']} s CPU) + {spark['startup_s']} s start-up, peak "
            f"{spark['peak_rss_gb']} GB (driver {spark['driver_rss_gb']} + JVM "
            f"{spark['jvm_rss_gb']}): {row['ratio']}x DuckDB's time (load {spark['load']})",
            flush=True,
        )
        results.append(row)
    if args.json:
        document = {
            "machine": {
                "cores": os.cpu_count(),
                "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9),
                "python": platform.python_version(),
            },
            "spark": options,
            "results": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
