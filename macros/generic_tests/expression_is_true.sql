{#-
    Generic tests this project writes itself (dbt packages cannot be installed offline).
    Each returns the rows that break the rule; zero rows pass.
-#}

{#- Rows where a boolean SQL expression is false (null counts as false). -#}
{% test expression_is_true(model, expression, where=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
    {%- if where %} and ({{ where }}){% endif %}
{% endtest %}

{#- Values outside [min_value, max_value]; nulls are left to not_null. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    select *
    from {{ model }}
    where {{ column_name }} is not null
      and (
        false
        {%- if min_value is not none %}
        or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
        {%- endif %}
      )
{% endtest %}

{#- Combinations of the given columns that appear more than once. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{#-
    Keys repeated among the lines the latest build of `model` classified (classified_at is
    its latest value): every line after a full build, the new batch after an incremental one,
    whose lines replace any earlier line with their key (delete+insert). Together with the
    same test on every earlier build this keeps the key unique over the whole table, without
    reading every line ever loaded on each refresh (35 s at 100M lines).
-#}
{% test unique_in_latest_classification(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    where classified_at = (select max(latest.classified_at) from {{ model }} as latest)
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

