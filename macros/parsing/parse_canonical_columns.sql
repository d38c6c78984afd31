{#-
    One set of cleaning and casting rules for every layout. Each staging model first renames
    its file's columns to the canonical *_raw text columns, then selects
    {{ clv_parsed_columns() }} to add the typed columns. A value that cannot be parsed becomes
    null here; int_transaction_lines_audited turns that into a rejection with a reason.
-#}

{% macro clv_missing_markers() %}
    {%- set markers = [] -%}
    {%- for marker in clv_string_list_var('missing_value_markers') -%}
        {%- do markers.append(clv_quote(marker | lower)) -%}
    {%- endfor -%}
    {{ return(markers) }}
{% endmacro %}

{#- Trimmed text, null when blank or a "missing" marker such as (blank), nan or null. -#}
{% macro clv_clean_text(expression) -%}
    case
        when {{ clv_text_is_one_of('lower(trim(' ~ expression ~ '))', clv_missing_markers()) }} then null
        else trim({{ expression }})
    end
{%- endmacro %}

{#- "00017850", "17850" and "17850.0" -> "17850" when normalize_numeric_customer_ids is on. -#}
{% macro clv_clean_customer_id(expression) -%}
    {%- set cleaned = clv_clean_text(expression) -%}
    {%- if var('normalize_numeric_customer_ids') -%}
    case
        when {{ clv_regexp_full_match(cleaned, '[0-9]+([.]0+)?') }}
            then coalesce(nullif({{ clv_strip_leading_zeros("regexp_replace(" ~ cleaned ~ ", '[.]0+$', '')") }}, ''), '0')
        else {{ cleaned }}
    end
    {%- else -%}
    {{ cleaned }}
    {%- endif -%}
{%- endmacro %}

{#- A finite number, or null for blanks, text, NaN and infinities. -#}
{% macro clv_parse_number(expression) -%}
    {{ clv_try_parse_double(clv_clean_text(expression)) }}
{%- endmacro %}

{#- Money: at most 4 decimals, exact in sums (reconciliation compares sums exactly). -#}
{% macro clv_money_type() -%}
    decimal(18, 4)
{%- endmacro %}

{#- Sums of money over lines: each line fits decimal(18, 4), their totals need more digits. -#}
{% macro clv_money_total_type() -%}
    decimal(38, 4)
{%- endmacro %}

{% macro clv_parsed_columns() -%}
    {%- set ordered_at = clv_try_parse_timestamp(clv_clean_text('ordered_at_raw'), clv_timestamp_formats()) -%}
    {%- set quantity = clv_parse_number('quantity_raw') -%}
    {%- set unit_price = clv_parse_number('unit_price_raw') -%}
    {%- set amount = clv_parse_number('amount_raw') -%}
        -- ids
        {{ clv_clean_customer_id('customer_id_raw') }} as customer_id,
        {{ clv_clean_text('order_id_raw') }} as order_id,
        {{ clv_clean_text('product_id_raw') }} as product_id,
        {{ clv_clean_text('store_id_raw') }} as store_id,
        {{ clv_clean_text('country_raw') }} as country,
        -- dates
        {{ ordered_at }} as ordered_at,
        cast({{ ordered_at }} as date) as order_date,
        -- amounts
        {{ quantity }} as quantity,
        {{ dbt.safe_cast(unit_price, clv_money_type()) }} as unit_price,
        {{ dbt.safe_cast(amount, clv_money_type()) }} as amount,
        -- the amount when the file has one, else quantity x unit price
        {{ dbt.safe_cast('coalesce(' ~ amount ~ ', ' ~ quantity ~ ' * ' ~ unit_price ~ ')', clv_money_type()) }}
            as line_revenue
{%- endmacro %}
