"""The demo's progress bar of the FINRA run: what it counts is what the run has stored so far."""

import datetime as dt
import sys

import polars as pl
import pytest

from assets.finra import DATASET
from resources.finra import SHORT_VOLUME_SCHEMA
from resources.lake import LakeResource
from tests.helpers import ROOT, lake_env


def finra_rows(day: str, symbols: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "trade_date": [dt.date.fromisoformat(day)] * symbols,
            "symbol": [f"S{i}" for i in range(symbols)],
            "facility": ["CNMS"] * symbols,
            "short_volume": [1.0] * symbols,
            "short_exempt_volume": [0.0] * symbols,
            "total_volume": [2.0] * symbols,
            "market": ["Q"] * symbols,
        }
    ).cast(SHORT_VOLUME_SCHEMA)


def test_the_finra_progress_counts_the_days_and_rows_stored_since_the_run_began(
    lake: LakeResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "sample"))
    monkeypatch.delitem(sys.modules, "demo", raising=False)
    import demo

    before = demo.lake_progress(lake_env(lake), dt.datetime.now(dt.UTC))
    assert before() == (0, 0), "no catalog yet: nothing stored"
    lake.replace(DATASET, finra_rows("2024-07-11", 3), where={"trade_date": dt.date(2024, 7, 11)})
    began = dt.datetime.now(dt.UTC)
    during = demo.lake_progress(lake_env(lake), began)
    assert during() == (0, 0), "a day stored before the run is not the run's"
    for day, symbols in (("2024-07-11", 4), ("2024-07-12", 5)):
        lake.replace(DATASET, finra_rows(day, symbols), where={"trade_date": dt.date.fromisoformat(day)})
    assert during() == (2, 9)
    assert before() == (2, 9)
