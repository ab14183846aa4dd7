"""Prepare the build context of the images (``make image``): the locked wheels, offline.

The images install nothing from the network: this script, on the host, writes into
``.image-build/`` (git-ignored)

- ``requirements-api.txt`` and ``requirements-dashboard.txt``: the lines of ``uv export
  --frozen`` (the project's lock) restricted to what each image serves: the closure, in the
  lock, of a few root distributions (:data:`ROOTS`), so no training stack (DVC, Optuna,
  Evidently, Fairlearn, papermill, Jupyter in the API image...);
- ``wheels/``: those wheels, downloaded once (``pip download --no-deps``, pinned) and kept
  between runs, so a warm build downloads nothing;
- ``credit_scoring-*.whl``: the project itself (``uv build --wheel``);
- ``bundle/``: what the API serves, laid out as a project root (``CREDIT_SCORING_ROOT``):
  the registered champion (the MLflow store reduced to it, its paths rewritten for the
  image), the production batch's and the training table's features (the comparisons'
  reference population), the ingested tables, the explanations, the model
  card's metrics, the scorecard and ``params.yaml``.

Usage: ``python deploy/context.py [--root PROJECT_ROOT] [--out .image-build]``. The project
root defaults to this checkout (after ``make repro``); the smoke test passes a small
one it built (:mod:`tests.images.smoke`).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
#: The Python the venv was made from, with uv and pip (the venv has neither).
HOST_PYTHON = os.environ.get("HOST_PYTHON") or getattr(sys, "_base_executable", "python3")
#: Where the images find the project root (``CREDIT_SCORING_ROOT``) inside the container.
IMAGE_ROOT = "/srv/credit-scoring"
#: The distributions each image imports; the rest of its requirements is their closure.
#: The API loads the champion from the MLflow registry: mlflow-skinny and its SQLite store
#: (SQLAlchemy, Alembic), not the tracking server, UI and its plotting stack.
ROOTS: dict[str, list[str]] = {
    "api": [
        "fastapi",
        "uvicorn",
        "pydantic",
        "typer",
        "rich",
        "pyyaml",
        "httpx",
        "numpy",
        "pandas",
        "pyarrow",
        "scipy",
        "duckdb",
        "polars",
        "pandera",
        "scikit-learn",
        "lightgbm",
        "xgboost-cpu",
        "imbalanced-learn",
        "shap",
        "optbinning",
        "mlflow-skinny",
        "sqlalchemy",
        "alembic",
        "skops",
    ],
    # The dashboard scores through the API, but its phrasebook comes from
    # credit_scoring.explain, whose package imports the modelling code: the model stack too.
    "dashboard": ["voila", "ipywidgets", "ipykernel", "matplotlib"],
}
ROOTS["dashboard"] = ROOTS["api"] + ROOTS["dashboard"]

#: What the API reads besides the registry (paths relative to the project root).
SERVED = [
    "params.yaml",
    "dvc.yaml",
    "data/interim",
    "data/features/production.parquet",
    "data/features/train.parquet",  # the comparisons' reference population
    "data/metrics",
    "data/models/summary.json",
    "data/models/scorecard.json",
    "data/models/champion.json",
    "data/reports/explain/explanations.parquet",
]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^ ;]+)")


def closure(roots: list[str]) -> set[str]:
    """Canonical names of ``roots`` and everything they require, as installed here."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = sorted(req.extras)
        key = name + "[" + ",".join(extras) + "]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        try:
            requires = md.requires(req.name) or []
        except md.PackageNotFoundError:
            raise SystemExit(f"{req.name}: not installed in this venv (make install)") from None
        for line in requires:
            sub = Requirement(line)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append(sub)
    return {s for s in seen if "[" not in s}


def locked() -> dict[str, str]:
    """Canonical name -> pinned version, from ``uv export --frozen`` (the lock)."""
    out = subprocess.run(
        [
            HOST_PYTHON,
            "-m",
            "uv",
            "export",
            "--frozen",
            "--no-hashes",
            "--no-emit-project",
            "--no-dev",
            "--no-header",
            "--no-annotate",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = {}
    for line in out.splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def requirements(target: str, pins: dict[str, str]) -> list[str]:
    names = closure(ROOTS[target])
    missing = sorted(n for n in names if n not in pins)
    if missing:
        raise SystemExit(f"{target}: not in uv.lock: {', '.join(missing)}")
    return [f"{n}=={pins[n]}" for n in sorted(names)]


def _have(wheels: Path, pin: str) -> bool:
    name, version = pin.split("==")
    stem = canonicalize_name(name).replace("-", "_")
    for wheel in wheels.glob("*.whl"):
        parts = wheel.name.split("-")
        if canonicalize_name(parts[0]).replace("-", "_") == stem and parts[1] == version:
            return True
    return False


def download(pins: list[str], wheels: Path) -> int:
    """Download the wheels not yet in ``wheels``; the number downloaded."""
    wheels.mkdir(parents=True, exist_ok=True)
    todo = [p for p in pins if not _have(wheels, p)]
    if todo:
        subprocess.run(
            [
                HOST_PYTHON,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11.14",
                "--platform",
                "manylinux2014_x86_64",
                "--platform",
                "manylinux_2_28_x86_64",
                "--platform",
                "linux_x86_64",
                "--implementation",
                "cp",
                "--dest",
                str(wheels),
                *todo,
            ],
            check=True,
        )
    return len(todo)


def champion_store(src: Path, dest: Path, root_uri_from: str) -> None:
    """Copy the MLflow store reduced to the champion's artifacts, paths rewritten for the image."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "mlflow.db", dest / "mlflow.db")
    db = sqlite3.connect(dest / "mlflow.db")
    try:
        rows = db.execute(
            "SELECT v.storage_location FROM model_versions v JOIN registered_model_aliases a "
            "ON a.name = v.name AND a.version = v.version WHERE a.alias = 'champion'"
        ).fetchall()
        if not rows:
            raise SystemExit(f"{src}: no registered champion (run the train stage first)")
        image_uri = f"file://{IMAGE_ROOT}/data/mlflow"
        for (location,) in rows:
            relative = location.removeprefix(root_uri_from).lstrip("/")
            shutil.copytree(src / relative, dest / relative, dirs_exist_ok=True)
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for column in db.execute(f'PRAGMA table_info("{table}")').fetchall():
                if column[2].upper().startswith(("VARCHAR", "TEXT")):
                    db.execute(
                        f'UPDATE "{table}" SET "{column[1]}" = '
                        f'replace("{column[1]}", ?, ?) WHERE "{column[1]}" LIKE ?',
                        (root_uri_from, image_uri, f"%{root_uri_from}%"),
                    )
        db.commit()
    finally:
        db.close()


def bundle(root: Path, dest: Path) -> None:
    """The served files of project ``root``, laid out as a project root in ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    for rel in SERVED:
        src = root / rel
        if not src.exists():
            if rel.endswith(("champion.json", "scorecard.json", "dvc.yaml")):
                continue  # optional: the API answers without them
            raise SystemExit(f"{src}: missing (run make repro first)")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=False)
        else:
            shutil.copy2(src, target)
    store = (root / "data" / "mlflow").resolve()
    champion_store(store, dest / "data" / "mlflow", store.as_uri())
    # Readable by the image's user whatever the host's umask (MLflow writes some files 0600).
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    # MLflow 3 rewrites this file of a local model each time it loads it: the one file the
    # image's user may write.
    for mlmodel in dest.glob("data/mlflow/artifacts/models/*/artifacts/MLmodel"):
        meta = mlmodel.with_name("registered_model_meta")
        meta.touch()  # a champion never loaded yet has none, and the folder is read-only
        meta.chmod(0o666)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="project root served")
    parser.add_argument("--out", type=Path, default=REPO / ".image-build")
    parser.add_argument("--wheels", type=Path, help="wheel cache (default: OUT/wheels)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    pins = locked()
    every: list[str] = []
    for target in ROOTS:
        lines = requirements(target, pins)
        (out / f"requirements-{target}.txt").write_text("\n".join(lines) + "\n")
        every += lines
        print(f"{target}: {len(lines)} locked distributions (of {len(pins)} in uv.lock)")
    wheels = args.wheels or out / "wheels"
    fetched = download(sorted(set(every)), wheels)
    if wheels.resolve() != (out / "wheels").resolve():
        # The build context holds the wheels: hard links to the cache (copies across devices).
        shutil.rmtree(out / "wheels", ignore_errors=True)
        (out / "wheels").mkdir()
        for wheel in wheels.glob("*.whl"):
            try:
                os.link(wheel, out / "wheels" / wheel.name)
            except OSError:
                shutil.copy2(wheel, out / "wheels" / wheel.name)
    print(f"wheels: {fetched} downloaded, the rest from the cache {wheels}")
    for old in out.glob("credit_scoring-*.whl"):
        old.unlink()
    subprocess.run(
        [HOST_PYTHON, "-m", "uv", "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)],
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    bundle(args.root.resolve(), out / "bundle")
    shutil.copy2(REPO / "notebooks" / "dashboard.ipynb", out / "dashboard.ipynb")
    print(f"bundle: {args.root.resolve()} -> {out / 'bundle'}")


if __name__ == "__main__":
    main()
