{#- One row per (market, snapshot_date, symbol), as raw.market_listings keys them; is_etf from each
    exchange's own instrument kind (Toronto's directory has none: null). -#}
select
    snapshot_date,
    market,
    symbol,
    listing_code,
    name,
    isin,
    currency,
    sector,
    instrument_type,
    case
        when instrument_type in ('ETFS', 'ETF', 'ETFs/ ETNs', 'Exchange Traded Products') then true
        when instrument_type is not null then false
    end as is_etf,
    source_url
from {{ source('raw', 'market_listings') }}
