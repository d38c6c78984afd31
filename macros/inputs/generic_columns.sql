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
    {%- set overrides = var('generic_columns', {}) or (fromjson(from_env) if from_env else {}) -%}
    {%- if overrides is not mapping -%}
        {{ exceptions.raise_compiler_error("generic_columns must map canonical column names to your column names; got " ~ overrides) }}
    {%- endif -%}
    {%- for key, value in overrides.items() -%}
        {%- if key not in mapping -%}
            {{ exceptions.raise_compiler_error(
                "generic_columns has an unknown key '" ~ key ~ "'. Known keys: " ~ mapping.keys() | list | join(', ') ~ ".") }}
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
