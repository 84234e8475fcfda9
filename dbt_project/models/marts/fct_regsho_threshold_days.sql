{#-
One row per security and trading day on Nasdaq's Reg SHO threshold list, with its consecutive trading
days on the list as of that day (Rule 203(b)(3) counts them: 13 consecutive settlement days force a
close-out).

The days counted are the stored lists (stg_nasdaq__regsho_threshold_files), numbered in date order. A
run is the security's rows on consecutive stored lists; it ends on a stored list without the security
(an empty list included) or where the security is there without the threshold flag. A trading day
whose list is not stored is unknown and skipped: it neither ends a run nor counts in it (the lake
has no trading calendar to tell such a day from a holiday; the raw asset's partitions and its
freshness check show the days missing), so consecutive_days counts only days the lake can vouch for.
-#}
with lists as (
    select
        trade_date,
        row_number() over (order by trade_date) as list_number
    from {{ ref('stg_nasdaq__regsho_threshold_files') }}
),

listed as (
    select
        threshold.symbol,
        threshold.trade_date,
        threshold.security_name,
        threshold.market_category,
        threshold.rule_3210,
        lists.list_number
    from {{ ref('stg_nasdaq__regsho_threshold') }} as threshold
    inner join lists on threshold.trade_date = lists.trade_date
    where threshold.threshold_flag
),

runs as (
    select
        *,
        list_number - row_number() over (partition by symbol order by trade_date) as run_id
    from listed
)

select
    symbol,
    trade_date,
    security_name,
    market_category,
    rule_3210,
    row_number() over same_run as consecutive_days,
    min(trade_date) over same_run as run_start
from runs
window same_run as (partition by symbol, run_id order by trade_date)
