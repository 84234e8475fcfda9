{#-
persist_docs (dbt_project.yml) on the lake's DuckLake catalog: the models' and columns' descriptions
become DuckDB comments (duckdb_tables(), duckdb_views(), duckdb_columns().comment).

Overrides dbt's default for two reasons:
- DuckLake keeps comments on tables and their columns and on views, but has no columns for a view
  (`COMMENT ON COLUMN <view>.<column>` fails: "Cannot comment on columns for entry ... - it is not a
  table"), so a view's column descriptions are folded into the view's own comment, one line per
  column ("- <column>: <description>").
- A comment that is already stored as it should be is not written again. An incremental model keeps
  its relation between runs, and every COMMENT ON would otherwise add catalog rows on each daily run.
-#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set persist_relation = for_relation and config.persist_relation_docs() -%}
    {%- set persist_columns = for_columns and config.persist_column_docs() and model.columns -%}
    {%- if not (persist_relation or persist_columns) -%}
        {{ return(none) }}
    {%- endif -%}

    {%- set stored = tickerlake_stored_comments(relation) -%}
    {%- set fold_columns = persist_columns and relation.is_view and adapter.is_ducklake(relation) -%}
    {%- set statements = [] -%}

    {%- set relation_comment = (model.description or '') | trim -%}
    {%- if fold_columns -%}
        {%- set lines = [] -%}
        {%- for column in stored.columns if column in model.columns -%}
            {%- do lines.append('- ' ~ column ~ ': ' ~ (model.columns[column].description or '') | trim) -%}
        {%- endfor -%}
        {%- if lines -%}
            {%- set relation_comment = (relation_comment ~ '\n\nColumns:\n' ~ lines | join('\n')) | trim -%}
        {%- endif -%}
    {%- endif -%}
    {%- if (persist_relation or fold_columns) and relation_comment and relation_comment != stored.relation -%}
        {%- do statements.append(alter_relation_comment(relation, relation_comment)) -%}
    {%- endif -%}

    {%- if persist_columns and not fold_columns -%}
        {%- for name, column in model.columns.items() -%}
            {%- set description = (column.description or '') | trim -%}
            {%- if name not in stored.columns -%}
                {%- do exceptions.warn('persist_docs: ' ~ relation ~ ' has no column ' ~ name ~ ' to comment on') -%}
            {%- elif description and description != stored.columns[name] -%}
                {%- do statements.append(
                    'comment on column ' ~ relation ~ '.' ~ adapter.quote(name) ~ ' is '
                    ~ duckdb_escape_comment(description) ~ ';'
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if statements -%}
        {%- do run_query(statements | join('\n')) -%}
    {%- endif -%}
{%- endmacro %}


{#- The relation's stored comment and its columns' ({column: comment}, in column order). -#}
{% macro tickerlake_stored_comments(relation) -%}
    {%- set where -%}
        database_name = '{{ relation.database }}' and schema_name = '{{ relation.schema }}'
    {%- endset -%}
    {%- set query -%}
        select 0 as kind, 0 as position, null as name, comment from duckdb_tables()
        where {{ where }} and table_name = '{{ relation.identifier }}'
        union all
        select 0, 0, null, comment from duckdb_views()
        where {{ where }} and view_name = '{{ relation.identifier }}'
        union all
        select 1, column_index, column_name, comment from duckdb_columns()
        where {{ where }} and table_name = '{{ relation.identifier }}'
        order by kind, position
    {%- endset -%}
    {%- set stored = {'relation': none, 'columns': {}} -%}
    {%- for row in run_query(query) -%}
        {%- if row[0] == 0 -%}
            {%- do stored.update({'relation': row[3]}) -%}
        {%- else -%}
            {%- do stored.columns.update({row[2]: row[3] or ''}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(stored) }}
{%- endmacro %}
