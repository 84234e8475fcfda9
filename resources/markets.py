"""The equity markets tickerlake knows: each one's exchange calendar, listing currency and the suffix
price providers put on its symbols.

A symbol names its market by that suffix, as Yahoo writes it and as the lake stores it: `VOD.L` is
London, `SAP.DE` Xetra, `7203.T` Tokyo, `0005.HK` Hong Kong, `RY.TO` Toronto; a symbol without a
known suffix is a US listing (`AAPL`, and class shares such as `BRK.B`, whose dot is the class's).
A market's trading days are its own calendar's sessions, never New York's: a Tokyo bar on the Fourth
of July is a bar, and Golden Week is no gap.

The currency is the one prices are quoted in by the listing: London quotes most shares in pence (GBp),
which fct_prices_daily converts as GBP / 100 (the provider's `meta.currency` says so per symbol).
The same table is the dbt seed `markets` (dbt_project/seeds/markets.csv, tested equal), so SQL users
filter rankings by market.
"""

import datetime as dt
import functools
from dataclasses import dataclass

import exchange_calendars as xcals
import pandas as pd


@dataclass(frozen=True)
class Market:
    """One market: `mic` its ISO 10383 code (the exchange_calendars name), `suffix` its symbols' suffix.

    `window_timezone` is where its daily partitions' days are cut: a fixed UTC offset whose midnight
    falls between the market's close and the evening, so a day becomes a partition once it has traded
    and a run after it can fetch its bars (XNYS's is assets/partitions.py's SESSION_WINDOW_TIMEZONE).
    """

    mic: str
    name: str
    currency: str
    suffix: str
    timezone: str
    window_timezone: str


# POSIX writes UTC+14 as Etc/GMT-14. Closes in UTC: London and Xetra 15:30-16:30 (day cut at 17:00),
# Tokyo 06:30, Hong Kong 08:00 (cut at 10:00), Toronto and New York 20:00-21:00 (cut at 21:00).
MARKETS = (
    Market("XNYS", "United States (NYSE, Nasdaq and the other US venues)", "USD", "", "America/New_York", "Etc/GMT-3"),
    Market("XLON", "London Stock Exchange", "GBP", ".L", "Europe/London", "Etc/GMT-7"),
    Market("XETR", "Xetra (Deutsche Boerse, Frankfurt)", "EUR", ".DE", "Europe/Berlin", "Etc/GMT-7"),
    Market("XTKS", "Tokyo Stock Exchange", "JPY", ".T", "Asia/Tokyo", "Etc/GMT-14"),
    Market("XHKG", "Hong Kong Exchanges", "HKD", ".HK", "Asia/Hong_Kong", "Etc/GMT-14"),
    Market("XTSE", "Toronto Stock Exchange", "CAD", ".TO", "America/Toronto", "Etc/GMT-3"),
)
BY_MIC = {market.mic: market for market in MARKETS}
US = BY_MIC["XNYS"]
CALENDAR_START = dt.date(2000, 1, 3)  # before any history a provider serves for these markets


def configured(value: str) -> list[Market]:
    """The markets of a comma-separated list of MICs (TICKERLAKE_MARKETS) beside the US; an unknown one is refused."""
    chosen = [mic.strip().upper() for mic in value.split(",") if mic.strip()]
    unknown = [mic for mic in chosen if mic not in BY_MIC]
    if unknown:
        raise ValueError(f"TICKERLAKE_MARKETS: unknown markets {unknown}; known: {', '.join(BY_MIC)}")
    return [BY_MIC[mic] for mic in dict.fromkeys(chosen) if mic != US.mic]


def market_of(symbol: str) -> Market:
    """The market a symbol's suffix names; US when it has none of the known suffixes."""
    for market in MARKETS:
        if market.suffix and symbol.endswith(market.suffix) and len(symbol) > len(market.suffix):
            return market
    return US


def base_symbol(symbol: str) -> str:
    """The symbol without its market's suffix (VOD of VOD.L, BRK.B of BRK.B)."""
    suffix = market_of(symbol).suffix
    return symbol[: -len(suffix)] if suffix else symbol


@functools.cache
def calendar(mic: str) -> xcals.ExchangeCalendar:
    return xcals.get_calendar(mic, start=CALENDAR_START)


def sessions(mic: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The market's trading days in [start, end], from its own exchange calendar."""
    cal = calendar(mic)
    start, end = max(start, cal.first_session.date()), min(end, cal.last_session.date())
    if start > end:
        return []
    return [ts.date() for ts in cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]
