{#-
The per-snapshot features of the order books; the levels themselves stay in raw.crypto_order_book
(list columns), read there when a model needs more than these figures.
-#}
select
    pair,
    snapshot_time,
    received_at,
    last_update_id,
    best_bid,
    best_ask,
    mid,
    spread,
    spread_bps,
    imbalance_5,
    imbalance_10,
    imbalance_20,
    depth_bid_10bps,
    depth_ask_10bps,
    depth_bid_50bps,
    depth_ask_50bps,
    bid_reach_bps,
    ask_reach_bps,
    _loaded_at
from {{ source('raw', 'crypto_order_book') }}
