{#-
Every symbol that has appeared in a FINRA short volume file (fct_short_volume_daily), once: what
dim_symbols needs to keep the names FINRA reports but no directory lists (OTC names, symbols of days
before the first snapshot), without reading the whole short volume history on every run.

Incremental: a run adds the symbols of the rows written since its last build (the time is looked up
first and put into the query as a literal, so only the new days' files are read). A symbol stays
once seen, as the days that carried it do; a full refresh rebuilds the set from all stored days.
-#}
{{ config(materialized='incremental', unique_key='symbol', incremental_strategy='delete+insert') }}
{%- set built = last_built() if is_incremental() else '-infinity' %}

select distinct
    symbol,
    now() as _built_at
from {{ ref('fct_short_volume_daily') }}
where _loaded_at > '{{ built }}'::timestamptz
