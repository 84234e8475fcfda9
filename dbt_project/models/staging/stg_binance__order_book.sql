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
    microprice,
    (microprice - mid) * 10000 / mid as microprice_bps,
    _loaded_at
from (
    select
        *,
        {#- Gatheral and Oomen's micro-price: each best price weighted by the other side's best quantity,
            so it leans towards the side about to be taken. -#}
        (best_bid * ask_quantities[1] + best_ask * bid_quantities[1])
        / nullif(bid_quantities[1] + ask_quantities[1], 0) as microprice
    from {{ source('raw', 'crypto_order_book') }}
)
