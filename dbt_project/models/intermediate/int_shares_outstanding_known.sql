{#-
Per symbol, the shares outstanding as known on each filing date: valid from that date (inclusive) to
the company's next filing date (exclusive; null while current), so an as-of join picks the row with
valid_from <= day < valid_to, and a backtest never sees a count before SEC published it.

On a filing date the known count is, among the filings made by that day only, the one as of the
latest date, and among those the latest filed (an amendment of that date counts from its own filing
date): a later amendment never changes what was known before it, and an amendment of an older date
changes nothing once a newer count is known. A multi-class company's classes are summed: its common
shares outstanding (SEC's company facts do not say which class a ticker is).
-#}
with filings as (
    select
        symbol,
        cik,
        accn,
        end_date,
        filed,
        any_value(form) as form,
        sum(shares)::bigint as shares_outstanding,
        count(*)::integer as share_classes,
        max(_loaded_at) as _loaded_at
    from {{ ref('stg_sec__shares_outstanding') }}
    where symbol is not null
    group by symbol, cik, accn, end_date, filed
),

filing_dates as (
    select distinct
        symbol,
        cik,
        filed as valid_from
    from filings
),

known as (
    select
        filing_dates.symbol,
        filing_dates.cik,
        filing_dates.valid_from,
        filings.end_date,
        filings.shares_outstanding,
        filings.share_classes,
        filings.accn,
        filings.form,
        filings.filed,
        max(filings._loaded_at) over (
            partition by filing_dates.symbol, filing_dates.cik, filing_dates.valid_from
        ) as _loaded_at
    from filing_dates
    inner join filings
        on
            filing_dates.symbol = filings.symbol
            and filing_dates.cik = filings.cik
            and filing_dates.valid_from >= filings.filed
    qualify row_number() over (
        partition by filing_dates.symbol, filing_dates.cik, filing_dates.valid_from
        order by filings.end_date desc, filings.filed desc, filings.accn desc
    ) = 1
)

select
    symbol,
    cik,
    valid_from,
    lead(valid_from) over (partition by symbol, cik order by valid_from) as valid_to,
    shares_outstanding,
    share_classes,
    end_date as as_of_date,
    filed as known_from,
    accn,
    form,
    _loaded_at
from known
