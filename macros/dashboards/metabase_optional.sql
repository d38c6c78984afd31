{#-
    A Metabase optional clause, for the dashboard questions in analyses/dashboards/:
        metabase_optional('and country = ', 'country')  ->  [[and country = {{country}}]]
    Metabase keeps the clause, with the filter's value in place of {{country}}, when the
    dashboard filter is set, and drops it when the filter is empty.

    `clv dashboards` compiles the questions with the var metabase_native = true to get that
    syntax. Otherwise (dbt compile, sqlfluff) the clause renders as nothing, so the compiled
    SQL is plain DuckDB SQL that runs as is, with every filter empty.
-#}
{% macro metabase_optional(sql_before, tag, sql_after='') -%}
    {%- set clause = '[[' ~ sql_before ~ '{{' ~ tag ~ '}}' ~ sql_after ~ ']]' -%}
    {%- if var('metabase_native', false) -%}
        {{ clause }}
    {%- endif -%}
{%- endmacro %}

{#- The filters every Customer lists question takes: predicted level, country, minimum
    predicted revenue (analyses/dashboards/customer_lists/). -#}
{% macro customer_list_filters() -%}
    {{ metabase_optional('and predicted_level_name = ', 'level') }}
    {{ metabase_optional('and country = ', 'country') }}
    {{ metabase_optional('and predicted_revenue >= ', 'min_predicted_revenue') }}
{%- endmacro %}
