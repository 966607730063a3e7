"""What the README's loader recipes are given: types and shapes, without any framework.

The Keras and PyTorch recipes also run, as written, in ``tests/test_loaders_torch.py``
(marker ``loaders``, a second virtual environment built by ``.ci/run``). TensorFlow is too
heavy for CI here, so the ``tf.data`` recipe is checked by its inputs:
``from_tensor_slices((paths, labels))`` needs two sequences of the same length, one of
strings and one of integers (or a 2-D array of multi-hot rows), and ``decode_image`` reads
each path by content.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from readme_recipes import on_folder, recipe
from synthetic_images import (
    CHEST_XRAY,
    chest_xray_files,
    multilabel_files,
    png,
    shape_image,
    shapes_files,
    write_files,
)

import kagman


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    files = shapes_files(broken=False)
    files["shapes/train/circle/saved_as_png.jpg"] = png(shape_image("circle", 99)[0])
    return write_files(tmp_path, files) / "shapes"


def test_the_tf_data_recipe_gets_aligned_strings_and_integers(shapes: Path) -> None:
    code = recipe("tf.data")
    assert 'from_tensor_slices((idx.paths("train"), idx.labels("train")))' in code
    assert "decode_image" in code  # not decode_jpeg: a PNG named .jpg is in the data
    with pytest.warns(kagman.MissingClassWarning):
        idx = kagman.index(shapes)
    paths, labels = idx.paths("train"), idx.labels("train")
    assert len(paths) == len(labels) == 32
    assert all(type(p) is str for p in paths)
    assert all(type(label) is int for label in labels)
    as_tensors = np.asarray(paths), np.asarray(labels)  # what from_tensor_slices converts
    assert as_tensors[0].dtype.kind == "U"
    assert as_tensors[0].shape == (32,)
    assert as_tensors[1].dtype == np.int64
    assert as_tensors[1].shape == (32,)
    assert set(labels) == set(range(len(idx.classes)))
    formats = set()
    for path in paths:
        with Image.open(path) as im:  # read by content, as decode_image does
            formats.add(im.format)
            assert len(im.getbands()) == 3
    assert formats == {"JPEG", "PNG"}


def test_the_keras_and_torch_recipes_get_paths_one_at_a_time(shapes: Path) -> None:
    assert "for p in idx.paths(" in recipe("keras")  # load_img takes one path, not a list
    code = recipe("torch")
    assert "self.paths[i]" in code
    assert ".split(0.2, seed=0" in code


def torch_recipe_index(folder: Path) -> kagman.ImageIndex:
    """The torch recipe's own ``idx = ...`` line, run as written (no torch needed for it)."""
    line = next(x for x in recipe("torch").splitlines() if x.startswith("idx = "))
    scope: dict[str, object] = {"kagman": kagman}
    exec(on_folder(line, folder), scope)  # noqa: S102 - the README's own code
    idx = scope["idx"]
    assert isinstance(idx, kagman.ImageIndex)
    return idx


def test_the_torch_recipe_keeps_a_val_split_the_dataset_ships(tmp_path: Path) -> None:
    # chest-xray, the README's own example, has train, val and test
    idx = torch_recipe_index(write_files(tmp_path, chest_xray_files()) / "chest_xray")
    assert idx.splits == ["train", "val", "test"]
    for split in idx.splits:
        assert len(idx.paths(split)) == sum(per[split] for per in CHEST_XRAY.values())
    assert "carved" not in idx.layout


def test_the_torch_recipe_carves_val_where_the_dataset_has_none(shapes: Path) -> None:
    shutil.rmtree(shapes / "val")
    with pytest.warns(kagman.MissingClassWarning):
        idx = torch_recipe_index(shapes)
    assert idx.splits == ["train", "val", "test"]
    assert "val: 7 images carved from train (20%, stratified by class, seed 0)" in idx.layout


def test_multilabel_targets_are_a_multi_hot_matrix(tmp_path: Path) -> None:
    idx = kagman.index(write_files(tmp_path, multilabel_files()) / "ml")
    y = idx.multi_hot("train")
    assert y.dtype == np.uint8
    assert y.shape == (len(idx.paths("train")), len(idx.classes))
    assert (y.sum(axis=1) >= 1).all()
