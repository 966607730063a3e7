"""Sizes ("50GB", "50GiB") and durations ("30d", "1w2d") as `kagman prune` reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kagman.cache.sizes import parse_duration, parse_size

DECIMAL = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}
BINARY = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}
SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


@given(
    n=st.integers(min_value=0, max_value=10**12),
    unit=st.sampled_from(sorted({**DECIMAL, **BINARY})),
    space=st.sampled_from(["", " "]),
    lower=st.booleans(),
)
def test_whole_sizes_as_written(n: int, unit: str, space: str, lower: bool) -> None:
    text = f"{n}{space}{unit.lower() if lower else unit}"
    assert parse_size(text) == n * {**DECIMAL, **BINARY}[unit]


def test_decimal_and_binary_differ_as_written() -> None:
    assert parse_size("50GB") == 50_000_000_000
    assert parse_size("50GiB") == 50 * 1024**3
    assert parse_size("1.5GB") == 1_500_000_000
    assert parse_size("0.5KiB") == 512
    assert parse_size("123") == 123


@pytest.mark.parametrize("text", ["50G", "2t", "1.5M"])
def test_a_bare_letter_is_ambiguous(text: str) -> None:
    with pytest.raises(ValueError, match="ambiguous") as info:
        parse_size(text)
    assert "B (10**" in str(info.value)
    assert "iB (2**" in str(info.value)


@given(st.text(max_size=12))
def test_any_text_is_a_size_or_a_clear_error(text: str) -> None:
    try:
        size = parse_size(text)
    except ValueError as err:
        message = str(err)
        assert "50GB" in message or "ambiguous" in message
    else:
        assert size >= 0


@given(
    parts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(SECONDS))),
        min_size=1,
        max_size=4,
    )
)
def test_durations_add_up(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_duration(text) == sum(n * SECONDS[unit] for n, unit in parts)


@given(st.text(max_size=10))
def test_any_text_is_a_duration_or_a_clear_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        message = str(err)
        assert "30d" in message
    else:
        assert seconds >= 0


@pytest.mark.parametrize("text", ["", "30", "d", "30 days", "-1d", "1d-2h"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)
