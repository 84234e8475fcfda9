"""Freshness and volume-band checks: a day that is valid row by row but incomplete is visible."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from assets.finra import ASSET_KEY as FINRA_KEY
from assets.finra import DATASET as FINRA
from assets.freshness import judge
from assets.prices import DAILY_KEY as PRICES_KEY
from assets.sources import freshness_checks, source_checks
from resources.lake import LakeResource

DAYS = [dt.date(2024, 7, 1) + dt.timedelta(days=i) for i in range(8)]


def finra_day(day: dt.date, symbols: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "trade_date": day,
            "symbol": [f"S{i}" for i in range(symbols)],
            "facility": "CNMS",
            "short_volume": 40.0,
            "short_exempt_volume": 0.0,
            "total_volume": 100.0,
            "market": "CNMS",
        }
    )


def band_check_result(lake: LakeResource, instance: dg.DagsterInstance) -> dg.AssetCheckResult:
    check = next(c for c in source_checks() if any(key.asset_key == FINRA_KEY for key in c.check_keys))
    result = dg.materialize(
        [check],
        resources={"lake": lake},
        selection=dg.AssetSelection.checks(*check.check_keys),
        instance=instance,
        raise_on_error=False,
    )
    return result.get_asset_check_evaluations()[0]


@pytest.mark.parametrize(("newest_rows", "passes"), [(100, True), (120, True), (40, False), (180, False)])
def test_the_newest_day_outside_the_band_warns_naming_it(
    lake: LakeResource, instance: dg.DagsterInstance, newest_rows: int, passes: bool
) -> None:
    for day in DAYS[:-1]:
        lake.replace(FINRA, finra_day(day, 100), where={"trade_date": day})
    lake.replace(FINRA, finra_day(DAYS[-1], newest_rows), where={"trade_date": DAYS[-1]})
    evaluation = band_check_result(lake, instance)
    assert evaluation.passed is passes
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    if not passes:
        found = evaluation.metadata["outside_the_band"].value
        assert found.startswith(f"{DAYS[-1]}: rows {newest_rows:,} against a median of 100 over 7 days")
        assert f"volume {newest_rows * 100:,} against a median of 10,000" in found


def test_the_band_compares_volume_even_when_the_row_count_is_normal() -> None:
    figures = [(day, 100, 10_000.0) for day in DAYS[:-1]] + [(DAYS[-1], 100, 2_000.0)]
    passed, metadata = judge(figures, 0.5)
    assert not passed
    assert metadata["outside_the_band"] == f"{DAYS[-1]}: volume 2,000 against a median of 10,000 over 7 days"


def test_too_few_days_are_not_judged() -> None:
    assert judge([(DAYS[0], 100, 1.0), (DAYS[1], 1, 1.0)], 0.5)[0]


def test_every_trading_day_source_has_a_freshness_check_and_a_band() -> None:
    fresh = {key.asset_key for check in freshness_checks() for key in check.check_keys}
    banded = {key.asset_key for check in source_checks() for key in check.check_keys}
    assert {FINRA_KEY, PRICES_KEY} <= fresh & banded
    assert {"raw/symbol_directory", "raw/fx_rates_ecb", "raw/sec_company_tickers"} <= {
        key.to_user_string() for key in fresh
    }
