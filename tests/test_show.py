"""Seeing the data: contact sheets, thumbnails, the HTML repr, ``kagman show``."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from kaggle_server import FakeKaggle
from PIL import Image
from synthetic_images import (
    SHAPES,
    jpeg,
    multilabel_files,
    segmentation_files,
    shape_image,
    shapes_files,
    write_files,
)

import kagman
from kagman.cli import cli
from kagman.images.sheet import placeholder, thumbnail

N_CLASSES = len(SHAPES)


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    return write_files(tmp_path, shapes_files(broken=False)) / "shapes"


def index(source: Path | str, **kwargs: object) -> kagman.ImageIndex:
    with pytest.warns(kagman.MissingClassWarning, match="'star'"):
        return kagman.index(source, **kwargs)  # type: ignore[arg-type]


def red(im: Image.Image) -> int:
    """How many pixels are the placeholder's red."""
    a = np.asarray(im.convert("RGB")).astype(int)
    return int(((a[..., 0] > 150) & (a[..., 1] < 80) & (a[..., 2] < 80)).sum())


def test_sheet_has_a_labelled_row_per_class_and_is_seeded(shapes: Path) -> None:
    idx = index(shapes)
    sheet = idx.show(per_class=4, size=64)
    assert sheet.mode == "RGB"
    header, row = 22, 64 + 2 * 4
    assert sheet.height == header + N_CLASSES * row
    assert sheet.width >= 4 * (64 + 4)
    assert idx.show(per_class=4, size=64).tobytes() == sheet.tobytes()
    assert idx.show(per_class=4, size=64, seed=1).tobytes() != sheet.tobytes()
    assert idx.show(per_class=2, size=32).width < sheet.width
    test_only = idx.show(split="test", size=64)
    # star has no images in test: its row stays, empty ("0 images"), so the gap shows
    assert test_only.height == header + N_CLASSES * row
    star_row = np.asarray(test_only)[header + 2 * row + 4 : header + 3 * row - 4, 100:]
    assert (star_row == 255).all()
    assert red(test_only) == 0  # nothing broken


def test_sheet_options_are_checked(shapes: Path) -> None:
    idx = index(shapes)
    with pytest.raises(ValueError, match=r"No split 'dev' in this index; it has \['train'"):
        idx.show(split="dev")
    with pytest.raises(ValueError, match="size at least 16"):
        idx.show(size=8)


def test_images_that_fail_to_open_are_marked_placeholders(tmp_path: Path) -> None:
    files = {"ds/a/ok.jpg": jpeg(shape_image("circle", 1)[0]), "ds/a/page.jpg": b"<html>no</html>"}
    files["ds/a/cut.jpg"] = files["ds/a/ok.jpg"][:300]
    root = write_files(tmp_path, files) / "ds"
    idx = kagman.index(root, check="none")  # trusts names: the bad files are in the index
    assert len(idx) == 3
    sheet = idx.show(per_class=3, size=48)  # never raises
    assert red(sheet) > 0
    bad = thumbnail(root / "a" / "page.jpg", 48)
    assert bad.tobytes() == placeholder(48, "unreadable").tobytes()
    good = thumbnail(root / "a" / "ok.jpg", 48)
    assert good.size == (48, 36)  # 160 x 120 kept its shape
    assert red(good) == 0


def test_large_jpegs_are_decoded_small_with_draft(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(big, quality=80)
    with Image.open(big) as im:
        im.draft("RGB", (96, 96))
        assert im.size == (500, 375)  # what the decoder produces: 1/8 scale, not 12 MP
    thumb = thumbnail(big, 96)
    assert thumb.size == (96, 72)
    assert thumb.getpixel((48, 36)) == pytest.approx((10, 200, 30), abs=3)


def test_sixteen_bit_and_transparent_images_show(tmp_path: Path) -> None:
    deep = tmp_path / "xray.png"
    Image.fromarray((np.arange(64 * 64, dtype=np.uint16) * 16).reshape(64, 64)).save(deep)
    thumb = thumbnail(deep, 32)
    lo, hi = thumb.convert("L").getextrema()
    assert (lo, hi) == (0, 255)  # stretched, not clipped to white
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(clear)
    assert thumbnail(clear, 20).getpixel((10, 10)) == (255, 255, 255)  # on white


def test_masks_are_laid_over_their_images(tmp_path: Path) -> None:
    root = write_files(tmp_path, segmentation_files()) / "seg"
    idx = kagman.index(root)
    assert idx.paired
    image, mask = idx.pairs()[0][0], idx.pairs()[1][0]
    plain = np.asarray(thumbnail(image, 80)).astype(int)
    laid = np.asarray(thumbnail(image, 80, mask=mask)).astype(int)
    with Image.open(mask) as m:
        inside = np.asarray(m.resize((80, 60), Image.Resampling.NEAREST)) > 0
    assert inside.any()
    assert (laid[~inside] == plain[~inside]).all()  # outside the mask: untouched
    redder = laid[inside][:, 0] - laid[inside][:, 2] > plain[inside][:, 0] - plain[inside][:, 2]
    assert redder.mean() > 0.9  # inside: tinted with the first mask colour
    sheet = idx.show(per_class=6, size=80)
    assert sheet.height == 22 + 80 + 8  # unlabeled: one row per split


def test_multilabel_sheet_has_a_row_per_tag_and_tags_under_images(tmp_path: Path) -> None:
    root = write_files(tmp_path, multilabel_files()) / "ml"
    idx = kagman.index(root)
    assert idx.multilabel
    assert idx.classes == ["circle", "square", "star"]
    sheet = idx.show(per_class=3, size=48)
    row = 48 + 14 + 2 * 4
    assert sheet.height == 22 + 3 * row
    label_width = sheet.width - 3 * (48 + 4) - 4
    band = np.asarray(sheet)[22 + 4 + 48 + 1 : 22 + row, label_width : label_width + 48]
    assert (band < 200).any()  # text (the tags) under the first image


def test_html_repr_counts_bars_problems_and_cached_thumbnails(tmp_path: Path) -> None:
    files = shapes_files()
    root = write_files(tmp_path, files) / "shapes"
    idx = index(root)
    html = idx._repr_html_()
    assert "split folders in" in html  # the layout, in words
    for name, per_split in SHAPES.items():
        assert f">{name}</th>" in html
        for n in per_split.values():
            assert f"{n:,}</td>" in html
    # bars: the largest class of each split is 80 px wide, the others in proportion
    widths = [int(w) for w in re.findall(r"width:(\d+)px;height:9px", html)]
    assert widths.count(80) == 3
    assert round(80 * 5 / 14) in widths  # triangle in train: 5 of circle's 14
    assert 'title="no images of this class in test">0</td>' in html  # star, missing
    assert "4.7x" in html  # largest / smallest in train: 14 / 3
    assert "<code>truncated</code>" in html
    assert "<code>macos-junk</code>" in html
    assert "e.g. train/circle/broken.jpg" in html
    assert "<script" not in html
    uris = re.findall(r'src="(data:image/jpeg;base64,[^"]+)"', html)
    assert len(uris) == sum(min(6, sum(v.values())) for v in SHAPES.values())
    for uri in uris:
        data = base64.b64decode(uri.split(",", 1)[1])
        assert len(data) < 6000  # a few KB each
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG"
            assert max(im.size) == 64
    # built once: the second display reads no image (even one deleted since)
    assert len(idx._thumbnails) == len(uris)
    Path(idx.paths()[0]).unlink()
    assert idx._repr_html_() == html
    assert repr(idx).startswith("ImageIndex(53 images, 4 classes, train=31, val=10, test=12;")


def test_credentials_status_html_marks_loose_modes_and_holds_no_key(tmp_path: Path) -> None:
    from kaggle_server import TEST_KEY, TEST_USERNAME

    folder = tmp_path / "kaggle-config"
    folder.mkdir(mode=0o700)
    (folder / "kaggle.json").write_text(f'{{"username": "{TEST_USERNAME}", "key": "{TEST_KEY}"}}')
    (folder / "kaggle.json").chmod(0o644)
    status = kagman.credentials_status()
    html = status._repr_html_()
    assert "needs attention" in html
    assert "0644 (others can read it)</span>" in html
    assert f"<code>{folder}</code>" in html
    assert str(folder / "kaggle.json") in html  # what kagman uses
    assert TEST_KEY not in html
    assert TEST_KEY[4:-4] not in html
    (folder / "kaggle.json").chmod(0o600)
    assert "ready</span>; permissions safe" in kagman.credentials_status()._repr_html_()


def test_kagman_show_writes_the_sheet_from_a_folder_or_a_ref(
    kaggle: FakeKaggle, shapes: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(cli, ["show", str(shapes), "--out", str(out), "--size", "48"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}\n"
    assert "Warning: Split 'test' has no images of 1 class: 'star'" in result.stderr
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.height == 22 + N_CLASSES * (48 + 8)
    kaggle.add_dataset("owner/shapes", shapes_files(broken=False))
    jpg = tmp_path / "from-ref.jpg"
    result = CliRunner().invoke(cli, ["show", "owner/shapes", "--out", str(jpg), "--split", "val"])
    assert result.exit_code == 0, result.output
    with Image.open(jpg) as im:
        assert im.format == "JPEG"
    assert not list(tmp_path.glob("*.tmp*"))


def test_kagman_show_bad_input_exits_2_with_one_line(shapes: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["show", str(shapes), "--out", str(tmp_path / "s.png"), "--split", "dev"]
    )
    assert result.exit_code == 2
    assert "No split 'dev' in this index" in result.stderr
    result = CliRunner().invoke(cli, ["show", str(shapes), "--out", str(tmp_path / "s.txt")])
    assert result.exit_code == 2
    assert "Cannot write an image named s.txt" in result.stderr
    result = CliRunner().invoke(cli, ["show", str(tmp_path / "nowhere"), "--out", "s.png"])
    assert result.exit_code == 8
    assert result.stderr.startswith("Error: No folder ")
    assert not (tmp_path / "s.png").exists()


def test_an_output_file_that_cannot_be_written_says_why(shapes: Path, tmp_path: Path) -> None:
    """QA2 finding 6: out=, to_csv and --csv/--out name the missing folder (exit 2), and the
    Python API raises a KagmanError (an OSError too), not a bare FileNotFoundError."""
    missing = tmp_path / "nonexist"
    with pytest.raises(kagman.OutputPathError) as raised, pytest.warns(kagman.MissingClassWarning):
        kagman.show(shapes, out=missing / "cx.png")
    assert isinstance(raised.value, OSError)
    assert raised.value.path == missing / "cx.png"
    assert str(raised.value) == (
        f"Cannot write {missing / 'cx.png'}: the folder {missing} does not exist. Create it "
        f"(mkdir -p {missing}) or choose another path."
    )
    idx = index(shapes)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(kagman.OutputPathError, match=f"{afile} is a file, not a folder"):
        idx.to_csv(afile / "index.csv")
    with pytest.raises(kagman.OutputPathError, match=f"{tmp_path} is a folder. Name a file"):
        idx.to_csv(tmp_path)
    for command in (["show", str(shapes), "--out"], ["index", str(shapes), "--csv"]):
        result = CliRunner().invoke(cli, [*command, str(missing / "out.png")])
        assert result.exit_code == 2, result.output
        assert f"Error: Cannot write {missing / 'out.png'}: the folder {missing} does not " in (
            result.stderr
        )
    assert not missing.exists()


# --- titles and mask colours (QA finding 10) ---------------------------------------------


def test_a_dataset_is_titled_by_its_name_and_version(kaggle: FakeKaggle) -> None:
    from kagman.images.sheet import _title

    kaggle.add_dataset("owner/shapes", shapes_files(broken=False))
    name = "owner/shapes v1/shapes"  # the version's one folder, shapes/, is the root
    for source in ("owner/shapes", kagman.pull("owner/shapes")):  # a ref, or the pulled Path
        idx = index(source)
        assert idx.name == name  # not "shapes", let alone the version folder's "1"
        assert _title(idx, None, "class", N_CLASSES).startswith(f"{name}: 53 images")
        assert f"<b>ImageIndex</b> of {name}: 53 images" in idx._repr_html_()
        assert idx.split(0.2, seed=1, if_missing=True).name == name
    inside = kagman.pull("owner/shapes") / "shapes" / "train"
    assert kagman.index(inside).name == "owner/shapes v1/shapes/train"  # one split: no warning
    kaggle.add_competition("titanic", {f"x/{k}": v for k, v in shapes_files(broken=False).items()})
    assert index(kagman.CompetitionRef("titanic")).name == "titanic/x/shapes"


def test_a_local_folder_keeps_its_own_name(shapes: Path) -> None:
    assert index(shapes).name == "shapes"


def test_mask_values_have_the_same_colour_in_every_tile(tmp_path: Path) -> None:
    image = tmp_path / "grey.png"
    Image.new("RGB", (40, 20), (128, 128, 128)).save(image)
    only_two = np.zeros((20, 40), np.uint8)
    only_two[:, 20:] = 2
    one_and_two = np.zeros((20, 40), np.uint8)
    one_and_two[:, :20], one_and_two[:, 20:] = 1, 2
    tints = {}
    for name, values in (("only-two", only_two), ("one-and-two", one_and_two)):
        mask = tmp_path / f"{name}.png"
        Image.fromarray(values).save(mask)
        tints[name] = np.asarray(thumbnail(image, 40, mask=mask))
    value_two = tints["only-two"][10, 30], tints["one-and-two"][10, 30]
    assert tuple(value_two[0]) == tuple(value_two[1])  # value 2: one colour everywhere
    assert tuple(tints["one-and-two"][10, 5]) != tuple(value_two[0])  # value 1: another
    assert tuple(tints["only-two"][10, 5]) == (128, 128, 128)  # value 0: untouched
