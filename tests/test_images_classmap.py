"""One class map for every split: a class found only in a later split still gets its id."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from test_images_helpers import encode, write

import kagman


def test_a_class_only_in_test_is_in_the_class_map(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for split, classes in {"train": ("cat", "dog"), "test": ("cat", "dog", "owl")}.items():
        for cls in classes:
            write(root / split / cls / f"{cls}1.png", encode("PNG"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idx = kagman.index(root)
    assert idx.classes == ["cat", "dog", "owl"]
    assert idx.class_to_idx == {"cat": 0, "dog": 1, "owl": 2}
    assert idx.labels("train") == [0, 1]
    assert idx.labels("test") == [0, 1, 2]
    assert idx.df.loc[idx.df.split == "test", "label"].tolist() == ["cat", "dog", "owl"]
    messages = [str(w.message) for w in caught]
    expected = (
        "Split 'train' has no images of 1 class: 'owl'. Label ids come from the classes "
        "of all splits, so they do not shift."
    )
    assert messages == [expected]
    # and the warning names the line that asked for the index, not kagman's internals
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name]


@pytest.mark.parametrize("order", [("val", "train"), ("train", "val")])
def test_class_ids_do_not_depend_on_which_split_is_read_first(
    tmp_path: Path, order: tuple[str, str]
) -> None:
    root = tmp_path / "data"
    write(root / order[0] / "zebra" / "z.png", encode("PNG"))
    write(root / order[1] / "ant" / "a.png", encode("PNG"))
    with pytest.warns(UserWarning, match="has no images of 1 class"):
        idx = kagman.index(root)
    assert idx.classes == ["ant", "zebra"]
    assert dict(zip(idx.paths(), idx.labels(), strict=True)) == {
        str(root / order[0] / "zebra" / "z.png"): 1,
        str(root / order[1] / "ant" / "a.png"): 0,
    }
