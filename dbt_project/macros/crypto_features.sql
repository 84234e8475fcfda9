{#-
One crypto feature mart: every closed bar of `interval` with its indicators and, as of the bar's
close, the macro and cross-asset features published by then (never later: an as-of join on the
time each value became public, whose *_available_from the mart keeps for its no-leakage test).

Incremental: a run rebuilds the bars the lake's new rows reach. A bar whose indicators changed (its
close, a bar that closed since) is rebuilt, and so is every bar that closes after a value newly
stored in a feature source became public (a release fetched late, a backfilled history): the
earliest such time is looked up first and goes into the query as a literal. Rows before it are
exactly what a full refresh would write.

The order-book aggregates are the snapshots taken inside the bar (int_binance__order_book_bars),
known at its close; a bar without snapshots has nulls there.
-#}
{% macro crypto_features(interval, step) %}
{%- set since = rebuild_since([
    "select min(open_time) as since from " ~ source('crypto', 'crypto_indicators')
    ~ " where interval = '" ~ interval ~ "'",
    "select min(bar_open) as since from " ~ ref('int_binance__order_book_bars') ~ " where bar = '" ~ interval ~ "'"
], step) -%}

with bars as (
    select
        indicators.pair,
        indicators.open_time,
        indicators.open_time + interval '{{ step }}' as bar_close_at,
        {{- indicator_columns('indicators') }}
    from {{ source('crypto', 'crypto_indicators') }} as indicators
    where
        indicators.interval = '{{ interval }}'
        and indicators.is_closed
        {%- if since is not none %}
        and indicators.open_time >= '{{ since }}'::timestamptz
        {%- endif %}
)

select
    bars.*,
    {{- derived_features('bars') }},
    {{- calendar_features("timezone('UTC', bars.open_time)") }},
    book.snapshots as book_snapshots,
    book.mean_spread_bps as book_mean_spread_bps,
    book.last_spread_bps as book_last_spread_bps,
    book.mean_imbalance_5 as book_mean_imbalance_5,
    book.mean_imbalance_10 as book_mean_imbalance_10,
    book.mean_imbalance_20 as book_mean_imbalance_20,
    book.mean_depth_bid_10bps as book_mean_depth_bid_10bps,
    book.mean_depth_ask_10bps as book_mean_depth_ask_10bps,
    book.mean_depth_bid_50bps as book_mean_depth_bid_50bps,
    book.mean_depth_ask_50bps as book_mean_depth_ask_50bps,
    book.min_reach_bps as book_min_reach_bps,
    book.mean_microprice_bps as book_mean_microprice_bps,
    book.last_microprice_bps as book_last_microprice_bps,
    book.imbalance_10_change as book_imbalance_10_change,
    book.bar_close as book_available_from,
    {{- as_of_columns() }},
    now() as _built_at
from bars
left join {{ ref('int_binance__order_book_bars') }} as book
    on bars.pair = book.pair and book.bar = '{{ interval }}' and bars.open_time = book.bar_open
{{ as_of_joins('bars', 'bar_close_at', 'crypto') }}
{% endmacro %}
