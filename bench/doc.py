"""docs/benchmarks.md as sections, one per benchmark size, so a run replaces its own and keeps the rest.

A one-year run and a full-history run (and the crypto run) then sit side by side for comparison.
"""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nProduced by `make bench` (bench/run.py, bench/crypto.py); each section is the latest "
    "run of its size.\n"
)


def write_section(title: str, body: str) -> None:
    """Replace the section headed `## {title}` (or add it), keeping the others in title order."""
    text = DOC.read_text() if DOC.exists() else HEADER
    sections = dict(re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M))
    sections[title] = "\n" + body.strip("\n") + "\n\n"
    DOC.write_text(HEADER + "\n" + "".join(f"## {name}\n{sections[name]}" for name in sorted(sections)))


def table(lines: list[tuple[str, ...]], header: tuple[str, ...] = ("measure", "value", "note")) -> str:
    rows = [header, tuple("---" for _ in header), *lines]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)
