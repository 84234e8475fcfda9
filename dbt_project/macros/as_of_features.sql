{#-
The features every instrument's bars join as of their time, from one place: the FRED series
(int_fred__known_wide), the Cboe volatility indexes (int_cboe__volatility_daily) and the COT
positioning of the market that stands for the instrument's class (fct_cot_positioning, seed
cftc_cot_contracts). Each join is on the value's publication time, never on the date it is about,
and each source's publication time stays in the row (*_available_from) for the no-leakage test.
-#}

{#- The relations whose rows carry available_from and _loaded_at: what an incremental mart asks for
    "the earliest publication newly stored". -#}
{% macro as_of_published() %}
{{ return([ref('int_fred__series_known'), ref('int_cboe__volatility_daily'), ref('fct_cot_positioning')]) }}
{% endmacro %}

{#- SQL selecting, as `since`, the earliest time a bar must close at to be reached by a value stored
    after `built` (less `lag`, the bar's length, when bars are keyed by their opening). -#}
{% macro as_of_since_queries(built, lag) %}
{%- set queries = [] -%}
{%- for published in as_of_published() -%}
{%- do queries.append(
    "select min(available_from) - interval '" ~ lag ~ "' as since from " ~ published
    ~ " where _loaded_at > '" ~ built ~ "'::timestamptz"
) -%}
{%- endfor -%}
{{ return(queries) }}
{% endmacro %}

{#- For an incremental feature mart: the earliest time a bar must be keyed at to need a rebuild, as a
    literal, or none on a full build. `changed_bars` are queries selecting `since` from the mart's own
    bar sources, each ending in a WHERE clause; only their rows stored since the mart's last build count,
    and so for the as-of sources, less `lag` (the bar's length, when bars are keyed by their opening). -#}
{% macro rebuild_since(changed_bars, lag) %}
{%- if not (is_incremental() and execute) -%}
{{ return(none) }}
{%- endif -%}
{%- set built = last_built() -%}
{%- set lookups = [] -%}
{%- for query in changed_bars -%}
{%- do lookups.append(query ~ " and _loaded_at > '" ~ built ~ "'::timestamptz") -%}
{%- endfor -%}
{%- do lookups.extend(as_of_since_queries(built, lag)) -%}
{{ return(run_query(
    "select coalesce(min(since), 'infinity'::timestamptz)::varchar from (" ~ lookups | join(" union all ") ~ ")"
).columns[0].values()[0]) }}
{% endmacro %}

{% macro as_of_columns() %}
    {%- for series_id in var('fred_feature_series') %}
    fred.{{ series_id | lower }},
    {%- endfor %}
    fred.available_from as fred_available_from,
    cboe.vix_close,
    cboe.vix9d_close,
    cboe.vix3m_close,
    cboe.vvix_close,
    cboe.vix_vix3m_ratio,
    cboe.available_from as cboe_available_from,
    cot.cftc_contract_market_code as cot_market_code,
    cot.report_date as cot_report_date,
    cot.dealer_net_share as cot_dealer_net_share,
    cot.asset_manager_net_share as cot_asset_manager_net_share,
    cot.asset_manager_net_share_change as cot_asset_manager_net_share_change,
    cot.leveraged_funds_net_share as cot_leveraged_funds_net_share,
    cot.leveraged_funds_net_share_change as cot_leveraged_funds_net_share_change,
    cot.noncommercial_net_share as cot_noncommercial_net_share,
    cot.noncommercial_net_share_change as cot_noncommercial_net_share_change,
    cot.available_from as cot_available_from
{%- endmacro %}

{% macro as_of_joins(bars, at, instrument_class) %}
asof left join {{ ref('int_fred__known_wide') }} as fred
    on {{ bars }}.{{ at }} >= fred.available_from
asof left join {{ ref('int_cboe__volatility_daily') }} as cboe
    on {{ bars }}.{{ at }} >= cboe.available_from
asof left join (
    select * from {{ ref('fct_cot_positioning') }}
    where instrument_class = '{{ instrument_class }}'
) as cot
    on {{ bars }}.{{ at }} >= cot.available_from
{%- endmacro %}
