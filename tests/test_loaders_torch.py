"""The README's Keras and PyTorch recipes, run as written, with the real frameworks.

Marker ``loaders``: the README's test command leaves these out (``-m "not loaders"`` in
pytest's options), because torch, torchvision and keras are several GB. ``.ci/run`` builds a
second virtual environment with them and runs ``python -m pytest -m loaders`` on this file.
The frameworks are imported inside the tests, so collecting this file never needs them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from readme_recipes import on_folder, recipe
from synthetic_images import CHEST_XRAY, chest_xray_files, write_files

import kagman

pytestmark = pytest.mark.loaders


@pytest.fixture
def chest_xray(tmp_path: Path) -> Path:
    """The README's own dataset shape: train, val and test (it ships a val split), the
    nested copy of the tree, __MACOSX, and a PNG named .jpeg."""
    return write_files(tmp_path, chest_xray_files()) / "chest_xray"


def run(code: str, **names: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {"kagman": kagman, **names}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    return scope


def test_the_torch_recipe_trains_from_a_dataloader(chest_xray: Path) -> None:
    import torch
    from torchvision.transforms import v2

    transform = v2.Compose(
        [v2.Resize((64, 64)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    )
    scope = run(on_folder(recipe("torch"), chest_xray), transform=transform)
    idx, train = scope["idx"], scope["train"]
    assert idx.splits == ["train", "val", "test"]
    assert idx.classes == ["NORMAL", "PNEUMONIA"]
    # the dataset's own val is kept: split(..., if_missing=True) carves none
    assert len(idx.paths("val")) == sum(per["val"] for per in CHEST_XRAY.values())
    assert len(idx.paths("train")) == sum(per["train"] for per in CHEST_XRAY.values())
    seen = 0
    for x, y in train:
        assert x.dtype == torch.float32
        assert x.shape[1:] == (3, 64, 64)
        assert y.dtype == torch.int64
        assert int(y.min()) >= 0
        assert int(y.max()) < len(idx.classes)
        seen += len(y)
    assert seen == len(idx.paths("train"))


def test_torchvision_read_image_reads_every_path(chest_xray: Path) -> None:
    import torch
    from torchvision.io import read_image

    idx = kagman.index(chest_xray)
    for path in idx.paths():
        with warnings.catch_warnings():
            # torchvision 0.29 deprecates its decoders for TorchCodec's; they still work
            warnings.simplefilter("ignore", DeprecationWarning)
            image = read_image(path)  # a plain str; by content, so the PNG named .jpg too
        assert image.dtype == torch.uint8
        assert image.shape[0] == 3
        assert image.shape[1:] == (120, 160)


def test_the_keras_recipe_loads_arrays(chest_xray: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    scope = run(on_folder(recipe("keras"), chest_xray))
    x, y = scope["x"], scope["y"]
    n = len(scope["idx"].paths("test"))
    assert n == sum(per["test"] for per in CHEST_XRAY.values())
    assert x.shape == (n, 224, 224, 3)
    assert x.dtype.name == "float32"
    assert y.shape == (n,)
    assert y.dtype.kind == "i"
