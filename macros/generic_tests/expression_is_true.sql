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


{#-
    The column rules of seeds/feature_catalog.csv in one scan: `not_null` lists the columns
    that must never be null, `min_values` maps columns to their smallest allowed value (nulls
    are left to not_null). Returns one row per broken rule with the number of rows breaking
    it. One test instead of one per column and rule: the two feature marts have about 60
    columns each, and 240 separate tests made every build run 240 queries (and parse 240
    test nodes) where one pass over each table does.
-#}
{% test columns_meet_catalog_rules(model, not_null=[], min_values={}) %}
    {%- set rules = [] -%}
    {%- for column in not_null -%}
        {%- do rules.append((column ~ ' is null', clv_quote(column, 'identifier') ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column, minimum in min_values.items() -%}
        {%- do rules.append((column ~ ' < ' ~ minimum, clv_quote(column, 'identifier') ~ ' < ' ~ minimum)) -%}
    {%- endfor %}
    with

    counted as (

        select
            {%- for name, condition in rules %}
            count(case when {{ condition }} then 1 end) as rule_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ model }}

    ),

    broken as (

        {%- for name, condition in rules %}
        select '{{ name }}' as broken_rule, rule_{{ loop.index }} as failing_rows from counted
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}

    )

    select * from broken where failing_rows > 0
{% endtest %}
