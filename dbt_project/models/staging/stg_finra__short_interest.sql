{#- Typed, one row per (settlement_date, symbol): the lake replaces a settlement date whole, so this
    only names the columns and adds what FINRA's file implies. -#}
select
    settlement_date,
    symbol,
    issue_name,
    market_class,
    current_short_position,
    previous_short_position,
    current_short_position - previous_short_position as short_position_change,
    average_daily_volume,
    days_to_cover,
    split_flag is not null as split_adjusted,
    revision_flag is not null as revised,
    _loaded_at
from {{ source('raw', 'finra_short_interest') }}
