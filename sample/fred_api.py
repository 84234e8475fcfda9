"""Answers GET /graph/fredgraph.csv?id=SERIES over the bundled FRED sample, as FRED's download does.

FRED names the series in the query, and a static server maps a path, not a query, to a file: the
sample keeps one file per series under fred.stlouisfed.org/graph/fredgraph/<ID>.csv, and both the
demo's server (sample/demo.py) and the tests' mirror (tests/helpers.py) answer
the real URL with this. An id the sample does not hold is answered 404.
"""

import re
from pathlib import Path

SAMPLE_ROOT = Path(__file__).resolve().parent
FRED_HOST = "/fred.stlouisfed.org"
FREDGRAPH_PATH = "/graph/fredgraph.csv"
SERIES_DIR = Path("fred.stlouisfed.org") / "graph" / "fredgraph"


def fredgraph_answer(query: dict[str, str], root: Path = SAMPLE_ROOT) -> tuple[int, bytes]:
    """(HTTP status, CSV body) for one fredgraph.csv request."""
    series_id = query.get("id", "")
    path = root / SERIES_DIR / f"{series_id}.csv"
    if not re.fullmatch(r"[A-Z0-9_]+", series_id) or not path.is_file():
        return 404, f"FRED sample: no series {series_id[:40]!r}\n".encode()
    return 200, path.read_bytes()
