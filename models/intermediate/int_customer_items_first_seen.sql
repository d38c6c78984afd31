{#-
    One row per customer per distinct product, store and country they bought, with the first
    day they bought it. "Distinct products as of a cutoff" is then a count of rows whose
    first_seen_date is before the cutoff, without rescanning the lines.
    Incremental like int_orders_grouped_to_days: customers with newly classified lines are
    recomputed whole.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
) }}
{%- set item_columns = {'product': 'product_id', 'store': 'store_id', 'country': 'country'} %}
{#- kept purchase lines (on an incremental build, of customers with newly classified lines) -#}
{%- set conditions = ['is_kept', 'not is_return'] -%}
{%- if is_incremental() -%}
    {%- do conditions.append('customer_id in (' ~ clv_customers_classified_since(this) ~ ')') -%}
{%- endif %}

with
{% for item_type, column_name in item_columns.items() %}
{{ item_type }}_first_seen as (

    -- each reads the kept purchase lines itself: one shared CTE read three times would be
    -- materialized by DuckDB, a copy of every kept line
    select
        customer_id,
        '{{ item_type }}' as item_type,
        {{ column_name }} as item_id,
        min(order_date) as first_seen_date
    from {{ ref('int_transaction_lines_audited') }}
    where
        {{ conditions | join('\n        and ') }}
        and {{ column_name }} is not null
    group by customer_id, {{ column_name }}

),
{% endfor %}
final as (

    {% for item_type in item_columns -%}
    select
        *,
        ({{ clv_latest_classification() }}) as classified_through
    from {{ item_type }}_first_seen
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

)

select * from final
