"""examples/quickstart.ipynb, executed top to bottom in a real Jupyter kernel (nbclient +
ipykernel), against the fake Kaggle server, as a new user would run it.

The kernel is a child process with this test's environment: its own HOME (with
``~/Downloads/kaggle.json``), cache, and ``KAGGLE_API_ENVIRONMENT=TEST``. The test reads
what the notebook showed: the HTML repr, the contact sheet, the summary line, no traceback
but where the notebook errs on purpose, no secret anywhere.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import assert_secretless
from kaggle_server import TEST_KEY, TEST_USERNAME, FakeKaggle
from nbclient import NotebookClient
from PIL import Image
from synthetic_images import SHAPES, shapes_files

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"


def output_text(output: dict[str, Any]) -> str:
    """Everything an output shows as text: streams, text/plain, HTML, tracebacks."""
    if output["output_type"] == "stream":
        return str(output["text"])
    if output["output_type"] == "error":
        return "\n".join([output["ename"], output["evalue"], *output["traceback"]])
    data = output.get("data", {})
    return "\n".join(str(v) for k, v in data.items() if k.startswith("text/"))


def cell_text(cell: Any) -> str:
    return "\n".join(output_text(o) for o in cell.get("outputs", []))


def find_cell(nb: Any, source: str) -> Any:
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source)]
    assert len(cells) == 1, source
    return cells[0]


def run_notebook(work: Path) -> Any:
    """Execute the notebook in a new kernel started in ``work``; return it with its outputs."""
    work.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()
    return nb


@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom_in_a_real_kernel(
    fake_kaggle: FakeKaggle, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_kaggle.add_dataset("kagman-demo/shapes", shapes_files())
    downloads = isolated_env / "Downloads"
    downloads.mkdir()
    secret_file = downloads / "kaggle.json"
    secret_file.write_text(json.dumps({"username": TEST_USERNAME, "key": TEST_KEY}))
    # a user's own machine: ~/.kaggle, not the suite's KAGGLE_CONFIG_DIR (kaggle is imported
    # before ~/.kaggle exists, so it picks ~/.config/kaggle until kagman.init points it back)
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    for name in ("KAGMAN_PROGRESS", "KAGMAN_DEBUG", "PYTHONWARNINGS"):
        monkeypatch.delenv(name, raising=False)

    nb = run_notebook(tmp_path / "work")

    everything = "\n".join(cell_text(c) for c in nb.cells if c.cell_type == "code")
    assert_secretless(everything)
    raw = json.dumps(nb)  # also the widget states and images, nothing may hold the key
    assert TEST_KEY not in raw

    # init from the download: the path, and the reminder that the download holds the key
    assert "Authentication required" in cell_text(find_cell(nb, "import kaggle"))  # kaggle's own
    init = find_cell(nb, 'kagman.init("~/Downloads/kaggle.json")')
    text = cell_text(init)
    assert str(isolated_env / ".kaggle" / "kaggle.json") in text
    assert f"KeyCopyWarning: {secret_file} still holds a copy of your key" in text
    # ... and the kaggle module imported first sees it, without a restart
    assert TEST_USERNAME in cell_text(find_cell(nb, 'kaggle.api.config_values["username"]'))
    status = find_cell(nb, "kagman.credentials_status()").outputs[0]["data"]["text/html"]
    assert "Kaggle credentials" in status
    assert str(isolated_env / ".kaggle") in status

    # the pull: one summary line that stays, on stderr in the cell; the cache hit says nothing
    pull = find_cell(nb, "path = kagman.pull(REF)")
    streams = [o for o in pull.outputs if o["output_type"] == "stream"]
    summary = [o["text"] for o in streams if o["name"] == "stderr"]
    n_files = len(shapes_files()) - 1  # .DS_Store is skipped
    cache = Path(os.environ["KAGMAN_CACHE"]) / "datasets/kagman-demo/shapes/versions/1"
    assert re.search(
        rf"^kagman-demo/shapes v1: {n_files} files, [\d.]+ KiB, downloaded in [\d.]+ s "
        rf"-> {re.escape(str(cache))}$",
        "".join(summary),
        re.MULTILINE,
    ), summary
    assert "TqdmWarning" not in "".join(summary)
    assert not [o for o in pull.outputs if o["output_type"] == "stream" and o["name"] == "stdout"]
    hit = find_cell(nb, "kagman.pull(REF) == path")
    assert [o["output_type"] for o in hit.outputs] == ["execute_result"]
    assert hit.outputs[0]["data"]["text/plain"] == "True"

    # the HTML repr: class names and their counts
    repr_cell = find_cell(nb, "idx = kagman.index(path)")
    html = next(o for o in repr_cell.outputs if o["output_type"] == "execute_result")["data"][
        "text/html"
    ]
    for name, per_split in SHAPES.items():
        assert f">{name}</th>" in html
        for n in per_split.values():
            assert f"{n:,}</td>" in html
    assert "MissingClassWarning: Split 'test' has no images of 1 class: 'star'" in cell_text(
        repr_cell
    )
    assert html.count("data:image/jpeg;base64,") >= 4 * 3  # the thumbnail strip

    # the contact sheet is an image/png output
    sheet = find_cell(nb, "idx.show(")
    data = next(o for o in sheet.outputs if o["output_type"] == "execute_result")["data"]
    png = base64.b64decode(data["image/png"])
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        assert im.height > len(SHAPES) * 80

    batches = find_cell(nb, "paths, labels = next(idx.batches(")
    assert batches.outputs[0]["data"]["text/plain"].startswith("(8, [")

    # no traceback anywhere but the cell that errs on purpose, and that one is short
    error_cell = find_cell(nb, 'kagman.pull("kagman-demo/no-such-dataset")')
    for cell in nb.cells:
        if cell.cell_type == "code" and cell is not error_cell:
            assert "Traceback" not in cell_text(cell), cell.source
            assert not [o for o in cell.outputs if o["output_type"] == "error"], cell.source
    (error,) = [o for o in error_cell.outputs if o["output_type"] == "error"]
    assert error["ename"] == "DatasetNotFoundError"
    shown = "\n".join(error["traceback"])
    assert "kagman-demo/no-such-dataset" in shown
    assert "(Caused by " in shown
    for internal in ("requests", "urllib3", "kagglesdk", "kagman/remote", "raise_for_status"):
        assert internal not in shown.split("(Caused by")[0], internal
    frames = re.findall(r"^(?:\x1b\[[0-9;]*m)*(?:File|Cell) ", shown, re.MULTILINE)
    assert len(frames) <= 1, shown  # the user's own line, not 18 frames of internals
