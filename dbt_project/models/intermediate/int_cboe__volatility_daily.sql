{#- One row per trading day with VIX: the closes of VIX and its term structure, and VIX / VIX3M (above 1:
    the curve is inverted, near-term fear above three-month). The feature mart joins it as of a bar's
    time on available_from, never on trade_date: the close is public only from 16:15 New York; an
    incremental mart rebuilds the bars after the earliest available_from of rows with a newer _loaded_at
    (a revision by Cboe, a history fetched late). -#}
with closes as (
    select
        trade_date,
        max(close) filter (where index_symbol = 'VIX') as vix_close,
        max(close) filter (where index_symbol = 'VIX9D') as vix9d_close,
        max(close) filter (where index_symbol = 'VIX3M') as vix3m_close,
        max(close) filter (where index_symbol = 'VVIX') as vvix_close,
        max(available_from) as available_from,
        max(_loaded_at) as _loaded_at
    from {{ ref('stg_cboe__index_history') }}
    group by trade_date
)

select
    trade_date,
    vix_close,
    vix9d_close,
    vix3m_close,
    vvix_close,
    vix_close / nullif(vix3m_close, 0) as vix_vix3m_ratio,
    available_from,
    _loaded_at
from closes
where vix_close is not null
