"""XNYS trading days, numbered, for the models that count sessions (a publication lag, a window).

The same calendar as the partitions (exchange_calendars' XNYS): a holiday is never a session here
and always is nowhere else. From FINRA's first daily file to the calendar's last known session.
"""

from typing import Any

import exchange_calendars as xcals
import pandas as pd

FIRST_DAY = "2009-08-03"


def model(dbt: Any, session: Any) -> pd.DataFrame:  # dbt-duckdb calls it with its context and connection
    dbt.config(materialized="table")
    calendar = xcals.get_calendar("XNYS", start=FIRST_DAY)
    days = calendar.sessions.date
    return pd.DataFrame({"trade_date": days, "session_number": range(1, len(days) + 1)})
