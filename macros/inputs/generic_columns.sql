{#-
    Column mapping of the generic layout: canonical name -> the file's column name (none when
    the file has no such column). The var generic_columns (or JSON in CLV_GENERIC_COLUMNS)
    overrides these defaults key by key.
-#}

{% macro clv_generic_column_defaults() %}
    {{ return({
        'customer_id': 'customer_id',
        'order_id': 'order_id',
        'ordered_at': 'ordered_at',
        'product_id': none,
        'quantity': none,
        'unit_price': none,
        'amount': 'amount',
        'store_id': none,
        'country': none,
    }) }}
{% endmacro %}

{% macro clv_generic_column_map() %}
    {%- set mapping = clv_generic_column_defaults() -%}
    {%- set from_env = env_var('CLV_GENERIC_COLUMNS', '') | trim -%}
    {%- set from_var = var('generic_columns', {}) -%}
    {%- set setting = 'generic_columns' if from_var else 'CLV_GENERIC_COLUMNS' -%}
    {%- set overrides = from_var or (fromjson(from_env, none) if from_env else {}) -%}
    {%- if overrides is not mapping -%}
        {{ exceptions.raise_compiler_error(
            setting ~ " must map canonical column names to your column names, as JSON such as"
            ~ ' {"customer_id": "client", "ordered_at": "sold_at", "amount": "total"}; got '
            ~ ((from_var if from_var else from_env) | string)[:120] ~ ".") }}
    {%- endif -%}
    {%- for key, value in overrides.items() -%}
        {%- if key not in mapping -%}
            {{ exceptions.raise_compiler_error(
                setting ~ " has an unknown key '" ~ (key | string)[:60] ~ "'. Known keys: " ~ mapping.keys() | list | join(', ') ~ ".") }}
        {%- endif -%}
        {%- if value is not none and value is not string -%}
            {{ exceptions.raise_compiler_error(
                setting ~ "." ~ key ~ " must be a column name (text) or null; got " ~ (value | string)[:60] ~ ".") }}
        {%- endif -%}
        {%- do mapping.update({key: (value if value not in ('', none) else none)}) -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for key in ['customer_id', 'ordered_at'] if mapping[key] is none -%}
        {%- do missing.append(key) -%}
    {%- endfor -%}
    {%- if mapping['amount'] is none and (mapping['quantity'] is none or mapping['unit_price'] is none) -%}
        {%- do missing.append('amount (or both quantity and unit_price)') -%}
    {%- endif -%}
    {%- if missing | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "generic_columns does not say which column holds: " ~ missing | join(', ')
            ~ ". Current mapping: " ~ tojson(mapping) ~ ".") }}
    {%- endif -%}
    {{ return(mapping) }}
{% endmacro %}
