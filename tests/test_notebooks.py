"""Every teaching notebook in notebooks/ runs top to bottom in a fresh kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# calls that read ETSpy's published test data: a notebook using one needs them
DATA_CALLS = ("get_needle_data(", "data_file(", "data_folder(")


def needs_test_data(nb) -> bool:
    """Whether a notebook's code reads ETSpy's test data."""
    return any(call in cell.source for cell in nb.cells if cell.cell_type == "code"
               for call in DATA_CALLS)


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb files"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, request, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    if needs_test_data(nb):  # skipped, saying why, without them; the kernel is told where
        monkeypatch.setenv("ETSPY_WIDGETS_DATA", str(request.getfixturevalue("data_dir")))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}},
                            store_widget_state=True)
    client.execute()
    errors = [
        out for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]
    assert not errors, errors
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells and all(c.get("execution_count") for c in code_cells)


def test_the_needle_notebook_is_known_to_need_the_data():
    by_name = {p.stem: needs_test_data(nbformat.read(p, as_version=4)) for p in NOTEBOOKS}
    assert by_name.get("needle_workflow") is True
    assert by_name.get("quickstart") is False
