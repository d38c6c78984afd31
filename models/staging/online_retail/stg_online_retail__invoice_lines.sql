{{ config(enabled=clv_input_layout() == 'online_retail') }}
{%- set columns = clv_check_input_file(
    source('online_retail', 'invoice_lines'),
    'online_retail',
    {
        'invoice_no': ['InvoiceNo', 'Invoice'],
        'stock_code': ['StockCode'],
        'description': ['Description'],
        'quantity': ['Quantity'],
        'invoice_date': ['InvoiceDate'],
        'unit_price': ['UnitPrice', 'Price'],
        'customer_id': ['CustomerID'],
        'country': ['Country'],
    }
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
        false as is_malformed_line,

        -- raw values as text, renamed to the canonical names
        cast({{ adapter.quote(columns.customer_id) }} as varchar) as customer_id_raw,
        cast({{ adapter.quote(columns.invoice_no) }} as varchar) as order_id_raw,
        cast({{ adapter.quote(columns.invoice_date) }} as varchar) as ordered_at_raw,
        cast({{ adapter.quote(columns.stock_code) }} as varchar) as product_id_raw,
        cast({{ adapter.quote(columns.description) }} as varchar) as product_description,
        cast({{ adapter.quote(columns.quantity) }} as varchar) as quantity_raw,
        cast({{ adapter.quote(columns.unit_price) }} as varchar) as unit_price_raw,
        cast(null as varchar) as amount_raw,
        cast(null as varchar) as store_id_raw,
        cast({{ adapter.quote(columns.country) }} as varchar) as country_raw,

        -- flags: invoice numbers starting with C cancel earlier lines
        coalesce(upper(trim(cast({{ adapter.quote(columns.invoice_no) }} as varchar))) like 'C%', false)
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
