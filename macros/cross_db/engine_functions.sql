{#-
    The few engine-specific functions the models need, behind adapter.dispatch so another
    adapter (Spark, Snowflake, ...) only has to add its own <adapter>__ versions here.
    The default__ versions are DuckDB syntax. Everything else uses dbt's cross-database
    macros (dbt.datediff, dbt.dateadd, dbt.date_trunc, dbt.safe_cast).
-#}

{% macro clv_regexp_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('clv_regexp_full_match', 'clv_warehouse')(expression, pattern)) }}
{%- endmacro %}
{% macro default__clv_regexp_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, {{ clv_quote(pattern) }})
{%- endmacro %}

{#-
    expression in (quoted_values...). On DuckDB a list_contains, not `in (...)`: the optimizer
    turns an in-list of constants into a join with the list, which cannot be pruned from a view,
    so every query of the staging view (even one reading only its keys) paid 20 such joins over
    every raw line (7 s of 10 M lines; 0.03 s as list_contains).
-#}
{% macro clv_text_is_one_of(expression, quoted_values) -%}
    {{ return(adapter.dispatch('clv_text_is_one_of', 'clv_warehouse')(expression, quoted_values)) }}
{%- endmacro %}
{% macro default__clv_text_is_one_of(expression, quoted_values) -%}
    {{ expression }} in ({{ quoted_values | join(', ') }})
{%- endmacro %}
{% macro duckdb__clv_text_is_one_of(expression, quoted_values) -%}
    list_contains([{{ quoted_values | join(', ') }}], {{ expression }})
{%- endmacro %}

{#- ISO 8601 first, then each format in order; null when none matches. -#}
{% macro clv_try_parse_timestamp(expression, formats) -%}
    {{ return(adapter.dispatch('clv_try_parse_timestamp', 'clv_warehouse')(expression, formats)) }}
{%- endmacro %}
{% macro default__clv_try_parse_timestamp(expression, formats) -%}
    coalesce(
        try_cast({{ expression }} as timestamp),
        try_strptime({{ expression }}, [{% for f in formats %}{{ clv_quote(f) }}{% if not loop.last %}, {% endif %}{% endfor %}])
    )
{%- endmacro %}

{% macro clv_try_parse_double(expression) -%}
    {{ return(adapter.dispatch('clv_try_parse_double', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_try_parse_double(expression) -%}
    case when isfinite(try_cast({{ expression }} as double)) then try_cast({{ expression }} as double) end
{%- endmacro %}

{#- Value of `expression` on the row where `order_by` is smallest; rows with a null order_by
    are ignored. -#}
{% macro clv_first_value_by(expression, order_by) -%}
    {{ return(adapter.dispatch('clv_first_value_by', 'clv_warehouse')(expression, order_by)) }}
{%- endmacro %}
{% macro default__clv_first_value_by(expression, order_by) -%}
    arg_min({{ expression }}, {{ order_by }})
{%- endmacro %}

{#- Value of `expression` on the row where `order_by` is largest, ignoring null values. -#}
{% macro clv_last_value_by(expression, order_by) -%}
    {{ return(adapter.dispatch('clv_last_value_by', 'clv_warehouse')(expression, order_by)) }}
{%- endmacro %}
{% macro default__clv_last_value_by(expression, order_by) -%}
    arg_max({{ expression }}, case when {{ expression }} is not null then {{ order_by }} end)
{%- endmacro %}

{#- Whitespace-separated fields of a text line, as a 1-based list. -#}
{% macro clv_split_whitespace(expression) -%}
    {{ return(adapter.dispatch('clv_split_whitespace', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_split_whitespace(expression) -%}
    regexp_split_to_array(trim({{ expression }}), '\s+')
{%- endmacro %}

{#-
    dbt-duckdb's safe_cast is a plain cast, which aborts the whole build on one bad value.
    This override (found first because the root project is searched before dbt's own
    macros) makes dbt.safe_cast return null instead, as it does on Snowflake and BigQuery.
-#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- A JSON object text from alternating key names and SQL expressions: {'k': expr, ...}. -#}
{% macro clv_json_object(pairs) -%}
    {{ return(adapter.dispatch('clv_json_object', 'clv_warehouse')(pairs)) }}
{%- endmacro %}
{% macro default__clv_json_object(pairs) -%}
    cast(json_object(
        {%- for key, expression in pairs.items() %}
        {{ clv_quote(key) }}, {{ expression }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}

{#-
    A floating-point aggregate fed its values in a fixed order. Summing doubles in parallel adds
    them in a different order on each run, which changes the last bits: with a unique order key
    two runs on the same input give the same table, bit for bit.
-#}
{% macro clv_ordered_aggregate(function, expression, order_by) -%}
    {{ return(adapter.dispatch('clv_ordered_aggregate', 'clv_warehouse')(function, expression, order_by)) }}
{%- endmacro %}
{% macro default__clv_ordered_aggregate(function, expression, order_by) -%}
    {{ function }}({{ expression }} order by {{ order_by }})
{%- endmacro %}

{#-
    Sample standard deviation of an exact number with at most `decimals` decimal places (an
    integer when 0), the same bit for bit on every run, in memory that does not grow with
    the group. It is computed from exact integer sums of the values scaled to integers:
    sqrt((n * sum(x^2) - sum(x)^2) / (n * (n - 1))), with one rounding, when the numerator is
    converted to double. (An ordered stddev_samp is deterministic too, but buffers every value
    of every group: 16 KiB a group at least, out of memory at 850k customer-cutoffs.)
    Values of 10^10 or more are left out of the exact sums, whose squares could overflow
    128 bits; a group holding one gets stddev_samp in double, which may differ in the last
    bits from run to run.
-#}
{% macro clv_exact_stddev_samp(expression, decimals) -%}
    {{ return(adapter.dispatch('clv_exact_stddev_samp', 'clv_warehouse')(expression, decimals)) }}
{%- endmacro %}
{% macro default__clv_exact_stddev_samp(expression, decimals) -%}
    {%- set scaled = 'cast((' ~ expression ~ ') * ' ~ 10 ** decimals ~ ' as hugeint)' -%}
    {%- set exact = 'case when abs(' ~ expression ~ ') < 1e10 then ' ~ scaled ~ ' end' -%}
    case
        when count({{ expression }}) < 2 then null
        when max(abs({{ expression }})) >= 1e10 then stddev_samp(cast({{ expression }} as double))
        else sqrt(
            cast(count({{ expression }}) * sum({{ exact }} * {{ exact }}) - sum({{ exact }}) * sum({{ exact }}) as double)
            / (count({{ expression }}) * (count({{ expression }}) - 1))
        ) / {{ 10 ** decimals }}
    end
{%- endmacro %}


{#- A timestamp with time zone as the plain local timestamp of `zone` (a zone name). -#}
{% macro clv_timestamptz_at_zone(expression, zone) -%}
    {{ return(adapter.dispatch('clv_timestamptz_at_zone', 'clv_warehouse')(expression, zone)) }}
{%- endmacro %}
{% macro default__clv_timestamptz_at_zone(expression, zone) -%}
    timezone({{ clv_quote(zone) }}, {{ expression }})
{%- endmacro %}

{#-
    A calendar part of a date, as a number: month (1-12), week (the ISO 8601 week, 1-53: weeks
    start on Monday and week 1 holds the year's first Thursday) or dayofyear (1-366). DuckDB and
    Spark both spell it date_part with these ISO meanings.
-#}
{% macro clv_date_part(part, expression) -%}
    {%- if part not in ('month', 'week', 'dayofyear') -%}
        {{ exceptions.raise_compiler_error("clv_date_part: unknown part '" ~ part ~ "'; use month, week or dayofyear.") }}
    {%- endif -%}
    {{ return(adapter.dispatch('clv_date_part', 'clv_warehouse')(part, expression)) }}
{%- endmacro %}
{% macro default__clv_date_part(part, expression) -%}
    date_part('{{ "doy" if part == "dayofyear" else part }}', {{ expression }})
{%- endmacro %}

{#- True when a double is a number (not NaN, not infinite); null stays null. -#}
{% macro clv_is_finite(expression) -%}
    {{ return(adapter.dispatch('clv_is_finite', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}
