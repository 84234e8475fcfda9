"""Daily CSV exports in a self-serve upload layout: one dated file per trading day.

The columns (date, symbol, short_volume, total_volume, short_ratio) are the shape the original
pipeline uploaded to Quantopian's Self-Serve Data. Read through a read-only connection to the lake's
catalog (the last committed snapshot), so an export never waits for, or blocks, a dbt build.
"""

import csv
import datetime as dt
import os
import uuid
from pathlib import Path

import dagster as dg
from pydantic import Field

from assets.partitions import partition_days, trading_days
from resources.lake import LakeResource

FCT_SHORT_VOLUME = dg.AssetKey(["marts", "fct_short_volume_daily"])
COLUMNS = ["date", "symbol", "short_volume", "total_volume", "short_ratio"]


class ExportDirectory(dg.ConfigurableResource):
    root: str = Field(default="data/exports", description="Where dated CSV files are written.")

    def path(self, day: dt.date) -> Path:
        return Path(self.root).resolve() / "short_volume" / f"{day.isoformat()}.csv"


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, rows: list[tuple]) -> None:
    """Temp file + rename: a reader or uploader never sees half a file. Text cells are spreadsheet-safe."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(tuple(spreadsheet_safe(value) for value in row) for row in rows)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


@dg.asset(
    key=["exports", "short_volume_csv"],
    deps=[FCT_SHORT_VOLUME],
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="exports",
    kinds={"csv"},
    description="data/exports/short_volume/YYYY-MM-DD.csv per trading day: date, symbol, short_volume, "
    "total_volume, short_ratio (NMS figures; days without data get a header-only file).",
)
def short_volume_csv(
    context: dg.AssetExecutionContext, lake: LakeResource, exports: ExportDirectory
) -> dg.MaterializeResult:
    days = partition_days(context)
    written = 0
    with lake.connect(read_only=True) as con:
        for day in days:
            rows = con.execute(
                "SELECT strftime(trade_date, '%Y-%m-%d'), symbol, short_volume, total_volume, short_ratio "
                "FROM marts.fct_short_volume_daily WHERE trade_date = ? AND short_volume IS NOT NULL "
                "ORDER BY symbol",
                [day],
            ).fetchall()
            write_csv(exports.path(day), rows)
            written += len(rows)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "files": len(days),
            "last_file": str(exports.path(days[-1])) if days else "",
        }
    )
