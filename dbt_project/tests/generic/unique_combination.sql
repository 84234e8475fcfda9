{#-
Rows whose combination of `columns` is not unique; dbt-utils is not installable offline.

With `newest_batch` (a column every run stamps with its own time, `_built_at`), only the rows the
newest run wrote are checked. For a delete+insert incremental keyed on these columns (or coarser)
that is enough: the run deleted every stored row sharing a key with its batch, so a duplicate can
only be inside the batch, and the rows before it were checked when they were written. A full refresh
stamps all rows alike, so it checks the whole table. At full history this turns four ~8 s scans of
50-70 M rows into lookups of one day's rows.
-#}
{% test unique_combination(model, columns, newest_batch=none) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
{% if newest_batch %}
where {{ newest_batch }} = (select max({{ newest_batch }}) from {{ model }})
{% endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
