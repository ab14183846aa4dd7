"""Time and peak memory of the data twin generator at several scales.

Each scale runs in a fresh child process, so its peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss`` of the child, plus that of its own children) is its
own. Prints one row per scale: clients, seconds, peak MB, total rows, size on disk.

Usage::

    .venv/bin/python tests/benchmarks/twin_scale.py --scales 0.1 0.3 1.0
    .venv/bin/python tests/benchmarks/twin_scale.py --scales 1.0 --out /tmp/twin --keep
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KAGGLE_TRAIN = 307_511


def child(clients: int, seed: int, out: Path) -> None:
    """Generate one twin and print its measurements as JSON (runs in the child)."""
    from credit_scoring.data.twin import TwinConfig, generate_twin

    started = time.perf_counter()
    manifest = generate_twin(TwinConfig(clients=clients, seed=seed), out, progress=False)
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    size = sum(p.stat().st_size for p in out.iterdir())
    print(
        json.dumps(
            {
                "clients": clients,
                "seconds": seconds,
                "peak_mb": (own + kids) / 1024,  # ru_maxrss is in KiB on Linux
                "rows": sum(manifest["rows"].values()),
                "disk_mb": size / 1e6,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="where to write (temp dir if unset)")
    parser.add_argument("--keep", action="store_true", help="keep the generated twins")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        child(args.child, args.seed, args.out)
        return

    root = args.out or Path(tempfile.mkdtemp(prefix="twin_scale_"))
    header = (
        f"{'scale':>6} {'clients':>9} {'seconds':>8} {'peak MB':>8} {'rows':>12} {'disk MB':>8}"
    )
    print(header)
    print("-" * len(header))
    try:
        for scale in args.scales:
            clients = round(KAGGLE_TRAIN * scale)
            out = root / f"twin_{clients}"
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(clients),
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(out),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            m = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{scale:>6.2f} {m['clients']:>9,} {m['seconds']:>8.1f} {m['peak_mb']:>8.0f} "
                f"{m['rows']:>12,} {m['disk_mb']:>8.0f}",
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if args.out is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
