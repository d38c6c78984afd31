{{ config(enabled=clv_input_layout() == 'online_retail') }}
{%- set columns = clv_check_input_file(
    source('online_retail', 'invoice_lines'),
    'online_retail',
    {
        'customer_id': ['CustomerID'],
        'order_id': ['InvoiceNo', 'Invoice'],
        'ordered_at': ['InvoiceDate'],
        'product_id': ['StockCode'],
        'product_description': ['Description'],
        'quantity': ['Quantity'],
        'unit_price': ['UnitPrice', 'Price'],
        'country': ['Country'],
    },
    optional=['product_description', 'country'],
) -%}

with

source as (

    select * from {{ source('online_retail', 'invoice_lines') }}

),

numbered as (

    {{ clv_number_lines_per_file('source', 'filename') }}

),

renamed as (

    select
        -- lineage
        source_file,
        file_line_number as source_row_number,
        -- a line with fewer (or more) fields than the header
        {{ clv_line_field_check(source('online_retail', 'invoice_lines')) }} as is_malformed_line,

        -- raw values as text, renamed to the canonical names
        {{ clv_raw_text_columns(columns, 'file_line_number') }},

        -- flags: invoice numbers starting with C cancel earlier lines
        coalesce(upper(trim({{ clv_raw_text_column(columns, 'order_id') }})) like 'C%', false)
            as is_cancellation

    from numbered

),

parsed as (

    select
        *,
        {{ clv_parsed_columns() }}
    from renamed

)

select * from parsed
