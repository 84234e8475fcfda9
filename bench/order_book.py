"""Order-book snapshots in the lake: what a minute's write costs and what a snapshot weighs once compacted.

`.venv/bin/python -m bench.order_book`: writes the sample's recording (BTCUSDT, ETHUSDT, SOLUSDT, 120
minutes) into a fresh lake minute by minute, as the every-minute runs do (each minute replaced per
pair, the hour's last minute compacting the table), then prints the time a minute's write took, the
live data files and their bytes per snapshot beside the bytes of Binance's JSON answers.
"""

import datetime as dt
import gzip
import shutil
import tempfile
import time
from pathlib import Path

from assets.binance_depth import MINUTE, ORDER_BOOK_DATASET, compact
from resources.binance_depth import parse_depth, snapshot_rows
from resources.lake import Between, LocalLake

RECORDINGS = Path(__file__).resolve().parent.parent / "sample" / "api.binance.com" / "api" / "v3" / "depth"
FIRST = dt.datetime(2025, 1, 8, 10, tzinfo=dt.UTC)


def main() -> None:
    books = {
        path.name.split(".")[0]: gzip.decompress(path.read_bytes()).splitlines()
        for path in sorted(RECORDINGS.glob("*.jsonl.gz"))
    }
    minutes = min(len(answers) for answers in books.values())
    root = Path(tempfile.mkdtemp(prefix="order-book-bench-"))
    lake = LocalLake(root=str(root / "lake"), catalog=f"sqlite:{root / 'catalog.sqlite'}")
    start = time.perf_counter()
    for i in range(minutes):
        minute = FIRST + i * MINUTE
        frame = snapshot_rows([(p, minute, minute, parse_depth(books[p][i], p, minute)) for p in books])
        where = [{"pair": p, "snapshot_time": Between(minute, minute + MINUTE)} for p in books]
        lake.replace(ORDER_BOOK_DATASET, frame, where=where)
        if minute.minute == 59:
            lake.transaction(lambda tx: compact(tx, ORDER_BOOK_DATASET), "order book compaction")
    elapsed = time.perf_counter() - start
    with lake.connect() as con:
        files, size = con.execute(
            "SELECT count(*), sum(file_size_bytes) FROM __ducklake_metadata_tickerlake.ducklake_data_file "
            "WHERE end_snapshot IS NULL"
        ).fetchone()
    snapshots = minutes * len(books)
    answers = sum(len(line) for lines in books.values() for line in lines[:minutes])
    print(f"{minutes} minutes x {len(books)} pairs: {elapsed / minutes * 1000:.0f} ms a minute's write")
    print(f"{files} live data files, {size:,} bytes: {size / snapshots:,.0f} bytes a snapshot")
    print(f"Binance's JSON answers: {answers / snapshots:,.0f} bytes a snapshot")
    print(f"a pair-day of minutes: {size / snapshots * 1440 / 1e6:.1f} MB")
    lake.close()
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
