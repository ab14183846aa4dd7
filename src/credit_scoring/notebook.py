"""Executed notebooks as reproducible reports: the same inputs give the same bytes.

papermill stamps every cell with clock times and durations, gives the injected parameters
cell a random id, and keeps whatever a library printed on stderr (warnings, with the absolute
path of the environment). None of that is part of the report, and all of it would change the
hash DVC records. :func:`normalise` removes it; what was printed on stderr moves to the
stage's log (``data/logs/<report>.log``), where a data scientist still finds it.

Examples
--------
>>> import nbformat, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> nb = nbformat.v4.new_notebook()
>>> cell = nbformat.v4.new_code_cell("1 + 1")
>>> cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
>>> cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: x\\n"),
...                 nbformat.v4.new_output("execute_result", data={"text/plain": "2"})]
>>> nb.cells = [cell]
>>> nbformat.write(nb, folder / "demo.ipynb")
>>> normalise(folder / "demo.ipynb", logs_dir=folder)
1
>>> clean = nbformat.read(folder / "demo.ipynb", as_version=4)
>>> clean.cells[0].id, dict(clean.cells[0].metadata), len(clean.cells[0].outputs)
('cell-0', {}, 1)
>>> (folder / "demo.log").read_text().strip()
'[cell 0] UserWarning: x'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat

from credit_scoring import paths

#: What papermill's notebook metadata keeps: the run's inputs, none of its clock.
KEPT_PAPERMILL_KEYS = ("parameters", "input_path", "output_path", "version")
#: Cell metadata that records how a run went rather than what the cell is.
RUN_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled")


def normalise(path: Path | str, logs_dir: Path | None = None) -> int:
    """Rewrite an executed notebook without clock times, random ids or stderr output.

    Parameters
    ----------
    path
        The executed notebook (rewritten in place, atomically).
    logs_dir
        Where ``<notebook name>.log`` receives the stderr output removed from the cells
        (``data/logs/`` by default); the file is replaced at each run.

    Returns
    -------
    int
        The number of stderr outputs moved to the log.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    papermill = nb.metadata.get("papermill")
    if papermill is not None:
        nb.metadata["papermill"] = {k: papermill[k] for k in KEPT_PAPERMILL_KEYS if k in papermill}
    moved: list[str] = []
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
        for key in RUN_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                moved.append(f"[cell {index}] {output.get('text', '').rstrip()}")
            else:
                kept.append(output)
        cell.outputs = kept
    logs_dir = Path(logs_dir or paths.LOGS_DIR)
    logs_dir.mkdir(parents=True, exist_ok=True)
    (logs_dir / f"{path.stem}.log").write_text(
        "".join(f"{line}\n" for line in moved), encoding="utf-8"
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".ipynb")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)
    return len(moved)
