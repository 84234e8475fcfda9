select
    snapshot_date,
    position,
    market_cap_rank,
    coin_id,
    symbol,
    upper(symbol) as base_asset,
    name,
    price_usd,
    market_cap_usd,
    fully_diluted_valuation_usd,
    total_volume_usd,
    circulating_supply,
    total_supply,
    max_supply,
    price_change_percentage_24h,
    _loaded_at
from {{ source('raw', 'coingecko_markets') }}
