"""Markets beyond the US: a symbol's market by its suffix, each market's own calendar, Yahoo's symbols,
the dbt seed equal to the registry, and a Tokyo listing's history kept on Tokyo's trading days."""

import csv
import datetime as dt

import dagster as dg
import pytest

from assets.prices import DATASET, MARKET_DAILY, prices_daily, prices_history
from resources.lake import LakeResource
from resources.markets import MARKETS, base_symbol, market_of, sessions
from resources.prices import PricesResource, yahoo_symbol
from sensors.prices import AUTOMATION, day_due
from tests.helpers import ROOT, on_mirror, serve_all_sources


@pytest.mark.parametrize(
    ("symbol", "mic", "base", "yahoo"),
    [
        ("AAPL", "XNYS", "AAPL", "AAPL"),
        ("BRK.B", "XNYS", "BRK.B", "BRK-B"),
        ("VOD.L", "XLON", "VOD", "VOD.L"),
        ("BP.A.L", "XLON", "BP.A", "BP-A.L"),
        ("SAP.DE", "XETR", "SAP", "SAP.DE"),
        ("7203.T", "XTKS", "7203", "7203.T"),
        ("0005.HK", "XHKG", "0005", "0005.HK"),
        ("RY.TO", "XTSE", "RY", "RY.TO"),
    ],
)
def test_a_suffix_names_the_market_and_yahoos_symbol_keeps_it(symbol: str, mic: str, base: str, yahoo: str) -> None:
    assert (market_of(symbol).mic, base_symbol(symbol), yahoo_symbol(symbol)) == (mic, base, yahoo)


def test_each_market_trades_on_its_own_calendar() -> None:
    golden_week = dt.date(2024, 5, 3)  # Constitution Memorial Day: Tokyo closed, London open
    assert golden_week in sessions("XLON", golden_week, golden_week)
    assert sessions("XTKS", golden_week, golden_week) == []
    july_4 = dt.date(2024, 7, 4)
    assert sessions("XTKS", july_4, july_4) == [july_4] and sessions("XNYS", july_4, july_4) == []
    assert sessions("XHKG", dt.date(2024, 2, 12), dt.date(2024, 2, 13)) == []  # Lunar New Year


def test_the_dbt_seed_is_the_registry() -> None:
    with (ROOT / "dbt_project" / "seeds" / "markets.csv").open() as file:
        seeded = [(r["mic"], r["name"], r["currency"], r["suffix"], r["timezone"]) for r in csv.DictReader(file)]
    assert seeded == [(m.mic, m.name, m.currency, m.suffix, m.timezone) for m in MARKETS]


def test_a_tokyo_history_keeps_tokyos_sessions_not_new_yorks(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["7203.T"])
        prices = on_mirror(PricesResource, mirror, retry_attempts=2, max_retry_wait_seconds=0)
        result = dg.materialize(
            [prices_history], resources={"lake": lake, "prices": prices}, instance=instance, partition_key="7203.T"
        )
        assert result.success
    stored = lake.read(DATASET, where={"symbol": "7203.T"})
    assert stored["trade_date"].to_list() == [
        dt.date(2024, 7, 3),
        dt.date(2024, 7, 4),  # New York was closed; Tokyo traded
        dt.date(2024, 7, 5),
        dt.date(2024, 7, 8),
    ], "2024-07-15 (Marine Day) is no Tokyo session: its bar is not stored"
    assert set(stored["currency"]) == {"JPY"} and stored["close"].to_list()[1] == 2655.5
    assert any(request.startswith("/query1.finance.yahoo.com/v8/finance/chart/7203.T") for request in mirror.requests)


def daily_asset(mic: str) -> dg.AssetsDefinition:
    return next(asset for asset in MARKET_DAILY if asset.key == dg.AssetKey(["raw", f"prices_daily_{mic.lower()}"]))


def test_a_markets_daily_partitions_are_its_own_trading_days() -> None:
    tokyo, london = daily_asset("XTKS").partitions_def, daily_asset("XLON").partitions_def
    keys = tokyo.get_partition_keys_in_range(dg.PartitionKeyRange("2024-05-01", "2024-05-08"))
    assert keys == ["2024-05-01", "2024-05-02", "2024-05-07", "2024-05-08"]  # Golden Week: 3 and 6 May
    assert "2024-05-03" in london.get_partition_keys_in_range(dg.PartitionKeyRange("2024-05-01", "2024-05-08"))
    assert "2024-07-04" in tokyo.get_partition_keys_in_range(dg.PartitionKeyRange("2024-07-01", "2024-07-08"))


def test_the_schedule_asks_for_the_day_after_the_markets_close_and_skips_its_holidays() -> None:
    tokyo = daily_asset("XTKS").partitions_def
    assert day_due(tokyo, dt.datetime(2024, 7, 4, 10, 30, tzinfo=dt.UTC)) == "2024-07-04"  # 19:30 in Tokyo
    assert day_due(tokyo, dt.datetime(2024, 7, 4, 9, 30, tzinfo=dt.UTC)) == "2024-07-03"  # before 4 July's cut
    assert day_due(tokyo, dt.datetime(2024, 7, 15, 10, 30, tzinfo=dt.UTC)) is None  # Marine Day
    schedule = next(s for s in AUTOMATION if s.name == "prices_daily_xtks_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 0 * * *", "Etc/GMT-14")


def test_a_markets_daily_run_stores_its_symbols_days_and_the_us_run_leaves_them(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("symbols", ["7203.T", "JPM"])
        prices = on_mirror(PricesResource, mirror, retry_attempts=2, max_retry_wait_seconds=0)
        resources = {"lake": lake, "prices": prices}
        for asset, day in ((daily_asset("XTKS"), "2024-07-04"), (prices_daily, "2024-07-05")):
            assert dg.materialize([asset], resources=resources, instance=instance, partition_key=day).success
    stored = lake.read(DATASET).select("symbol", "trade_date").rows()
    assert sorted(stored) == [("7203.T", dt.date(2024, 7, 4)), ("JPM", dt.date(2024, 7, 5))]
