{#-
Per pair and bar of 1m, 1h and 1d (UTC, left-labelled like the klines' bars), the order-book snapshots
taken inside the bar, bar_open <= snapshot_time < bar_close, aggregated: a bar's figures use nothing
taken after its close, so they are known at bar_close (last_received_at says when the last of them
arrived). A bar without a snapshot has no row. _loaded_at is the newest of its snapshots' writes: an
incremental model downstream finds the bars new snapshots reach.
-#}
with snapshots as (
    select * from {{ ref('stg_binance__order_book') }}
),

bars as (
    select
        '1m' as bar,
        date_trunc('minute', snapshot_time) as bar_open,
        date_trunc('minute', snapshot_time) + interval 1 minute as bar_close,
        *
    from snapshots
    union all
    select
        '1h' as bar,
        date_trunc('hour', snapshot_time) as bar_open,
        date_trunc('hour', snapshot_time) + interval 1 hour as bar_close,
        *
    from snapshots
    union all
    select
        '1d' as bar,
        date_trunc('day', snapshot_time) as bar_open,
        date_trunc('day', snapshot_time) + interval 1 day as bar_close,
        *
    from snapshots
)

select
    pair,
    bar,
    bar_open,
    bar_close,
    count(*)::integer as snapshots,
    avg(spread_bps) as mean_spread_bps,
    arg_max(spread_bps, snapshot_time) as last_spread_bps,
    avg(imbalance_5) as mean_imbalance_5,
    avg(imbalance_10) as mean_imbalance_10,
    avg(imbalance_20) as mean_imbalance_20,
    avg(depth_bid_10bps) as mean_depth_bid_10bps,
    avg(depth_ask_10bps) as mean_depth_ask_10bps,
    avg(depth_bid_50bps) as mean_depth_bid_50bps,
    avg(depth_ask_50bps) as mean_depth_ask_50bps,
    min(least(bid_reach_bps, ask_reach_bps)) as min_reach_bps,
    avg(microprice_bps) as mean_microprice_bps,
    arg_max(microprice_bps, snapshot_time) as last_microprice_bps,
    arg_max(imbalance_10, snapshot_time) - arg_min(imbalance_10, snapshot_time) as imbalance_10_change,
    max(snapshot_time) as last_snapshot_time,
    max(received_at) as last_received_at,
    max(_loaded_at) as _loaded_at
from bars
group by pair, bar, bar_open, bar_close
