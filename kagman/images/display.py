"""How an :class:`~kagman.images.ImageIndex` shows in a notebook: plain HTML and inline CSS.

No JavaScript and no stylesheet, so it looks the same in Jupyter, VS Code, Colab and
a notebook rendered on GitHub. Four parts:

1. a summary line and the detected layout, in words;
2. the split x class counts, each cell with a bar scaled to the largest class of its
   split (imbalance shows at a glance), empty cells tinted red, and the ratio of
   the largest to the smallest class per split;
3. the problems by reason, with one example each;
4. a thumbnail strip of a few images per class: small inline JPEG data URIs, built
   on first display and cached on the index.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from kagman.fs import counted
from kagman.images.listing import NOTHING_SKIPPED, skipped_entries

if TYPE_CHECKING:
    import pandas as pd

    from kagman.images.sheet import Indexed

__all__ = ["index_html", "index_text"]

_BAR = "#4c78a8"
_EMPTY = "#fbe3e3"
_MUTED = "color:#666"
_CELL = "padding:2px 8px;text-align:right;white-space:nowrap"
_HEAD = "padding:2px 8px;text-align:left;border-bottom:1px solid #ccc"
_BAR_WIDTH = 80  # pixels for the largest class of a split
_STRIP_CLASSES = 12  # rows of thumbnails at most
_STRIP_PER_CLASS = 6
_STRIP_SIZE = 64  # pixels
_SCROLL_ROWS = 25  # more classes than this: the table scrolls


def _e(value: object) -> str:
    return html.escape(str(value))


def _counts_table(idx: Indexed) -> str:
    """Classes as rows, splits as columns: each cell a bar and a number."""
    frame: pd.DataFrame = idx.counts()
    splits = [str(s) for s in frame.index]
    names = [str(c) for c in frame.columns if c != "total"]
    counts = {
        (str(s), str(c)): int(v)
        for s, row in frame.to_dict(orient="index").items()
        for c, v in row.items()
    }
    labelled = [c for c in names if c != "(unlabeled)"]
    head = "".join(f'<th style="{_HEAD}">{_e(s)}</th>' for s in splits)
    rows = []
    column_max = {s: max([counts[s, c] for c in labelled] or [0]) for s in splits}
    for name in names:
        cells = []
        for s in splits:
            n = counts[s, name]
            top = column_max[s]
            has_labels = top > 0
            if name != "(unlabeled)" and has_labels and n == 0:
                cells.append(
                    f'<td style="{_CELL};background:{_EMPTY}" title="no images of this class '
                    f'in {_e(s)}">0</td>'
                )
                continue
            width = round(_BAR_WIDTH * n / top) if has_labels and name != "(unlabeled)" else 0
            bar = (
                f'<span style="display:inline-block;width:{width}px;height:9px;'
                f'background:{_BAR};margin-right:6px;vertical-align:middle"></span>'
                if width
                else ""
            )
            cells.append(f'<td style="{_CELL}">{bar}{n:,}</td>')
        rows.append(f'<tr><th style="{_HEAD};border:none">{_e(name)}</th>{"".join(cells)}</tr>')
    totals = "".join(
        f'<td style="{_CELL};font-weight:bold">{counts[s, "total"]:,}</td>' for s in splits
    )
    rows.append(f'<tr><th style="{_HEAD};border-top:1px solid #ccc">total</th>{totals}</tr>')
    if labelled:
        ratios = []
        for s in splits:
            present = [counts[s, c] for c in labelled if counts[s, c]]
            ratio = f"{max(present) / min(present):.1f}x" if present else ""
            ratios.append(f'<td style="{_CELL};{_MUTED}">{ratio}</td>')
        rows.append(
            f'<tr><th style="{_HEAD};border:none;font-weight:normal;{_MUTED}" '
            f'title="images of the largest class / images of the smallest present class">'
            f"largest / smallest</th>{''.join(ratios)}</tr>"
        )
    table = (
        f'<table style="border-collapse:collapse;margin:4px 0"><tr><th style="{_HEAD}">'
        f"{'tag' if idx.multilabel else 'class'}</th>{head}</tr>{''.join(rows)}</table>"
    )
    if len(names) > _SCROLL_ROWS:
        table = f'<div style="max-height:420px;overflow:auto">{table}</div>'
    return table


def _problems(idx: Indexed) -> str:
    problems = idx.problems
    if not len(problems):
        return f'<p style="{_MUTED}">{NOTHING_SKIPPED}</p>'
    rows: list[tuple[tuple[int, str], str]] = []
    for reason, group in problems.groupby("reason", observed=True, sort=False):
        first = group.iloc[0]
        example = _relative(str(first.path), idx)
        detail = f": {first.detail}" if first.detail else ""
        row = (
            f'<tr><td style="{_CELL}">{len(group):,}</td><td style="padding:2px 8px">'
            f'<code>{_e(reason)}</code></td><td style="padding:2px 8px;{_MUTED}">'
            f"e.g. {_e(example + detail)}</td></tr>"
        )
        rows.append(((-len(group), str(reason)), row))
    body = "".join(row for _, row in sorted(rows))
    return (
        f"<p><b>Problems</b>: {_skipped(problems)} skipped (see "
        f'<code>.problems</code>)</p><table style="border-collapse:collapse">{body}</table>'
    )


def index_text(idx: Indexed) -> str:
    """What ``kagman index`` prints: the layout, the counts, the problems by reason."""
    counts = idx.counts()
    if counts.shape[1] > 12:  # many classes read better as rows
        counts = counts.T
    kind = " (multi-label)" if idx.multilabel else ""
    images = (
        f"Images: {len(idx):,} in {counted(len(idx.splits), 'split')}, "
        f"{counted(len(idx.classes), 'class', 'classes')}{kind} (check: {idx.check})"
    )
    lines = [f"Layout: {idx.layout}", images]
    if idx.paired:
        lines.append(f"Pairs: {counted(len(idx.pairs()[0]), 'image')} with a mask")
    if idx.multilabel:
        lines.append("Counts are images per tag; an image with several tags counts once for each.")
    lines += ["", counts.to_string(), ""]
    if len(idx.problems):
        lines.append(f"Problems: {_skipped(idx.problems)} skipped")
    else:
        lines.append(NOTHING_SKIPPED)
    reasons = idx.problems.reason.value_counts()
    lines += [f"  {n:>7,}  {reason}" for reason, n in reasons[reasons > 0].items()]
    return "\n".join(lines)


def _relative(path: str, idx: Indexed) -> str:
    root = str(idx.root).rstrip("/") + "/"
    return path[len(root) :] if path.startswith(root) else path


def _strip(idx: Indexed, cache: dict[tuple[str, int], str]) -> str:
    from kagman.images.sheet import sheet_rows, strip

    rows, kind = sheet_rows(idx, per_class=_STRIP_PER_CLASS, split=None, seed=0)
    shown = [row.label for row in rows[:_STRIP_CLASSES]]
    uris = strip(idx, cache, per_class=_STRIP_PER_CLASS, size=_STRIP_SIZE, classes=shown)
    lines = []
    for label in shown:
        images = "".join(
            f'<img src="{uri}" style="height:{_STRIP_SIZE}px;margin:1px;vertical-align:middle" '
            f'alt="{_e(label)}"/>'
            for uri in uris[label]
        )
        lines.append(
            f'<div style="white-space:nowrap"><span style="display:inline-block;width:140px;'
            f'overflow:hidden;text-overflow:ellipsis;vertical-align:middle">{_e(label)}</span>'
            f"{images}</div>"
        )
    more = len(rows) - len(shown)
    tail = f'<div style="{_MUTED}">... and {more} more {kind} rows; .show() draws them all.</div>'
    head = (
        f'<p style="margin:8px 0 2px"><b>Samples</b> <span style="{_MUTED}">(a few per {kind}; '
        "<code>.show()</code> draws a contact sheet)</span></p>"
    )
    return head + "".join(lines) + (tail if more > 0 else "")


def index_html(idx: Indexed, cache: dict[tuple[str, int], str]) -> str:
    """The whole HTML block of ``idx`` (``cache`` holds thumbnails between displays)."""
    kind = " (multi-label: counts are images per tag)" if idx.multilabel else ""
    pairs = f", {len(idx.pairs()[0]):,} with a mask" if idx.paired else ""
    head = (
        f"<p><b>ImageIndex</b> of {_e(idx.name)}: {counted(len(idx), 'image')}{pairs} in "
        f"{counted(len(idx.splits), 'split')}, "
        f"{counted(len(idx.classes), 'class', 'classes')}{_e(kind)} (check={_e(idx.check)})<br/>"
        f'<span style="{_MUTED}">root: <code>{_e(idx.root)}</code></span></p>'
    )
    layout = (
        f'<details open><summary>Layout</summary><pre style="margin:2px 0">{_e(idx.layout)}</pre>'
        "</details>"
    )
    return (
        '<div style="font-family:sans-serif;font-size:13px;line-height:1.35">'
        f"{head}{layout}{_counts_table(idx)}{_problems(idx)}{_strip(idx, cache)}</div>"
    )


def _skipped(problems: pd.DataFrame) -> str:
    """``"6 files and 3 folders"``: an index's problem rows, by kind."""
    return skipped_entries(len(problems), int(problems.folder.sum()))
