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
    {% if is_incremental() and changed %}
    where trade_date in (
        {%- for day in changed %}
        date '{{ day }}'{{ "," if not loop.last }}
        {%- endfor %}
    )
    {% elif is_incremental() %}
    where false
    {% endif %}
),

-- One pass over the rows: per symbol and day, CNMS's figures, the sums over the TRF/ADF files and
-- the ORF's figures side by side (full outer joins of the three took twice as long).
per_symbol as (
    select
        trade_date,
        symbol,
        bool_or(facility = 'CNMS') as has_cnms,
        any_value(short_volume) filter (where facility = 'CNMS') as cnms_short_volume,
        any_value(short_exempt_volume) filter (where facility = 'CNMS') as cnms_short_exempt_volume,
        any_value(total_volume) filter (where facility = 'CNMS') as cnms_total_volume,
        sum(short_volume) filter (where facility in ('FNSQ', 'FNQC', 'FNYX', 'FNRA')) as trf_short_volume,
        sum(short_exempt_volume) filter (where facility in ('FNSQ', 'FNQC', 'FNYX', 'FNRA'))
            as trf_short_exempt_volume,
        sum(total_volume) filter (where facility in ('FNSQ', 'FNQC', 'FNYX', 'FNRA')) as trf_total_volume,
        -- the facility files present, in name order; an ordered string_agg per group doubles the cost
        nullif(concat_ws(
            ','
            {%- for facility in ['FNQC', 'FNRA', 'FNSQ', 'FNYX'] %},
            if(bool_or(facility = '{{ facility }}'), '{{ facility }}', null)
            {%- endfor %}
        ), '') as trf_facilities,
        any_value(short_volume) filter (where facility = 'FORF') as otc_short_volume,
        any_value(total_volume) filter (where facility = 'FORF') as otc_total_volume,
        max(_loaded_at) as _loaded_at
    from facilities
    group by trade_date, symbol
),

nms as (
    select
        *,
        case when has_cnms then 'CNMS' else trf_facilities end as nms_source,
        case when has_cnms then cnms_short_volume else trf_short_volume end as short_volume,
        case when has_cnms then cnms_short_exempt_volume else trf_short_exempt_volume end as short_exempt_volume,
        case when has_cnms then cnms_total_volume else trf_total_volume end as total_volume
    from per_symbol
)

select
    trade_date,
    symbol,
    nms_source,
    short_volume,
    short_exempt_volume,
    total_volume,
    short_volume / nullif(total_volume, 0) as short_ratio,
    otc_short_volume,
    otc_total_volume,
    otc_short_volume / nullif(otc_total_volume, 0) as otc_short_ratio,
    max(_loaded_at) over (partition by trade_date) as _loaded_at,
    now() as _built_at
from nms
