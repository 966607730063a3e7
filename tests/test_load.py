"""`kagman.load`: each table format, from real files written here, by ref or from a folder."""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import kagman_executable
from kaggle_server import FakeKaggle

import kagman
from kagman import TableError
from kagman.cli import cli

FRAME = pd.DataFrame({"id": [1, 2, 3], "name": ["ann", "bob", "cy"], "score": [0.5, 1.5, 2.5]})
CSV = FRAME.to_csv(index=False).encode()


def as_bytes(write: object, suffix: str, tmp_path: Path) -> bytes:
    path = tmp_path / f"t{suffix}"
    write(path)  # type: ignore[operator]
    return path.read_bytes()


def sqlite_bytes(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> bytes:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as con:
        for name, frame in tables.items():
            frame.to_sql(name, con, index=False)
    con.close()
    return path.read_bytes()


def zipped(name: str, data: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, data)
        for other, content in (extra or {}).items():
            zf.writestr(other, content)
    return buf.getvalue()


@pytest.fixture
def formats(tmp_path: Path) -> dict[str, bytes]:
    """One real file per format, each holding FRAME."""
    return {
        "t.csv": CSV,
        "t.tsv": FRAME.to_csv(index=False, sep="\t").encode(),
        "t.csv.gz": gzip.compress(CSV),
        "t.zip": zipped("inner/t.csv", CSV, {"__MACOSX/inner/._t.csv": b"junk"}),
        "t.json": FRAME.to_json(orient="records").encode(),
        "t.jsonl": FRAME.to_json(orient="records", lines=True).encode(),
        "t.parquet": as_bytes(FRAME.to_parquet, ".parquet", tmp_path),
        "t.feather": as_bytes(FRAME.to_feather, ".feather", tmp_path),
        "t.xlsx": as_bytes(lambda p: FRAME.to_excel(p, index=False), ".xlsx", tmp_path),
        "t.sqlite": sqlite_bytes(tmp_path, {"people": FRAME}),
    }


def test_each_format_loads_from_a_pulled_file(
    kaggle: FakeKaggle, formats: dict[str, bytes]
) -> None:
    kaggle.add_dataset("owner/tables", formats)
    for name in formats:
        df = kagman.load("owner/tables", name)
        pd.testing.assert_frame_equal(df, FRAME, check_dtype=False, check_exact=False, obj=name)
    # only the files were downloaded, one by one: never the whole archive
    assert kaggle.count("DownloadDataset") == len(formats)
    assert not any(r.path.endswith("/tables.zip") for r in kaggle.requests)


def test_read_kwargs_reach_pandas_and_pick_the_engine(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/tables", {"t.csv": CSV})
    assert kagman.load("owner/tables", "t.csv", usecols=["id"]).columns.tolist() == ["id"]
    assert len(kagman.load("owner/tables", "t.csv", nrows=2)) == 2  # pyarrow refuses nrows
    assert kagman.load("owner/tables", "t.csv", dtype={"id": "float64"})["id"].dtype == "float64"
    assert kagman.load("owner/tables", "t.csv", skipfooter=1, engine="python").shape == (2, 3)


def test_one_table_needs_no_name_and_several_are_listed(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/one", {"readme.md": b"# hi", "data/t.parquet": b""})
    kaggle.add_dataset("owner/one", {"readme.md": b"# hi", "data/t.csv": CSV})
    pd.testing.assert_frame_equal(kagman.load("owner/one"), FRAME)
    assert [r.endpoint for r in kaggle.requests].count("DownloadDataset") == 1
    kaggle.add_dataset("owner/many", {"a.csv": CSV, "b/c.parquet": CSV, "d.txt": b""})
    with pytest.raises(TableError) as info:
        kagman.load("owner/many")
    assert str(info.value) == (
        "owner/many/versions/1 holds 2 tables: a.csv, b/c.parquet. Say which one: file='a.csv'."
    )


def test_offline_a_partly_cached_version_is_not_the_whole_listing(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/two", {"a.csv": CSV, "b.csv": CSV})
    pd.testing.assert_frame_equal(kagman.load("owner/two", "a.csv"), FRAME)  # a.csv of v1 only
    with pytest.raises(TableError) as info:
        kagman.load("owner/two", offline=True)  # online it names both tables
    assert str(info.value) == (
        "Offline, only part of owner/two/versions/1 is cached (it holds a.csv), so kagman "
        "cannot tell which of its tables to load. Name the file: file='a.csv', or go online."
    )
    result = CliRunner().invoke(cli, ["load", "owner/two", "--offline"])
    assert result.exit_code == TableError.exit_code
    assert "`kagman load owner/two/versions/1 a.csv`. Or drop --offline" in result.stderr
    pd.testing.assert_frame_equal(kagman.load("owner/two", "a.csv", offline=True), FRAME)
    # QA2 finding 7: FILE is positional in `kagman load`, so no --file in the message
    result = CliRunner().invoke(cli, ["load", "owner/two", "nope.csv", "--offline"])
    assert result.exit_code == 6
    assert result.stderr.startswith(
        "Error: 'nope.csv' of owner/two is not in the cache, and offline mode forbids "
    )
    assert "Retry without --offline (and unset KAGMAN_OFFLINE)" in result.stderr


def test_a_url_with_select_and_a_local_folder(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset("owner/tables", {"x/t.csv": CSV, "y.csv": CSV})
    url = "https://www.kaggle.com/datasets/owner/tables/data?select=x%2Ft.csv"
    pd.testing.assert_frame_equal(kagman.load(url), FRAME)
    folder = kagman.pull("owner/tables")
    pd.testing.assert_frame_equal(kagman.load(folder / "x"), FRAME)  # the only table there
    pd.testing.assert_frame_equal(kagman.load(folder, "y.csv"), FRAME)
    with pytest.raises(TableError, match="holds 2 tables"):
        kagman.load(folder)


def test_sqlite_table_sql_and_read_only(kaggle: FakeKaggle, tmp_path: Path) -> None:
    other = pd.DataFrame({"k": [1, 2]})
    kaggle.add_dataset(
        "owner/db", {"data.db": sqlite_bytes(tmp_path, {"people": FRAME, "other": other})}
    )
    with pytest.raises(TableError, match=r"data.db has 2 tables \(other, people\): name one"):
        kagman.load("owner/db", "data.db")
    pd.testing.assert_frame_equal(kagman.load("owner/db", "data.db", table="other"), other)
    got = kagman.load("owner/db", "data.db", sql="SELECT name FROM people WHERE score > 1")
    assert got["name"].tolist() == ["bob", "cy"]
    path = kagman.pull("owner/db", file="data.db")
    before = path.read_bytes()
    for sql in ("DELETE FROM people", "DROP TABLE people", "PRAGMA journal_mode=WAL"):
        with pytest.raises(TableError, match="Only a read-only query"):
            kagman.load(path, sql=sql)
    with pytest.raises(TableError, match="does more than read"):
        kagman.load(path, sql="WITH x AS (SELECT 1) INSERT INTO other SELECT * FROM x")
    with pytest.raises(TableError, match="no table 'nope'"):
        kagman.load(path, table="nope")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.db"]  # no journal, no WAL


def test_csv_that_is_not_utf8(kaggle: FakeKaggle) -> None:
    latin = "nom,ville\nRené,Montréal\nZoë,Orléans\n".encode("latin-1")
    korean = ("이름,도시\n" + "홍길동,서울\n" * 40).encode("cp949")
    kaggle.add_dataset("owner/enc", {"fr.csv": latin, "ko.csv": korean})
    with pytest.raises(TableError) as info:
        kagman.load("owner/enc", "fr.csv")
    path = kagman.pull("owner/enc", file="fr.csv")
    assert str(info.value) == (
        f"{path} is not utf-8 text: byte 0xE9 at offset 13 (line 2) cannot be decoded. "
        "It looks like latin-1: load it with encoding='latin-1'."
    )
    assert (info.value.line, info.value.exit_code) == (2, 8)
    assert kagman.load("owner/enc", "fr.csv", encoding="latin-1")["ville"].tolist() == [
        "Montréal",
        "Orléans",
    ]
    with pytest.raises(TableError, match=r"at offset 0 \(line 1\).*encoding='cp949'"):
        kagman.load("owner/enc", "ko.csv")
    assert kagman.load("owner/enc", "ko.csv", encoding="cp949")["도시"].iloc[0] == "서울"


def test_parse_errors_name_file_reader_and_line(kaggle: FakeKaggle) -> None:
    kaggle.add_dataset(
        "owner/bad",
        {
            "bad.csv": b"a,b\n1,2\n3,4\n5,6,7\n",
            "bad.jsonl": b'{"a": 1}\n{"a": 2}\n{"a": \n',
            "bad.parquet": b"PAR1 not really",
            "t.png": b"\x89PNG",
        },
    )
    with pytest.raises(TableError) as info:
        kagman.load("owner/bad", "bad.csv")
    assert "bad.csv does not parse with pandas.read_csv (engine=c) at line 4" in str(info.value)
    assert (info.value.reader, info.value.line) == ("pandas.read_csv (engine=c)", 4)
    with pytest.raises(
        TableError, match=r"bad.jsonl does not parse with pandas.read_json \(lines=True\) at line 3"
    ):
        kagman.load("owner/bad", "bad.jsonl")
    with pytest.raises(TableError, match=r"bad.parquet does not parse with pandas.read_parquet"):
        kagman.load("owner/bad", "bad.parquet")
    with pytest.raises(TableError, match=r"cannot read t.png as a table; it reads \.arrow, \.csv"):
        kagman.load("owner/bad", "t.png")


def test_excel_without_openpyxl_names_the_extra(tmp_path: Path, formats: dict[str, bytes]) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(formats["t.xlsx"])
    code = (
        "import sys; sys.modules['openpyxl'] = None\n"
        "import kagman\n"
        "try:\n    kagman.load(sys.argv[1])\n"
        "except kagman.TableError as err:\n    print(err)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == (
        "Reading t.xlsx needs openpyxl, which is not installed. Install it with "
        "`pip install 'kagman[excel]'` (or `pip install openpyxl`)."
    )


def test_cli_preview_and_shape(kaggle: FakeKaggle, tmp_path: Path) -> None:
    kaggle.add_dataset(
        "owner/tables", {"t.csv": CSV, "db.sqlite": sqlite_bytes(tmp_path, {"p": FRAME})}
    )
    result = CliRunner().invoke(cli, ["load", "owner/tables", "t.csv", "--head", "2"])
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "   id name  score\n0   1  ann    0.5\n1   2  bob    1.5\n\n[3 rows x 3 columns]\n"
    )
    sql = CliRunner().invoke(
        cli, ["load", "owner/tables", "db.sqlite", "--sql", "SELECT id FROM p", "--head", "0"]
    )
    assert sql.stdout == "\n[3 rows x 1 column]\n"
    bad = CliRunner().invoke(cli, ["load", "owner/tables", "db.sqlite", "--sql", "DELETE FROM p"])
    assert bad.exit_code == 8
    assert bad.stderr.startswith("Error: Only a read-only query runs on db.sqlite")


def test_installed_cli_loads_a_local_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_bytes("a,b\nRené,1\n".encode("latin-1"))
    run = [kagman_executable(), "load", str(path)]
    failed = subprocess.run(run, capture_output=True, text=True, env=dict(os.environ), check=False)
    assert failed.returncode == 8
    assert failed.stderr.endswith("It looks like latin-1: load it with --encoding latin-1.\n")
    assert "encoding=" not in failed.stderr  # the command line's own words
    assert "Traceback" not in failed.stderr
    ok = subprocess.run(
        [*run, "--encoding", "latin-1"], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "René" in ok.stdout
    assert ok.stdout.endswith("[1 row x 2 columns]\n")


def test_json_records_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"a": 1}, {"a": 2}]))
    assert kagman.load(path)["a"].tolist() == [1, 2]


def test_the_pyarrow_path_refuses_binary_text_and_falls_back_for_lines(tmp_path: Path) -> None:
    """engine='pyarrow' (chosen by itself from 4 cores up) goes through the same checks."""
    latin = tmp_path / "fr.csv"
    latin.write_bytes("nom,ville\nRené,Montréal\n".encode("latin-1"))
    with pytest.raises(TableError, match=r"byte 0xE9 at offset 13 \(line 2\).*encoding='latin-1'"):
        kagman.load(latin, engine="pyarrow")  # pyarrow alone would return bytes objects
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n1,2\n5,6,7\n")
    with pytest.raises(TableError, match=r"engine=c\) at line 3"):
        kagman.load(bad, engine="pyarrow")
    good = tmp_path / "t.csv"
    good.write_bytes(CSV)
    pd.testing.assert_frame_equal(kagman.load(good, engine="pyarrow"), FRAME)
    zipped_csv = tmp_path / "t.zip"
    zipped_csv.write_bytes(zipped("t.csv", CSV))
    pd.testing.assert_frame_equal(kagman.load(zipped_csv, engine="pyarrow"), FRAME)


# --- messages that fit where they are shown; other separators (QA finding 9) -------------


def test_cli_errors_name_flags_and_python_errors_name_arguments(
    kaggle: FakeKaggle, tmp_path: Path
) -> None:
    db = sqlite_bytes(tmp_path, {"people": FRAME, "other": pd.DataFrame({"k": [1]})})
    latin = "nom,ville\nRené,Montréal\n".encode("latin-1")
    kaggle.add_dataset("owner/many", {"a b.csv": CSV, "c.csv": CSV, "data.db": db, "fr.csv": latin})
    kaggle.add_competition("titanic", {"train.csv": CSV, "test.csv": CSV})
    cases = [
        (
            ("owner/many",),
            {},
            (
                "owner/many/versions/1 holds 4 tables: a b.csv, c.csv, data.db, fr.csv. Say "
                "which one: file='a b.csv'."
            ),
            (
                "owner/many/versions/1 holds 4 tables: a b.csv, c.csv, data.db, fr.csv. Say "
                "which one: `kagman load owner/many/versions/1 'a b.csv'`."
            ),
        ),
        (
            ("owner/many", "data.db"),
            {},
            "data.db has 2 tables (other, people): name one with table= or sql=.",
            "data.db has 2 tables (other, people): name one with --table or --sql.",
        ),
        (
            ("owner/many", "data.db"),
            {"table": "people", "sql": "SELECT 1"},
            "Give table= or sql= for data.db, not both.",
            "Give --table or --sql for data.db, not both.",
        ),
        (
            ("owner/many", "c.csv"),
            {"table": "people"},
            "table= and sql= are for SQLite files; c.csv is csv.",
            "--table and --sql are for SQLite files; c.csv is csv.",
        ),
        (
            ("owner/many", "fr.csv"),
            {},
            "It looks like latin-1: load it with encoding='latin-1'.",
            "It looks like latin-1: load it with --encoding latin-1.",
        ),
        (
            (kagman.CompetitionRef("titanic"),),
            {},
            "titanic holds 2 tables: test.csv, train.csv. Say which one: file='test.csv'.",
            (
                "titanic holds 2 tables: test.csv, train.csv. Say which one: "
                "`kagman load -c titanic test.csv`."
            ),
        ),
    ]
    for args, options, python, command in cases:
        with pytest.raises(TableError) as info:
            kagman.load(*args, **options)
        assert str(info.value).endswith(python)
        flags = [f"--{name}={value}" for name, value in options.items()]
        cli_args = ["-c", "titanic"] if isinstance(args[0], kagman.CompetitionRef) else list(args)
        result = CliRunner().invoke(cli, ["load", *cli_args, *flags])
        assert result.exit_code == 8, result.output
        assert result.stderr.startswith("Error: ")
        assert result.stderr.rstrip("\n").endswith(command), result.stderr
        assert "=" not in result.stderr.replace("--table=", "").replace("--sql=", "")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_csv_with_another_separator_loads_as_columns(
    tmp_path: Path, sep: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "export.csv"
    FRAME.to_csv(path, index=False, sep=sep)
    caplog.set_level("INFO", logger="kagman")
    pd.testing.assert_frame_equal(kagman.load(path), FRAME)
    assert f"export.csv has no comma in its header but {sep!r}" in caplog.text
    assert kagman.load(path, sep=",").shape == (3, 1)  # asked for: one column
    result = CliRunner().invoke(cli, ["load", str(path), "--head", "1"])
    assert result.stdout.endswith("[3 rows x 3 columns]\n")
    shown = "\\t" if sep == "\t" else sep
    result = CliRunner().invoke(cli, ["load", str(path), "--sep", shown, "--head", "0"])
    assert result.stdout == "\n[3 rows x 3 columns]\n"
    result = CliRunner().invoke(cli, ["load", str(path), "--sep", ",", "--head", "0"])
    assert result.stdout == "\n[3 rows x 1 column]\n"


def test_a_one_column_csv_stays_one_column(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("name\nann;x\nbob\n")  # a ';' in the data, not in the header
    assert kagman.load(path).shape == (2, 1)
