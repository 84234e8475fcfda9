{#-
Every symbol tickerlake has ever seen, listed or not, in every market: no survivorship bias.

listed_from/listed_to are the first and last snapshots of the symbol's market holding it (Nasdaq
Trader's directory for the US, each market's listing file beyond it); delisted_date is the first
snapshot of that market after listed_to that lacks it (null while listed). Symbols that appear only in
FINRA files (OTC names, or days before the first snapshot) are kept with source 'finra'.
Sector: SEC SIC code mapped to the Fama-French 12 industries; no SIC or an unmapped one is 'Other'
(SEC covers US filers; a listing beyond the US keeps its exchange's own sector in listing_sector).
-#}
with snapshots as (
    select
        snapshot_date,
        symbol,
        'XNYS' as market,
        'directory' as source,
        security_name,
        exchange,
        is_etf,
        null::varchar as isin,
        null::varchar as listing_sector
    from {{ ref('stg_symbols__directory') }}
    union all
    select
        listings.snapshot_date,
        listings.symbol,
        listings.market,
        'listing' as source,
        listings.name as security_name,
        markets.name as exchange,
        listings.is_etf,
        listings.isin,
        listings.sector as listing_sector
    from {{ ref('stg_listings__market_listings') }} as listings
    inner join {{ ref('markets') }} as markets on listings.market = markets.mic
),

snapshot_days as (
    select distinct market, snapshot_date from snapshots
),

spans as (
    select symbol, market, min(snapshot_date) as listed_from, max(snapshot_date) as listed_to
    from snapshots
    group by symbol, market
),

latest as (
    select symbol, source, security_name, exchange, is_etf, isin, listing_sector
    from snapshots
    qualify row_number() over (partition by symbol order by snapshot_date desc) = 1
),

delistings as (
    select spans.symbol, min(snapshot_days.snapshot_date) as delisted_date
    from spans
    inner join snapshot_days
        on spans.market = snapshot_days.market and spans.listed_to < snapshot_days.snapshot_date
    group by spans.symbol
),

listed as (
    select
        spans.symbol,
        latest.source,
        spans.market,
        latest.security_name,
        latest.exchange,
        latest.is_etf,
        latest.isin,
        latest.listing_sector,
        spans.listed_from,
        spans.listed_to,
        delistings.delisted_date
    from spans
    inner join latest on spans.symbol = latest.symbol
    left join delistings on spans.symbol = delistings.symbol
),

finra_only as (
    select
        symbol,
        'finra' as source,
        'XNYS' as market,
        null as security_name,
        null as exchange,
        null::boolean as is_etf,
        null::varchar as isin,
        null::varchar as listing_sector,
        null::date as listed_from,
        null::date as listed_to,
        null::date as delisted_date
    from {{ ref('int_finra__symbols') }}
    where symbol not in (select spans.symbol from spans)
),

universe as (
    select * from listed
    union all
    select * from finra_only
),

sectors as (
    select
        tickers.symbol,
        tickers.cik,
        tickers.company_name,
        sic.sic,
        sic.sic_description
    from {{ ref('stg_sectors__company_tickers') }} as tickers
    left join {{ ref('stg_sectors__sic') }} as sic on tickers.cik = sic.cik
),

ff12 as (
    select * from {{ ref('ff12_sic_ranges') }}
)

select
    universe.*,
    universe.delisted_date is null and universe.source <> 'finra' as is_listed,
    sectors.cik,
    sectors.company_name,
    sectors.sic,
    sectors.sic_description,
    coalesce(ff12.industry, 'Other') as ff12_industry,
    coalesce(ff12.industry_code, 12) as ff12_code
from universe
left join sectors on universe.symbol = sectors.symbol
left join ff12 on sectors.sic between ff12.sic_low and ff12.sic_high
