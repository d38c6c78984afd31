{#- A view over the audited lines: every build, full or incremental, shows exactly the
    lines the audit table holds, without copying them. -#}
{{ config(materialized='view') }}

with

audited_lines as (

    select * from {{ ref('int_transaction_lines_audited') }}

),

rejection_reasons as (

    select * from {{ ref('rejection_reasons') }}

),

final as (

    select
        -- lineage (the primary key: file and row)
        audited_lines.source_file,
        audited_lines.source_row_number,

        -- why
        audited_lines.rejection_reason,
        rejection_reasons.description as rejection_description,
        rejection_reasons.what_to_do,

        -- raw values as read
        audited_lines.customer_id_raw,
        audited_lines.order_id_raw,
        audited_lines.ordered_at_raw,
        audited_lines.product_id_raw,
        audited_lines.product_description,
        audited_lines.quantity_raw,
        audited_lines.unit_price_raw,
        audited_lines.amount_raw,
        audited_lines.store_id_raw,
        audited_lines.country_raw,

        -- amounts (null when they could not be parsed)
        audited_lines.line_revenue

    from audited_lines
    left join rejection_reasons
        on audited_lines.rejection_reason = rejection_reasons.rejection_reason
    where not audited_lines.is_kept

)

select * from final
