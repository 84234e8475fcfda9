{#- Rows that use a value published after their own time `at`: each of `columns` is the publication
    time of a value the row carries (null where it carries none). The feature marts' no-leakage rule. -#}
{% test published_by(model, at, columns) %}
select *
from {{ model }}
where
    {%- for column in columns %}
    {{ column }} > {{ at }}{{ " or" if not loop.last }}
    {%- endfor %}
{% endtest %}
