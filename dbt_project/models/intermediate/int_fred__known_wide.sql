/*
The FRED feature series as known at each release: one row per available_from, each series' newest
value published by then. An as-of join on available_from gives a bar every series as of its time in
one join. Several observations of a series released at once (the dollar index's week) give the
newest observation's value.
*/
with releases as (
    select
        {% for series_id in var('fred_feature_series') %}
        arg_max(value, observation_date) filter (where series_id = '{{ series_id }}') as {{ series_id | lower }},
        {% endfor %}
        available_from
    from {{ ref('int_fred__series_known') }}
    group by available_from
)

select
    {% for series_id in var('fred_feature_series') %}
    last_value({{ series_id | lower }} ignore nulls) over by_time as {{ series_id | lower }},
    {% endfor %}
    available_from
from releases
window by_time as (order by available_from rows between unbounded preceding and current row)
