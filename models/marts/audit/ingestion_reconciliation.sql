{#-
    One row per build: raw rows and revenue = kept + rejected. The raw side is read from the
    input files themselves for the files loaded since the last successful build (every file
    on a full rebuild); files verified by an earlier build are not read again, and their raw
    side is the lines the audit table holds for them.
-#}
-- depends_on: {{ ref('int_transaction_lines_audited') }}
{% set layout = clv_input_layout() -%}
{%- set files_to_verify = clv_files_to_verify() -%}

with

staged_lines as (

    select
        source_file,
        line_revenue
    from {{ ref('int_transaction_lines_unioned') }}
    {%- if files_to_verify is not none %}
    where {{ clv_source_file_filter(files_to_verify) }}

    union all

    select
        source_file,
        line_revenue
    from {{ ref('int_transaction_lines_audited') }}
    where not {{ clv_source_file_filter(files_to_verify) }}
    {%- endif %}

),

transactions as (

    select * from {{ ref('transactions') }}

),

rejections as (

    select * from {{ ref('transaction_rejections') }}

),

raw_totals as (

    select
        count(*) as raw_rows,
        count(distinct source_file) as raw_files,
        coalesce(sum(line_revenue), 0) as raw_revenue
    from staged_lines

),

kept_totals as (

    select
        count(*) as kept_rows,
        coalesce(sum(line_revenue), 0) as kept_revenue,
        count(distinct customer_id) as kept_customers,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from transactions

),

rejected_totals as (

    select
        count(*) as rejected_rows,
        coalesce(sum(line_revenue), 0) as rejected_revenue
    from rejections

),

final as (

    select
        -- input
        '{{ layout }}' as input_layout,
        raw_totals.raw_files,

        -- counts
        raw_totals.raw_rows,
        kept_totals.kept_rows,
        rejected_totals.rejected_rows,
        kept_totals.kept_customers,

        -- money
        cast(raw_totals.raw_revenue as {{ clv_money_total_type() }}) as raw_revenue,
        cast(kept_totals.kept_revenue as {{ clv_money_total_type() }}) as kept_revenue,
        cast(rejected_totals.rejected_revenue as {{ clv_money_total_type() }}) as rejected_revenue,

        -- dates
        kept_totals.first_order_date,
        kept_totals.last_order_date,

        -- flags
        raw_totals.raw_rows = kept_totals.kept_rows + rejected_totals.rejected_rows
        and raw_totals.raw_revenue = kept_totals.kept_revenue + rejected_totals.rejected_revenue
            as is_reconciled

    from raw_totals
    cross join kept_totals
    cross join rejected_totals

)

select * from final
