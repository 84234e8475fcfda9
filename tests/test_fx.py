"""ECB reference rates: the archive's format and USD conversion of a non-USD listing."""

import datetime as dt
import io
import zipfile
from collections.abc import Callable

import dagster as dg
import pytest

from assets.fx import DATASET, fx_rates_ecb
from resources.fx import DEFAULT_BASE_URL, HIST_PATH, EcbClient, FxFileError, parse_eurofxref_hist
from resources.lake import LakeResource
from tests.helpers import SAMPLE_ROOT, mirror_path, on_mirror, serve_all_sources
from tests.platform_build import rows

ARCHIVE = SAMPLE_ROOT / "www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"


def test_history_is_long_format_and_na_is_no_row() -> None:
    frame = parse_eurofxref_hist(ARCHIVE.read_bytes())
    assert set(frame["currency"].unique()) == {"USD", "JPY", "GBP", "CHF", "CAD", "HKD"}, (
        "CYP is N/A throughout: no rows"
    )
    usd = frame.filter((frame["currency"] == "USD") & (frame["rate_date"] == dt.date(2024, 7, 5)))
    assert usd["units_per_eur"].to_list() == [1.0814]


def test_a_body_that_is_not_the_zip_is_rejected() -> None:
    with pytest.raises(FxFileError, match="not a zip"):
        parse_eurofxref_hist(b"<html>maintenance</html>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("eurofxref-hist.csv", "Datum,Kurs\n2024-07-05,1\n")
    with pytest.raises(FxFileError, match="unexpected header"):
        parse_eurofxref_hist(buffer.getvalue())


def test_eur_prices_get_usd_through_the_days_fix(platform_build) -> None:
    converted = rows(
        platform_build,
        "SELECT trade_date, close, usd_per_unit, close_usd, fx_rate_date FROM marts.fct_prices_daily "
        "WHERE symbol = 'SAPX' ORDER BY trade_date",
    )
    assert converted[0] == (dt.date(2024, 7, 5), 200.0, 1.0814, pytest.approx(216.28), dt.date(2024, 7, 5))
    assert converted[1][2] == 1.0890
    # 2024-07-15 is after the sample's last ECB fix: the latest earlier fix (2024-07-12) applies, and says so.
    assert converted[2] == (dt.date(2024, 7, 15), 204.0, 1.0890, pytest.approx(204.0 * 1.0890), dt.date(2024, 7, 12))


def test_a_foreign_listings_usd_return_holds_the_currencys_move(platform_build) -> None:
    [(local, usd)] = rows(
        platform_build,
        "SELECT daily_return, daily_return_usd FROM marts.fct_prices_daily "
        "WHERE symbol = 'SAPX' AND trade_date = DATE '2024-07-12'",
    )
    assert local == pytest.approx(202.5 / 200.0 - 1)
    assert usd == pytest.approx(202.5 * 1.0890 / (200.0 * 1.0814) - 1)  # the euro rose against the dollar


def test_usd_listings_convert_one_to_one(platform_build) -> None:
    assert rows(platform_build, "SELECT DISTINCT usd_per_unit FROM marts.fct_prices_daily WHERE currency = 'USD'") == [
        (1.0,)
    ]


def archive(edit: Callable[[list[list[str]]], list[list[str]]]) -> bytes:
    """The sample's archive with its CSV cells changed by `edit` (header row first)."""
    with zipfile.ZipFile(ARCHIVE) as source:
        cells = [line.split(",") for line in source.read("eurofxref-hist.csv").decode().splitlines()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as changed:
        changed.writestr("eurofxref-hist.csv", "\n".join(",".join(row) for row in edit(cells)) + "\n")
    return buffer.getvalue()


def without_jpy(cells: list[list[str]]) -> list[list[str]]:
    column = cells[0].index("JPY")
    return [row[:column] + row[column + 1 :] for row in cells]


def negative_gbp(cells: list[list[str]]) -> list[list[str]]:
    column = cells[0].index("GBP")
    cells[1][column] = "-0.8395"
    return cells


def test_an_archive_that_lost_a_currency_or_breaks_a_rule_leaves_the_stored_rates(lake: LakeResource) -> None:
    with serve_all_sources() as mirror, dg.instance_for_test() as instance:
        resources = {"lake": lake, "fx": on_mirror(EcbClient, mirror, retry_attempts=1)}

        def run(**config: bool) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [fx_rates_ecb],
                resources=resources,
                instance=instance,
                raise_on_error=False,
                run_config={"ops": {"raw__fx_rates_ecb": {"config": config}}},
            )

        def failure(result: dg.ExecuteInProcessResult) -> str:
            return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message

        assert run().success
        stored = lake.read(DATASET, stamps=True)
        mirror.put_path(mirror_path(DEFAULT_BASE_URL, HIST_PATH), archive(without_jpy))
        shrunk = run()
        assert not shrunk.success and "currency gone: 1 (JPY)" in failure(shrunk)
        assert lake.read(DATASET, stamps=True).equals(stored)
        mirror.put_path(mirror_path(DEFAULT_BASE_URL, HIST_PATH), archive(negative_gbp))
        broken = run()
        assert not broken.success and "quarantined, failed rate_positive" in failure(broken)
        assert lake.read(DATASET, stamps=True).equals(stored)
        mirror.put_path(mirror_path(DEFAULT_BASE_URL, HIST_PATH), archive(without_jpy))
        assert run(allow_shrink=True).success, "a restatement goes through when the run says so"
        assert "JPY" not in lake.read(DATASET)["currency"].to_list()
