"""Segmentation layouts: images paired with masks, masks never taken for images of a class."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_images_helpers import encode, write

import kagman
from kagman import ImageIndex
from kagman.cli import cli

JPEG = encode("JPEG")
PNG = encode("PNG")
MASK = encode("PNG", mode="L")
GIF = encode("GIF", mode="P")


def names(paths: list[str], base: Path) -> list[str]:
    return [Path(p).relative_to(base).as_posix() for p in paths]


def problem_rows(idx: ImageIndex, base: Path) -> list[tuple[str, str, str]]:
    return sorted(
        (Path(p).relative_to(base).as_posix(), str(s), str(r))
        for p, s, r in zip(idx.problems.path, idx.problems.split, idx.problems.reason, strict=True)
    )


def build_kvasir(base: Path) -> Path:
    """images/ + masks/ with the same file names (Kvasir-SEG, ISIC, ...)."""
    for stem in ("img_1", "img_10", "img_2"):
        write(base / "images" / f"{stem}.jpg", JPEG)
    for stem in ("img_1", "img_10", "img_3"):
        write(base / "masks" / f"{stem}.png", MASK)
    return base


def test_images_and_masks_folders_become_pairs_not_classes(tmp_path: Path) -> None:
    base = build_kvasir(tmp_path / "kvasir")
    idx = kagman.index(base, check="none")
    assert idx.paired
    assert idx.classes == []  # never 'images' and 'masks'
    assert idx.splits == ["train"]
    images, masks = idx.pairs("train")
    assert names(images, base) == ["images/img_1.jpg", "images/img_10.jpg"]
    assert names(masks, base) == ["masks/img_1.png", "masks/img_10.png"]
    assert idx.pairs() == (images, masks)
    assert names(idx.df["mask"].tolist(), base) == names(masks, base)
    assert list(idx.df.columns) == ["path", "split", "label", "label_id", "mask"]
    assert problem_rows(idx, base) == [
        ("images/img_2.jpg", "train", "no-mask"),
        ("masks/img_3.png", "train", "orphan-mask"),
    ]
    assert idx.layout.splitlines() == [
        f"one folder, indexed as split 'train' in {base}",
        "  train: flat images (inside 'images'), unlabeled",
        "  masks in 'masks' paired with the images in 'images' (2 pairs)",
    ]


def build_carvana(base: Path) -> Path:
    """train/ + train_masks/<id>_mask.gif + test/ + an RLE CSV (Carvana)."""
    for stem in ("a_01", "a_02", "b_01"):
        write(base / "train" / f"{stem}.jpg", JPEG)
        write(base / "train_masks" / f"{stem}_mask.gif", GIF)
    write(base / "test" / "c_01.jpg", JPEG)
    rle = b"img,rle_mask\na_01.jpg,1 2 3 4\na_02.jpg,5 6 7 8\nb_01.jpg,1 2 3 9\n"
    write(base / "train_masks.csv", rle)
    return base


def test_carvana_masks_folder_pairs_train_and_leaves_test_unpaired(tmp_path: Path) -> None:
    base = build_carvana(tmp_path / "carvana")
    idx = kagman.index(base, check="none")
    assert idx.splits == ["train", "test"]
    assert idx.classes == []  # the run-length masks in the CSV are no labels
    images, masks = idx.pairs("train")
    assert names(images, base) == ["train/a_01.jpg", "train/a_02.jpg", "train/b_01.jpg"]
    assert names(masks, base) == [
        "train_masks/a_01_mask.gif",
        "train_masks/a_02_mask.gif",
        "train_masks/b_01_mask.gif",
    ]
    assert idx.paths("test") == [str(base / "test" / "c_01.jpg")]
    assert idx.df["mask"].tolist()[-1] is None
    with pytest.raises(ValueError, match=r"Split 'test' has no masks; .* are \['train'\]"):
        idx.pairs("test")
    assert problem_rows(idx, base) == [("train_masks.csv", "", "other-file")]


def build_busi(base: Path) -> Path:
    """Class folders with masks beside the images (Breast Ultrasound Images, LGG)."""
    for cls in ("benign", "malignant"):
        for i in (1, 2, 10):
            write(base / cls / f"{cls} ({i}).png", PNG)
            write(base / cls / f"{cls} ({i})_mask.png", MASK)
    write(base / "benign" / "benign (1)_mask_1.png", MASK)  # a second tumour
    write(base / "benign" / "benign (3)_mask.png", MASK)  # its image is missing
    write(base / "malignant" / "malignant (4).png", PNG)  # its mask is missing
    return base


def test_masks_beside_images_in_class_folders(tmp_path: Path) -> None:
    base = build_busi(tmp_path / "busi")
    idx = kagman.index(base, check="none")
    assert idx.classes == ["benign", "malignant"]  # masks are never images of a class
    assert idx.labels() == [0, 0, 0, 1, 1, 1]
    images, masks = idx.pairs()
    assert names(images, base) == [
        "benign/benign (1).png",
        "benign/benign (10).png",
        "benign/benign (2).png",
        "malignant/malignant (1).png",
        "malignant/malignant (10).png",
        "malignant/malignant (2).png",
    ]
    assert masks == [p.replace(".png", "_mask.png") for p in images]
    assert problem_rows(idx, base) == [
        ("benign/benign (1)_mask_1.png", "train", "extra-mask"),
        ("benign/benign (3)_mask.png", "train", "orphan-mask"),
        ("malignant/malignant (4).png", "train", "no-mask"),
    ]
    assert "  masks beside their images (<name>_mask.<ext>): 6 pairs" in idx.layout.splitlines()


def test_pairing_is_by_exact_stem(tmp_path: Path) -> None:
    base = tmp_path / "lgg"
    for stem in ("img_1", "img_10", "img_2"):
        write(base / "patient" / f"{stem}.tif", encode("TIFF"))
    write(base / "patient" / "img_10_mask.tif", encode("TIFF", mode="L"))
    write(base / "patient" / "img_2_mask.tif", encode("TIFF", mode="L"))
    idx = kagman.index(base, check="none")
    images, masks = idx.pairs()
    assert names(images, base) == ["patient/img_10.tif", "patient/img_2.tif"]
    assert names(masks, base) == ["patient/img_10_mask.tif", "patient/img_2_mask.tif"]
    assert problem_rows(idx, base) == [("patient/img_1.tif", "train", "no-mask")]


def test_names_that_merely_end_in_mask_are_images(tmp_path: Path) -> None:
    base = tmp_path / "costumes"
    for name in ("party_mask.jpg", "gas_mask.jpg", "hat.jpg"):
        write(base / "props" / name, JPEG)
    write(base / "people" / "ada.jpg", JPEG)
    idx = kagman.index(base, check="none")
    assert not idx.paired
    assert len(idx) == 4
    with pytest.raises(ValueError, match="This index has no masks"):
        idx.pairs()


def test_oxford_pets_trimaps_inside_annotations(tmp_path: Path) -> None:
    base = tmp_path / "pets"
    for stem in ("Abyssinian_1", "beagle_1"):
        write(base / "images" / f"{stem}.jpg", JPEG)
        write(base / "annotations" / "trimaps" / f"{stem}.png", MASK)
        write(base / "annotations" / "xmls" / f"{stem}.xml", b"<annotation/>")
    write(base / "annotations" / "list.txt", b"Abyssinian_1 1 1 1\n")
    idx = kagman.index(base, check="none")
    images, masks = idx.pairs()
    assert names(masks, base) == [
        "annotations/trimaps/Abyssinian_1.png",
        "annotations/trimaps/beagle_1.png",
    ]
    assert names(images, base) == ["images/Abyssinian_1.jpg", "images/beagle_1.jpg"]


def test_mask_folder_wrappers_are_seen_through_when_stems_repeat(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for split in ("train", "val"):
        write(base / "images" / split / "1.jpg", JPEG)
        write(base / "annotations" / "trimaps" / split / "1.png", MASK)
    write(base / "annotations" / "xmls" / "1.xml", b"<annotation/>")
    idx = kagman.index(base, check="none")
    assert names(idx.pairs("val")[1], base) == ["annotations/trimaps/val/1.png"]
    assert names(idx.pairs("train")[1], base) == ["annotations/trimaps/train/1.png"]


def test_masks_pair_by_stem_when_the_folders_differ(tmp_path: Path) -> None:
    """Images sorted into class folders, masks in one flat folder (ISIC style)."""
    base = tmp_path / "isic"
    write(base / "images" / "benign" / "ISIC_001.jpg", JPEG)
    write(base / "images" / "malignant" / "ISIC_002.jpg", JPEG)
    write(base / "masks" / "ISIC_001_segmentation.png", MASK)
    write(base / "masks" / "ISIC_002_segmentation.png", MASK)
    idx = kagman.index(base, check="none")
    assert idx.classes == ["benign", "malignant"]
    images, masks = idx.pairs()
    assert names(images, base) == ["images/benign/ISIC_001.jpg", "images/malignant/ISIC_002.jpg"]
    assert names(masks, base) == [
        "masks/ISIC_001_segmentation.png",
        "masks/ISIC_002_segmentation.png",
    ]


def test_camvid_label_folders_per_split(tmp_path: Path) -> None:
    base = tmp_path / "camvid"
    for split in ("train", "val", "test"):
        for i in range(2):
            write(base / split / f"0001TP_{i:06d}.png", PNG)
            write(base / f"{split}_labels" / f"0001TP_{i:06d}_L.png", PNG)
    write(base / "class_dict.csv", b"name,r,g,b\nAnimal,64,128,64\nCar,64,0,128\n")
    idx = kagman.index(base, check="none")
    assert idx.splits == ["train", "val", "test"]
    assert idx.classes == []
    for split in idx.splits:
        images, masks = idx.pairs(split)
        assert names(images, base) == [f"{split}/0001TP_{i:06d}.png" for i in range(2)]
        assert names(masks, base) == [f"{split}_labels/0001TP_{i:06d}_L.png" for i in range(2)]


def test_images_and_masks_inside_each_split(tmp_path: Path) -> None:
    base = tmp_path / "ds"
    for split in ("train", "val"):
        for i in range(2):
            write(base / split / "images" / f"{i}.jpg", JPEG)
            write(base / split / "masks" / f"{i}.png", MASK)
    write(base / "test" / "images" / "t.jpg", JPEG)
    idx = kagman.index(base, check="none")
    assert idx.splits == ["train", "val", "test"]
    assert names(idx.pairs("val")[1], base) == ["val/masks/0.png", "val/masks/1.png"]
    assert idx.df["mask"].tolist()[-1] is None


def test_a_yolo_labels_folder_of_text_files_is_no_mask_folder(tmp_path: Path) -> None:
    base = tmp_path / "yolo"
    write(base / "images" / "a.jpg", JPEG)
    write(base / "labels" / "a.txt", b"0 0.5 0.5 0.1 0.1\n")
    idx = kagman.index(base, check="none")
    assert not idx.paired
    assert idx.classes == []
    assert problem_rows(idx, base) == [
        ("labels", "train", "empty-folder"),
        ("labels/a.txt", "train", "other-file"),
    ]


@pytest.fixture
def carvana(tmp_path: Path) -> tuple[ImageIndex, Path]:
    base = tmp_path / "carvana"
    for i in range(10):
        write(base / "train" / f"car_{i:02d}.jpg", JPEG)
        write(base / "train_masks" / f"car_{i:02d}_mask.gif", GIF)
    write(base / "test" / "t.jpg", JPEG)
    return kagman.index(base), base


def test_batches_yield_images_and_masks(carvana: tuple[ImageIndex, Path]) -> None:
    idx, _ = carvana
    batches = list(idx.batches(4, split="train", shuffle=True, seed=2))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    truth = dict(zip(*idx.pairs("train"), strict=True))
    for images, masks in batches:
        assert masks == [truth[p] for p in images]
    last = next(iter(idx.batches(100)))
    assert last[1][-1] is None  # the test split has no masks


def test_split_is_by_image_and_masks_follow(carvana: tuple[ImageIndex, Path]) -> None:
    idx, _ = carvana
    carved = idx.split(0.3, seed=1)
    assert carved.splits == ["train", "val", "test"]
    assert len(carved.pairs("val")[0]) == 3
    truth = dict(zip(*idx.pairs(), strict=True))
    for split in ("train", "val"):
        images, masks = carved.pairs(split)
        assert masks == [truth[p] for p in images]
    assert "at random" in carved.layout


def test_to_csv_and_cli_show_the_masks(carvana: tuple[ImageIndex, Path], tmp_path: Path) -> None:
    idx, base = carvana
    back = pd.read_csv(idx.to_csv(tmp_path / "pairs.csv"), keep_default_na=False)
    assert back["mask"].tolist()[:2] == [
        str(base / "train_masks" / "car_00_mask.gif"),
        str(base / "train_masks" / "car_01_mask.gif"),
    ]
    assert back["mask"].tolist()[-1] == ""
    result = CliRunner().invoke(cli, ["index", str(base)])
    assert result.exit_code == 0, result.output
    assert "Pairs: 10 images with a mask" in result.stdout.splitlines()
    assert "  masks in 'train_masks' paired with the images in 'train' (10 pairs)" in (
        result.stdout.splitlines()
    )


def test_class_folders_named_with_mask_words_are_classes_when_nothing_pairs(
    tmp_path: Path,
) -> None:
    """Kaggle's face-mask datasets: with_mask/ beside without_mask/ are two classes, not
    masks with no image (they were all skipped as orphan-mask, leaving no image)."""
    for cls, names in (("with_mask", ["a.jpg", "b.jpg"]), ("without_mask", ["c.jpg", "d.jpg"])):
        for name in names:
            write(tmp_path / "data" / cls / name, JPEG)
    idx = kagman.index(tmp_path / "data")
    assert idx.classes == ["with_mask", "without_mask"]
    assert len(idx) == 4
    assert not idx.paired
    assert "orphan-mask" not in set(idx.problems.reason)
