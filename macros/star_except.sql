{#-
    The columns of a relation except some, as a comma-separated select list prefixed by
    `relation_alias.` (like dbt_utils.star, which this project cannot install offline).
-#}
{% macro clv_star_except(relation, except=[], relation_alias=none) %}
    {%- if not execute -%}
        {{ return('*') }}
    {%- endif -%}
    {%- set excluded = except | map('lower') | list -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower not in excluded -%}
        {%- do names.append((relation_alias ~ '.' if relation_alias else '') ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ return(names | join(',\n        ')) }}
{% endmacro %}
