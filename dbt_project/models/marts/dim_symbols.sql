{#-
Every symbol tickerlake has ever seen, listed or not: no survivorship bias.

listed_from/listed_to are the first and last directory snapshots holding the symbol; delisted_date
is the first snapshot after listed_to that lacks it (null while listed). Symbols that appear only in
FINRA files (OTC names, or days before the first snapshot) are kept with source 'finra'.
Sector: SEC SIC code mapped to the Fama-French 12 industries; no SIC or an unmapped one is 'Other'.
-#}
with snapshots as (
    select * from {{ ref('stg_symbols__directory') }}
),

snapshot_days as (
    select distinct snapshot_date from snapshots
),

spans as (
    select symbol, min(snapshot_date) as listed_from, max(snapshot_date) as listed_to
    from snapshots
    group by symbol
),

latest as (
    select symbol, security_name, exchange, is_etf
    from snapshots
    qualify row_number() over (partition by symbol order by snapshot_date desc) = 1
),

delistings as (
    select spans.symbol, min(snapshot_days.snapshot_date) as delisted_date
    from spans
    inner join snapshot_days on spans.listed_to < snapshot_days.snapshot_date
    group by spans.symbol
),

listed as (
    select
        spans.symbol,
        'directory' as source,
        latest.security_name,
        latest.exchange,
        latest.is_etf,
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
        null as security_name,
        null as exchange,
        null::boolean as is_etf,
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
    universe.delisted_date is null and universe.source = 'directory' as is_listed,
    sectors.cik,
    sectors.company_name,
    sectors.sic,
    sectors.sic_description,
    coalesce(ff12.industry, 'Other') as ff12_industry,
    coalesce(ff12.industry_code, 12) as ff12_code
from universe
left join sectors on universe.symbol = sectors.symbol
left join ff12 on sectors.sic between ff12.sic_low and ff12.sic_high
