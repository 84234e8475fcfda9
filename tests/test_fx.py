"""ECB reference rates: the archive's format and USD conversion of a non-USD listing."""

import datetime as dt
import io
import zipfile

import pytest

from resources.fx import FxFileError, parse_eurofxref_hist
from tests.conftest import SAMPLE_ROOT
from tests.platform_build import rows

ARCHIVE = SAMPLE_ROOT / "www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"


def test_history_is_long_format_and_na_is_no_row() -> None:
    frame = parse_eurofxref_hist(ARCHIVE.read_bytes())
    assert set(frame["currency"].unique()) == {"USD", "JPY", "GBP", "CHF"}, "CYP is N/A throughout: no rows"
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
    converted = rows(platform_build, "SELECT trade_date, close, usd_per_unit, close_usd FROM marts.fct_prices_daily "
                     "WHERE symbol = 'SAPX' ORDER BY trade_date")
    assert converted[0] == (dt.date(2024, 7, 5), 200.0, 1.0814, pytest.approx(216.28))
    assert converted[1][2] == 1.0890
    # 2024-07-15 is after the sample's last ECB fix: the latest earlier fix (2024-07-12) applies.
    assert converted[2] == (dt.date(2024, 7, 15), 204.0, 1.0890, pytest.approx(204.0 * 1.0890))


def test_usd_listings_convert_one_to_one(platform_build) -> None:
    assert rows(platform_build, "SELECT DISTINCT usd_per_unit FROM marts.fct_prices_daily WHERE currency = 'USD'") == [
        (1.0,)]
