"""The README's loader recipes, read out of README.md so the tests run what users copy."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def recipe(name: str) -> str:
    """The fenced python block after ``<!-- recipe: NAME -->`` in the README."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- recipe: {name} -->")
    assert lines[start + 1] == "```python", name
    end = lines.index("```", start + 2)
    return "\n".join(lines[start + 2 : end]) + "\n"


def on_folder(code: str, folder: Path) -> str:
    """The recipe pointed at ``folder`` instead of the README's ``data/chest_xray``."""
    assert '"data/chest_xray"' in code
    return code.replace('"data/chest_xray"', repr(str(folder)))
