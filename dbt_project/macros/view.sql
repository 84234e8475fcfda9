{#-
Views on the lake's catalog are replaced only when their definition changed.

dbt's view materialization writes a view on every run (create under a temporary name, rename the old
one away, rename, drop: two catalog commits and the catalog's comments read back, about 0.3 s a view
on DuckLake). A view reads its sources when it is queried, so replacing it with the same definition
changes nothing for its readers; the daily run rebuilds the views its raw data feed (the automation
asks for them, as for every model downstream of new data), so here an unchanged view is left as it
is. Unchanged means DuckDB's own rendering of the stored view's query equals its rendering of the
new one (a temporary view, outside the catalog, renders it: no commit). A full refresh, or a view
that is not there yet, goes through dbt's own materialization.
-#}
{% materialization view, adapter='duckdb' %}
    {%- set existing = load_cached_relation(this) -%}
    {%- set stored = tickerlake_view_query(this) if existing is not none and existing.is_view else none -%}
    {%- if stored is not none and not should_full_refresh() and stored == tickerlake_view_query(none, sql) -%}
        {%- call statement('main') -%}
            select 'unchanged' as view_definition
        {%- endcall -%}
        {%- set view = this.incorporate(type='view') -%}
        {%- do persist_docs(view, model) -%}
        {{ return({'relations': [view]}) }}
    {%- endif -%}
    {{ return(dbt.materialization_view_default()) }}
{% endmaterialization %}


{#- The query of a stored view (`relation`), or of `sql` when no relation is given, as DuckDB renders it
    after `AS` in duckdb_views().sql. -#}
{% macro tickerlake_view_query(relation, sql=none) %}
    {%- if relation is none -%}
        {%- do run_query('create or replace temporary view tickerlake_view_definition as (' ~ sql ~ ')') -%}
        {%- set where = "temporary and view_name = 'tickerlake_view_definition'" -%}
    {%- else -%}
        {%- set where -%}
            database_name = '{{ relation.database }}' and schema_name = '{{ relation.schema }}'
            and view_name = '{{ relation.identifier }}'
        {%- endset -%}
    {%- endif -%}
    {%- set rows = run_query("select sql from duckdb_views() where " ~ where) -%}
    {%- if relation is none -%}
        {%- do run_query('drop view if exists tickerlake_view_definition') -%}
    {%- endif -%}
    {%- if rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rendered = rows[0][0] -%}
    {{ return(rendered[rendered.index(' AS ') + 4:]) }}
{% endmacro %}
