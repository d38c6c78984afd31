{{ config(enabled=clv_input_layout() == 'generic') }}
{%- set mapping = clv_generic_column_map() -%}
{%- set spec = {} -%}
{%- for canonical, column_name in mapping.items() -%}
    {%- do spec.update({canonical: ([column_name] if column_name else [])}) -%}
{%- endfor -%}
{%- set columns = clv_check_input_file(source('generic', 'transactions'), 'generic', spec) -%}

with

source as (

    select * from {{ source('generic', 'transactions') }}

),

numbered as (

    {{ clv_number_lines_per_file('source', 'filename') }}

),

renamed as (

    select
        -- lineage
        source_file,
        file_line_number as source_row_number,
        false as is_malformed_line,

        -- raw values as text, renamed to the canonical names
        {{ clv_raw_text_column(columns, 'customer_id') }} as customer_id_raw,
        {%- if columns.order_id is none %}
        -- no order column: each line is its own order, named by its row in the file
        'line-' || cast(file_line_number as varchar) as order_id_raw,
        {%- else %}
        {{ clv_raw_text_column(columns, 'order_id') }} as order_id_raw,
        {%- endif %}
        {{ clv_raw_text_column(columns, 'ordered_at') }} as ordered_at_raw,
        {{ clv_raw_text_column(columns, 'product_id') }} as product_id_raw,
        cast(null as varchar) as product_description,
        {{ clv_raw_text_column(columns, 'quantity') }} as quantity_raw,
        {{ clv_raw_text_column(columns, 'unit_price') }} as unit_price_raw,
        {{ clv_raw_text_column(columns, 'amount') }} as amount_raw,
        {{ clv_raw_text_column(columns, 'store_id') }} as store_id_raw,
        {{ clv_raw_text_column(columns, 'country') }} as country_raw,
        false as is_cancellation

    from numbered

),

parsed as (

    select
        *,
        {{ clv_parsed_columns() }}
    from renamed

)

select * from parsed
