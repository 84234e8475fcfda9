"""The demo's own machinery: its progress bar counts what a run has stored, its server dates a zip as posted."""

import datetime as dt
import email.utils
import sys
import urllib.request
import zipfile

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


def test_the_sample_server_dates_a_zip_when_its_source_posted_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """SEC's fails-to-deliver take their publication time from Last-Modified: in the demo, the posting
    time the sample's zip carries, not the day this checkout was written."""
    monkeypatch.syspath_prepend(str(ROOT / "sample"))
    import demo

    root = demo.serve_sample()
    sample = "/www.sec.gov/files/data/fails-deliver-data/cnsfails202403a.zip"
    with urllib.request.urlopen(root + sample) as answer:
        posted = email.utils.parsedate_to_datetime(answer.headers["Last-Modified"])
    with zipfile.ZipFile(ROOT / "sample" / sample.lstrip("/")) as archive:
        assert posted == dt.datetime(*archive.infolist()[0].date_time, tzinfo=dt.UTC)
    assert posted.date() < dt.date(2024, 7, 12), "posted in the sample's world"
