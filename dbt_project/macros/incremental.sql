{#-
What an incremental model's run needs to know about its own last build, looked up before the model's
query is compiled and put into it as a literal: a filter on a literal lets DuckDB skip every data
file and row group whose statistics lie outside it (the history), where a subquery is only known once
every row has been read.
-#}

{#- The newest _built_at of the incremental model being built, as a timestamptz literal: '-infinity' when
    its table has no _built_at yet (a table built before the model stamped its rows, so every stored
    value counts as new: that run rewrites it all, as a full refresh would). Call it only when
    is_incremental() (the model asks, so that a unit test's override of is_incremental applies):
    `{% set built = last_built() if is_incremental() %}`. -#}
{% macro last_built() %}
{%- if not execute -%}
{{ return('-infinity') }}
{%- endif -%}
{%- if '_built_at' not in adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
{{ return('-infinity') }}
{%- endif -%}
{{ return(run_query(
    "select coalesce(max(_built_at), '-infinity'::timestamptz)::varchar from " ~ this
).columns[0].values()[0]) }}
{% endmacro %}

{#- The first value of a query run while the model compiles (none while dbt parses): how an incremental
    model turns what it must read into literals. -#}
{% macro scalar(sql) %}
{%- if not execute -%}
{{ return(none) }}
{%- endif -%}
{{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#- The rows of a one-column query run while the model compiles, as a SQL list of string literals for
    `in (...)` (`''` when there are none, which matches nothing), so a filter on them is a literal one. -#}
{% macro literal_list(sql) %}
{%- if not execute -%}
{{ return("''") }}
{%- endif -%}
{%- set values = run_query(sql).columns[0].values() -%}
{%- if not values -%}
{{ return("''") }}
{%- endif -%}
{%- set quoted = [] -%}
{%- for value in values -%}
{%- do quoted.append("'" ~ (value | replace("'", "''")) ~ "'") -%}
{%- endfor -%}
{{ return(quoted | join(', ')) }}
{% endmacro %}
