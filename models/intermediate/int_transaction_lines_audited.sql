{#-
    Every raw line of the input, typed, with the one reason it is rejected (null = kept).
    The rules are checked in the order of seeds/rejection_reasons.csv (priority): a line that
    breaks several rules carries the first. transactions and transaction_rejections split
    this table, so raw rows = kept rows + rejected rows by construction, and
    tests/dbt/assert_raw_rows_reconcile.sql checks it against the staging view on every build.
-#}
{%- set as_of_date = clv_as_of_date() -%}

with

staged_lines as (

    select * from {{ ref('int_transaction_lines_unioned') }}

),

non_product_codes as (

    select upper(trim(product_code)) as product_code from {{ ref('non_product_codes') }}

),

checked as (

    select
        staged_lines.*,

        -- a number was given but is not one, or no revenue can be computed
        (
            ({{ clv_clean_text('staged_lines.quantity_raw') }} is not null and staged_lines.quantity is null)
            or ({{ clv_clean_text('staged_lines.unit_price_raw') }} is not null and staged_lines.unit_price is null)
            or ({{ clv_clean_text('staged_lines.amount_raw') }} is not null and staged_lines.amount is null)
            or staged_lines.line_revenue is null
        ) as has_unparseable_number,

        non_product_codes.product_code is not null as is_non_product_code,

        -- the second and later copies of a line whose raw values are all equal
        row_number() over (
            partition by
                staged_lines.customer_id_raw,
                staged_lines.order_id_raw,
                staged_lines.ordered_at_raw,
                staged_lines.product_id_raw,
                staged_lines.product_description,
                staged_lines.quantity_raw,
                staged_lines.unit_price_raw,
                staged_lines.amount_raw,
                staged_lines.store_id_raw,
                staged_lines.country_raw
            order by staged_lines.source_file, staged_lines.source_row_number
        ) > 1 as is_duplicate_line

    from staged_lines
    left join non_product_codes
        on upper(staged_lines.product_id) = non_product_codes.product_code

),

classified as (

    select
        *,
        case
            when is_malformed_line then 'malformed_line'
            when customer_id is null then 'missing_customer_id'
            when order_id is null then 'missing_order_id'
            when ordered_at is null then 'unparseable_date'
            when has_unparseable_number then 'unparseable_number'
            when order_date < cast('{{ var("earliest_valid_date") }}' as date)
                then 'date_before_earliest_valid'
            {% if as_of_date -%}
            when order_date >= cast('{{ as_of_date }}' as date) then 'date_after_as_of'
            {%- else -%}
            when order_date > current_date then 'date_after_as_of'
            {%- endif %}
            when is_non_product_code then 'non_product_code'
            when unit_price <= 0 then 'zero_or_negative_price'
            when unit_price is null and line_revenue = 0 then 'zero_or_negative_price'
            when quantity = 0 then 'zero_quantity'
            when quantity * amount < 0 then 'quantity_amount_sign_mismatch'
            when is_duplicate_line then 'duplicate_line'
        end as rejection_reason
    from checked

),

final as (

    select
        -- lineage
        source_file,
        source_row_number,

        -- raw values as read
        customer_id_raw,
        order_id_raw,
        ordered_at_raw,
        product_id_raw,
        product_description,
        quantity_raw,
        unit_price_raw,
        amount_raw,
        store_id_raw,
        country_raw,

        -- ids
        customer_id,
        order_id,
        product_id,
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
        is_cancellation,
        line_revenue < 0 as is_return,
        rejection_reason,
        rejection_reason is null as is_kept

    from classified

)

select * from final
