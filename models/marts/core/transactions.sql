{#- A view over the audited lines: every build, full or incremental, shows exactly the
    lines the audit table holds, without copying them. -#}
{{ config(materialized='view') }}

with

audited_lines as (

    select * from {{ ref('int_transaction_lines_audited') }}

),

final as (

    select
        -- lineage (the primary key: file and row)
        source_file,
        source_row_number,

        -- ids
        customer_id,
        order_id,
        product_id,
        product_description,
        store_id,
        country,

        -- dates
        ordered_at,
        order_date,

        -- amounts
        quantity,
        unit_price,
        line_revenue,

        -- flags
        is_return,
        is_cancellation

    from audited_lines
    where is_kept

)

select * from final
