"""The `credit-scoring` command, as a user types it."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from credit_scoring.cli import app

runner = CliRunner()


def test_help_lists_the_commands_in_pipeline_order():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = re.findall(r"^[│|] (\w[\w-]*) ", result.output, flags=re.MULTILINE)
    assert listed == [
        "data",
        "features",
        "train",
        "explain",
        "slides",
        "site",
        "api",
        "score-batch",
        "report",
    ]


def test_data_help_describes_each_command():
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0
    for command in ("generate", "validate", "prepare"):
        assert command in result.output


def test_generate_writes_the_eight_files(tmp_path):
    out = tmp_path / "twin"
    result = runner.invoke(
        app, ["data", "generate", "--clients", "200", "--seed", "5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.csv"))) == 8
    assert "oracle AUC" in result.output


def test_generate_refuses_too_few_clients(tmp_path):
    result = runner.invoke(app, ["data", "generate", "--clients", "5", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "clients" in result.output


def test_validate_reports_the_tables_of_a_valid_folder(tiny_kaggle_dir):
    result = runner.invoke(app, ["data", "validate", str(tiny_kaggle_dir)])
    assert result.exit_code == 0, result.output
    assert "bureau_balance" in result.output


def test_validate_names_the_file_and_column_of_a_bad_value(tiny_kaggle_dir):
    bureau = tiny_kaggle_dir / "bureau.csv"
    lines = bureau.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("DAYS_CREDIT")] = "yesterday"
    bureau.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    result = runner.invoke(app, ["data", "validate", str(tiny_kaggle_dir)])
    assert result.exit_code == 1
    assert "bureau.csv" in result.output
    assert "DAYS_CREDIT" in result.output


def test_validate_says_when_a_folder_has_no_kaggle_files(tmp_path):
    result = runner.invoke(app, ["data", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "no Kaggle" in result.output


def test_normalise_names_a_notebook_that_is_not_there(tmp_path):
    missing = tmp_path / "eda.ipynb"
    result = runner.invoke(app, ["report", "normalise", str(missing)])
    assert result.exit_code == 1
    said = result.output.replace("\n", "")  # rich wraps long paths
    assert f"{missing}: no executed notebook here" in said


def test_normalised_report_keeps_its_outputs_and_logs_stderr(tmp_path, monkeypatch):
    import nbformat

    from credit_scoring import paths

    monkeypatch.setattr(paths, "LOGS_DIR", tmp_path / "logs")
    cell = nbformat.v4.new_code_cell("print(1)", id="random-id")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-12-03T16:32:21.874170Z"}
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stderr", text="ConstantInputWarning in /abs\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["papermill"] = {"start_time": "2026-12-03T16:32:21", "parameters": {"seed": 1}}
    path = tmp_path / "eda.ipynb"
    nbformat.write(nb, path)
    result = runner.invoke(app, ["report", "normalise", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "2026-12-03" not in text and "random-id" not in text and "/abs" not in text
    clean = nbformat.read(path, as_version=4)
    assert clean.metadata["papermill"] == {"parameters": {"seed": 1}}
    assert [o["text"] for o in clean.cells[0].outputs] == ["1\n"]
    assert "ConstantInputWarning" in (tmp_path / "logs" / "eda.log").read_text()
