"""A notebook with the workbench stays light when saved with its widget state.

The quick-start notebook's workbench cell, run on a 1024² series by nbclient with
``store_widget_state=True`` (what saving the widget state does), is written to disk: the
frames travel as messages, never in the widget state, so the file stays under 1 MB.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient
from testpaths import NOTEBOOKS

QUICKSTART = NOTEBOOKS / "quickstart.ipynb"
MIME = "application/vnd.jupyter.widget-state+json"


@pytest.mark.slow
def test_saved_quickstart_with_a_1024_stack_is_under_1_mb(tmp_path):
    nb = nbformat.read(QUICKSTART, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "size=256" in code[1].source  # the workbench cell
    code[1].source = code[1].source.replace("size=256", "size=1024")
    # the frames change after the cell: a slider value and another projection
    steps = nbformat.v4.new_code_cell("wb.tilt_shift = 0.5\nwb.tilt_index = 40\nwb.wait()\n"
                                      "wb.stack.data.shape")
    nb.cells = [nb.cells[0], code[0], code[1], steps]
    NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, str(path))
    assert "(90, 1024, 1024)" in json.dumps(nb.cells[-1].outputs)
    state = nb.metadata["widgets"][MIME]["state"]
    workbench = [m for m in state.values() if "tilt_shift" in m["state"]]
    assert len(workbench) == 1 and workbench[0]["state"]["tilt_shift"] == 0.5
    assert not {"tilt_frame", "slices_frame", "sino_frame"} & set(workbench[0]["state"])
    size = path.stat().st_size
    assert size < 1_000_000, f"the saved notebook is {size / 1e6:.2f} MB"
