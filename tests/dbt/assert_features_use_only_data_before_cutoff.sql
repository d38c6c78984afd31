{#-
    Leakage test: no feature may use data on or after its cutoff.

    For every cutoff C of the grid, the features computed from the whole history (the model)
    must equal the features computed by the same macro from history cut just before C. If a
    feature read a day on or after C, the two disagree for some customer. Returns one row per
    customer and cutoff that differs, naming the columns; zero rows pass.
    tests/integration/test_leakage.py shows this test fails when a feature does leak.
    A score job (`clv score`) computes the scoring cutoff's features only, and keeps the
    release's training features as they were when it was trained: only the scoring cutoff is
    checked then.
-#}
{{ config(severity='error') }}
-- depends_on: {{ ref('cutoffs') }}
-- depends_on: {{ ref('int_orders_grouped_to_days') }}
-- depends_on: {{ ref('int_customer_items_first_seen') }}

{%- set features_relation = ref('int_customer_features_at_cutoffs') -%}
{%- set cutoff_dates = [] -%}
{%- set compared_columns = [] -%}
{#- The cutoffs mart exists whenever this test runs in a build; linters compile it earlier. -#}
{%- if execute and load_relation(ref('cutoffs')) is not none -%}
    {%- set checked_roles = "where cutoff_role = 'scoring'" if clv_job() == 'score' else '' -%}
    {%- set cutoff_dates = run_query('select distinct cast(cutoff_date as string) from ' ~ ref('cutoffs')
        ~ ' ' ~ checked_roles ~ ' order by 1').columns[0].values() -%}
    {%- for column in adapter.get_columns_in_relation(features_relation)
        if column.name | lower not in ('customer_id', 'cutoff_date') -%}
        {%- do compared_columns.append(column) -%}
    {%- endfor -%}
{%- endif %}

with

features_from_full_history as (

    select * from {{ features_relation }}
    {%- if cutoff_dates %}
    where cast(cutoff_date as string) in ({% for cutoff in cutoff_dates %}{{ clv_quote(cutoff) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif %}

),

{% for cutoff in cutoff_dates %}
features_from_history_before_{{ loop.index }} as (

    {{ customer_features_as_of(
        customer_days='(select * from ' ~ ref('int_orders_grouped_to_days')
            ~ " where order_date < cast(" ~ clv_quote(cutoff) ~ " as date)) as customer_days_before_cutoff",
        items='(select * from ' ~ ref('int_customer_items_first_seen')
            ~ " where first_seen_date < cast(" ~ clv_quote(cutoff) ~ " as date)) as items_before_cutoff",
        cutoffs="(select cast(" ~ clv_quote(cutoff) ~ " as date) as cutoff_date) as one_cutoff",
    ) | indent(4) }}

),
{% endfor %}

features_from_cut_history as (

    {% for cutoff in cutoff_dates %}
    select * from features_from_history_before_{{ loop.index }}
    {% if not loop.last %}union all{% endif %}
    {% else %}
    select * from features_from_full_history
    where false
    {% endfor %}

),

compared as (

    select
        coalesce(full_history.customer_id, cut_history.customer_id) as customer_id,
        coalesce(full_history.cutoff_date, cut_history.cutoff_date) as cutoff_date,
        case
            when full_history.customer_id is null then 'customer only in features from cut history'
            when cut_history.customer_id is null then 'customer only in features from full history'
            -- the names of the columns that differ (concat_ws skips the nulls); one case
            -- per column, generated, so the indentation rule cannot see the final layout
            -- noqa: disable=LT02
            else concat_ws(
                ', ',
                {% for column in compared_columns %}
                {% set name = clv_quote(column.name, 'identifier') %}
                case
                    when not coalesce(
                        full_history.{{ name }} = cut_history.{{ name }}
                        {% if column.is_number() %}
                        or abs(full_history.{{ name }} - cut_history.{{ name }})
                        <= 1e-9 * greatest(1, abs(cut_history.{{ name }}))
                        {% endif %},
                        full_history.{{ name }} is null and cut_history.{{ name }} is null
                    ) then '{{ column.name }}'
                end,
                {% endfor %}
                null
            )
        -- noqa: enable=LT02
        end as differing_columns
    from features_from_full_history as full_history
    full outer join features_from_cut_history as cut_history
        on full_history.customer_id = cut_history.customer_id
        and full_history.cutoff_date = cut_history.cutoff_date

)

select * from compared
where differing_columns <> ''
