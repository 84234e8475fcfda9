"""Each market's listing file on its exchange's URL layout: what each parser keeps and refuses, London's
issue probing, Xetra's link from its Downloads page, the snapshots in the lake, and a market's new
listing starting its price backfill once through the new-symbol sensor."""

import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import dagster as dg
import openpyxl
import polars as pl
import pytest
import xlwt

from assets.listings import DATASET, LISTINGS, newest_snapshot
from resources.http import SourceFileMissing
from resources.lake import LakeResource
from resources.listings import (
    HKEX_PATH,
    JPX_PATH,
    LSE_LIST_PATH,
    XETRA_DOWNLOADS_PATH,
    ListingFileError,
    ListingsClient,
    lse_list_number,
    parse_hkex,
    parse_jpx,
    parse_lse,
    parse_tmx,
    parse_xetra,
)
from resources.markets import BY_MIC
from tests.helpers import SAMPLE_ROOT, Mirror, on_mirror, serve_all_sources
from tests.test_sensors import tick, write_snapshot

LSE_HOST = "/docs.londonstockexchange.com"
LSE_SAMPLE = SAMPLE_ROOT / "docs.londonstockexchange.com" / LSE_LIST_PATH.format(number=82).lstrip("/")
BY_KEY = {asset.key: asset for asset in LISTINGS}


@pytest.fixture(scope="module")
def mirror() -> Iterator[Mirror]:
    with serve_all_sources() as served:
        yield served


def client(mirror: Mirror, **overrides: object) -> ListingsClient:
    return on_mirror(ListingsClient, mirror, retry_attempts=2, max_retry_wait_seconds=0, **overrides)


@pytest.mark.parametrize(
    ("mic", "symbols", "snapshot"),
    [
        ("XLON", ["AZN.L", "BARC.L", "BP.L", "HSBA.L", "RR.L", "VOD.L", "ISF.L"], None),
        ("XETR", ["ALV.DE", "BMW.DE", "DTE.DE", "SAP.DE", "SIE.DE", "EUNL.DE"], dt.date(2024, 7, 12)),
        ("XTKS", ["7203.T", "6758.T", "8306.T", "9984.T", "1306.T"], dt.date(2024, 6, 28)),
        ("XHKG", ["0005.HK", "0388.HK", "0700.HK", "1299.HK", "2800.HK", "9988.HK"], dt.date(2024, 7, 12)),
        ("XTSE", ["BBD.A.TO", "BBD.B.TO", "CNQ.TO", "ENB.TO", "RY.TO", "SHOP.TO", "TD.TO"], None),
    ],
)
def test_each_markets_file_gives_its_listings_in_the_lakes_symbols(
    mirror: Mirror, mic: str, symbols: list[str], snapshot: dt.date | None
) -> None:
    """London's trailing-dot TIDMs lose the dot (BP. is BP.L); Xetra keeps active home listings (not Apple's
    APC, not the inactive Wirecard); Hong Kong drops warrants and CBBCs and pads 00700 to 0700; Toronto
    keeps both Bombardier classes and leaves Enbridge's preferred share out."""
    frame = client(mirror).listings(mic)
    assert frame["symbol"].to_list() == symbols
    assert set(frame["market"]) == {mic}
    fetched = dt.datetime.now(ZoneInfo(BY_MIC[mic].timezone)).date()
    assert set(frame["snapshot_date"]) == {snapshot or fetched}  # the file's own date, else the fetch's


def test_currency_and_sector_come_from_the_file_where_it_has_them(mirror: Mirror) -> None:
    london = client(mirror).listings("XLON")
    assert london.filter(symbol="BP.L").select("listing_code", "currency", "sector").row(0) == ("BP.", "GBX", "Energy")
    tokyo = client(mirror).listings("XTKS")
    assert tokyo.filter(symbol="1306.T")["sector"].to_list() == [None]  # an ETF's "-"
    assert tokyo.filter(symbol="9984.T")["sector"].to_list() == ["Information & Communication"]


def test_london_reads_the_highest_issue_found_probing_past_gaps(mirror: Mirror) -> None:
    mirror.put_path(f"{LSE_HOST}{LSE_LIST_PATH.format(number=85)}", LSE_SAMPLE.read_bytes())
    try:
        before = len(mirror.requests)
        frame = client(mirror, lse_first_list=80).listings("XLON")
        probed = mirror.requests[before:]
    finally:
        mirror.files.pop(f"{LSE_HOST}{LSE_LIST_PATH.format(number=85)}")
    assert lse_list_number(frame["source_url"][0]) == 85
    # 80..95 asked once each (82 and 85 exist, then ten misses in a row), then 85's body.
    assert len(probed) == 16 + 1
    again = client(mirror).listings("XLON", last_source_url=LSE_LIST_PATH.format(number=82))
    assert lse_list_number(again["source_url"][0]) == 82  # 85 is gone: the stored issue is the start


def test_london_with_no_issue_in_reach_says_which_setting_to_change(mirror: Mirror) -> None:
    with pytest.raises(SourceFileMissing, match=r"none of numbers 200\.\.209 .*TICKERLAKE_LSE_INSTRUMENT_LIST"):
        client(mirror, lse_first_list=200).listings("XLON")


def test_xetras_file_is_found_through_its_downloads_page(mirror: Mirror) -> None:
    page = f"/www.cashmarket.deutsche-boerse.com{XETRA_DOWNLOADS_PATH}"
    original = mirror.files[page]
    try:
        mirror.put_path(page, b"<html><body>Maintenance</body></html>")
        with pytest.raises(ListingFileError, match=r"no link to t7-xetr-allTradableInstruments\.csv"):
            client(mirror).listings("XETR")
    finally:
        mirror.put_path(page, original)


def xlsx(rows: list[list[object]], sheet: str) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_tokyo_code_with_a_letter_is_kept_as_written() -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    rows = [
        ["Effective Date", "Local Code", "Name (English)", "Section/Products", "33 Sector(name)"],
        [20241231, "285A", "KIOXIA HOLDINGS CORPORATION", "Prime Market (Domestic)", "Electric Appliances"],
        [20241231, 1301, "KYOKUYO CO.,LTD.", "Prime Market (Domestic)", "Fishery, Agriculture & Forestry"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    frame = parse_jpx(buffer.getvalue(), JPX_PATH)
    assert frame["symbol"].to_list() == ["285A.T", "1301.T"]
    assert set(frame["snapshot_date"]) == {dt.date(2024, 12, 31)}


@pytest.mark.parametrize(
    ("parse", "body", "message"),
    [
        (
            lambda body: parse_lse(body, "list_1.xlsx", dt.date(2024, 7, 12)),
            xlsx([["TIDM", "Issuer Name"], ["VOD", "VODAFONE"]], "1.0 All Equity"),
            r"header lacks \['Trading Currency'\]",
        ),
        (
            lambda body: parse_lse(body, "list_1.xlsx", dt.date(2024, 7, 12)),
            xlsx([["TIDM"]], "Shares"),
            "no sheet '1.0 All Equity'",
        ),
        (lambda body: parse_hkex(body, HKEX_PATH), xlsx([["List of Securities"], ["Updated"]], "x"), "Updated as at"),
        (lambda body: parse_hkex(body, HKEX_PATH), b"<html>blocked</html>", "not the source's format"),
    ],
)
def test_a_file_not_in_its_exchanges_format_is_refused_by_name(parse, body: bytes, message: str) -> None:
    with pytest.raises(ListingFileError, match=message):
        parse(body)


@pytest.fixture
def listings_env(mirror: Mirror, lake: LakeResource) -> Iterator[tuple[dg.DagsterInstance, dict]]:
    with dg.instance_for_test() as instance:
        yield instance, {"lake": lake, "listings": client(mirror)}


def materialize(key: dg.AssetKey, instance: dg.DagsterInstance, resources: dict, **config: object):
    run_config = {"ops": {key.to_python_identifier(): {"config": config}}} if config else None
    return dg.materialize(
        [BY_KEY[key]], resources=resources, instance=instance, run_config=run_config, raise_on_error=False
    )


def test_a_snapshot_lands_per_market_and_a_rerun_stores_the_same_rows(listings_env, lake: LakeResource) -> None:
    instance, resources = listings_env
    tokyo = dg.AssetKey(["raw", "listings_xtks"])
    for _ in range(2):
        assert materialize(tokyo, instance, resources).success
    assert newest_snapshot(lake, "XTKS")["symbol"].to_list() == ["1306.T", "6758.T", "7203.T", "8306.T", "9984.T"]
    assert lake.read(DATASET).height == 5


def test_a_cut_file_of_the_same_day_is_refused_and_the_stored_snapshot_kept(
    listings_env, mirror: Mirror, lake: LakeResource
) -> None:
    instance, resources = listings_env
    key = dg.AssetKey(["raw", "listings_xhkg"])
    assert materialize(key, instance, resources).success
    path = f"/www.hkex.com.hk{HKEX_PATH}"
    original = mirror.files[path]
    header = ["Stock Code", "Name of Securities", "Category", "ISIN", "Trading Currency"]
    cut = [["List of Securities"], ["Updated as at 12/07/2024"], header, ["00005", "HSBC", "Equity", "GB0", "HKD"]]
    try:
        mirror.put_path(path, xlsx(cut, "ListOfSecurities"))
        result = materialize(key, instance, resources)
    finally:
        mirror.put_path(path, original)
    assert not result.success
    assert newest_snapshot(lake, "XHKG").height == 6


def test_a_markets_new_listing_starts_its_backfill_once(listings_env, lake: LakeResource) -> None:
    instance, resources = listings_env
    write_snapshot(lake, "2024-07-12", ["AAPL"])
    assert materialize(dg.AssetKey(["raw", "listings_xtse"]), instance, resources).success
    first = tick(instance, lake)
    assert instance.get_dynamic_partitions("symbols") == [
        "AAPL", "BBD.A.TO", "BBD.B.TO", "CNQ.TO", "ENB.TO", "RY.TO", "SHOP.TO", "TD.TO"
    ]  # fmt: skip
    assert len(first.run_requests) == 1
    assert isinstance(tick(instance, lake, cursor=first.cursor), dg.SkipReason)
    stored = newest_snapshot(lake, "XTSE")
    grown = stored.vstack(stored.head(1).with_columns(symbol=pl.lit("WEED.TO"), listing_code=pl.lit("WEED")))
    lake.replace(DATASET, grown, where={"market": "XTSE", "snapshot_date": stored["snapshot_date"][0]})
    [request] = tick(instance, lake, cursor=first.cursor).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "WEED.TO"
    assert request.tags["dagster/asset_partition_range_end"] == "WEED.TO"
    assert isinstance(tick(instance, lake), dg.SkipReason)


def test_toronto_leaves_every_preferred_series_out_and_skips_a_company_without_instruments() -> None:
    body = (
        b'{"results": [{"symbol": "BAM", "name": "Brookfield", "instruments": [{"symbol": "BAM", "name": "B"}, '
        b'{"symbol": "BAM.PF.A", "name": "pref"}, {"symbol": "BAM.PR.B", "name": "pref"}]}, '
        b'{"symbol": "GONE", "name": "Delisting Corp", "instruments": []}]}'
    )
    assert parse_tmx(body, "tsx", dt.date(2024, 7, 12))["symbol"].to_list() == ["BAM.TO"]


def test_a_xetra_line_without_a_primary_market_is_a_home_listing() -> None:
    body = (
        b"Market:;XETR\nDate Last Update:;12.07.2024\n"
        b"Product Status;Instrument Status;Instrument;ISIN;Mnemonic;Instrument Type;Currency;Primary Market MIC Code\n"
        b"Active;Active;SAP SE;DE0007164600;SAP;CS;EUR;\n"
        b"Active;Active;APPLE INC.;US0378331005;APC;CS;EUR;XNAS\n"
    )
    assert parse_xetra(body, "t7.csv")["symbol"].to_list() == ["SAP.DE"]


def test_a_cut_file_dated_a_new_day_is_refused_and_the_stored_snapshot_kept(
    listings_env, mirror: Mirror, lake: LakeResource
) -> None:
    """Xetra's CSV has no trailer: a cut download parses, and as a new day's snapshot it would delist most
    of the market."""
    instance, resources = listings_env
    key = dg.AssetKey(["raw", "listings_xetr"])
    assert materialize(key, instance, resources).success
    [path] = [p for p in mirror.files if p.endswith("t7-xetr-allTradableInstruments.csv")]
    original = mirror.files[path]
    lines = original.split(b"\n")
    cut = b"\n".join([lines[0], b"Date Last Update:;15.07.2024", *lines[2:5]])
    try:
        mirror.put_path(path, cut)
        result = materialize(key, instance, resources)
    finally:
        mirror.put_path(path, original)
    assert not result.success
    assert "lacks 4 of the 6 symbols of the stored 2024-07-12 snapshot" in str(result.get_step_failure_events()[0])
    assert newest_snapshot(lake, "XETR")["snapshot_date"].to_list() == [dt.date(2024, 7, 12)] * 6
