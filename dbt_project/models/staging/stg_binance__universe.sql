select
    snapshot_date,
    rank,
    pair,
    quote_asset,
    left(pair, length(pair) - length(quote_asset)) as base_asset,
    _loaded_at
from {{ source('raw', 'crypto_universe') }}
