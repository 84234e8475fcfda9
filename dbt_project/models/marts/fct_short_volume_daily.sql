{#-
One row per symbol and trading day.

NMS volume: CNMS (FINRA's consolidation of all TRFs and the ADF) where CNMS has the symbol that day,
otherwise the sum of the TRF/ADF facility files (FNSQ, FNQC, FNYX, FNRA), e.g. before CNMS began on
2018-08-01. Never CNMS plus its facilities: CNMS already contains them, so that would count twice.
OTC volume from the ORF (FORF) is a different market and is kept in its own columns.

Incremental: a run rebuilds exactly the trading days written to the lake since the last build (a
daily run, FINRA's reposts, a backfill of old days), replacing those days whole. The days are looked
up first, with the last build's newest _loaded_at as a literal: DuckLake keeps each data file's
min/max _loaded_at in its catalog and skips every file older than that, so the lookup reads the new
days' files only. They go into the query as date literals: the scan is pruned by a literal list, but
not by an IN-subquery that turns out empty (a no-op run then scanned all history).
-#}
{{ config(materialized='incremental', unique_key='trade_date', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{% set changed = [] %}
{% if is_incremental() and execute %}
{% set built = run_query(
    "select coalesce(max(_loaded_at), '-infinity'::timestamptz)::varchar from " ~ this
).columns[0].values()[0] %}
{% set changed = run_query(
    "select distinct strftime(trade_date, '%Y-%m-%d') from " ~ source('raw', 'finra_short_volume')
    ~ " where _loaded_at > '" ~ built ~ "'::timestamptz"
).columns[0].values() %}
{% endif %}

with facilities as (
    select * from {{ ref('stg_finra__short_volume') }}
    {% if is_incremental() %}
    where {% if changed %}trade_date in ({% for day in changed %}date '{{ day }}'{{ ", " if not loop.last }}{% endfor %}){% else %}false{% endif %}
    {% endif %}
),

loaded as (
    select trade_date, max(_loaded_at) as _loaded_at from facilities group by trade_date
),

consolidated as (
    select trade_date, symbol, short_volume, short_exempt_volume, total_volume
    from facilities
    where facility = 'CNMS'
),

facility_sums as (
    select
        trade_date,
        symbol,
        sum(short_volume) as short_volume,
        sum(short_exempt_volume) as short_exempt_volume,
        sum(total_volume) as total_volume,
        string_agg(facility, ',' order by facility) as facilities
    from facilities
    where facility in ('FNSQ', 'FNQC', 'FNYX', 'FNRA')
    group by trade_date, symbol
),

nms as (
    select
        coalesce(c.trade_date, f.trade_date) as trade_date,
        coalesce(c.symbol, f.symbol) as symbol,
        case when c.symbol is not null then 'CNMS' else f.facilities end as nms_source,
        coalesce(c.short_volume, f.short_volume) as short_volume,
        case when c.symbol is not null then c.short_exempt_volume else f.short_exempt_volume end
            as short_exempt_volume,
        coalesce(c.total_volume, f.total_volume) as total_volume
    from consolidated as c
    full outer join facility_sums as f
        on c.trade_date = f.trade_date and c.symbol = f.symbol
),

otc as (
    select
        trade_date,
        symbol,
        short_volume as otc_short_volume,
        total_volume as otc_total_volume
    from facilities
    where facility = 'FORF'
)

select
    coalesce(nms.trade_date, otc.trade_date) as trade_date,
    coalesce(nms.symbol, otc.symbol) as symbol,
    nms.nms_source,
    nms.short_volume,
    nms.short_exempt_volume,
    nms.total_volume,
    nms.short_volume / nullif(nms.total_volume, 0) as short_ratio,
    otc.otc_short_volume,
    otc.otc_total_volume,
    otc.otc_short_volume / nullif(otc.otc_total_volume, 0) as otc_short_ratio,
    loaded._loaded_at,
    now() as _built_at
from nms
full outer join otc
    on nms.trade_date = otc.trade_date and nms.symbol = otc.symbol
inner join loaded
    on loaded.trade_date = coalesce(nms.trade_date, otc.trade_date)
