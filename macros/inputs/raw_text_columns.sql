{#-
    The canonical raw columns of a header-based file (online retail, generic), as text.
    `columns` maps each canonical name to the file's column name, or none when the file has
    no such column (from clv_check_input_file, whose '_column_types' entry gives each file
    column's type). Without an order column each line is its own order, named by its row in
    the file.
-#}

{% macro clv_raw_text_column(columns, canonical) -%}
    {%- if columns.get(canonical) is none -%}
        cast(null as string)
    {%- elif 'WITH TIME ZONE' in (columns.get('_column_types') or {}).get(columns[canonical], '') | upper -%}
        {#- a Parquet timestamp with time zone: its local time in the var time_zone, never the machine's -#}
        cast({{ clv_timestamptz_at_zone(clv_quote(columns[canonical], 'identifier'), clv_time_zone()) }} as string)
    {%- else -%}
        cast({{ clv_quote(columns[canonical], 'identifier') }} as string)
    {%- endif -%}
{%- endmacro %}

{% macro clv_raw_text_columns(columns, row_number_column) -%}
        {{ clv_raw_text_column(columns, 'customer_id') }} as customer_id_raw,
        {% if columns.get('order_id') is none -%}
        'line-' || cast({{ row_number_column }} as string) as order_id_raw,
        {%- else -%}
        {{ clv_raw_text_column(columns, 'order_id') }} as order_id_raw,
        {%- endif %}
        {{ clv_raw_text_column(columns, 'ordered_at') }} as ordered_at_raw,
        {{ clv_raw_text_column(columns, 'product_id') }} as product_id_raw,
        {{ clv_raw_text_column(columns, 'product_description') }} as product_description,
        {{ clv_raw_text_column(columns, 'quantity') }} as quantity_raw,
        {{ clv_raw_text_column(columns, 'unit_price') }} as unit_price_raw,
        {{ clv_raw_text_column(columns, 'amount') }} as amount_raw,
        {{ clv_raw_text_column(columns, 'store_id') }} as store_id_raw,
        {{ clv_raw_text_column(columns, 'country') }} as country_raw
{%- endmacro %}
