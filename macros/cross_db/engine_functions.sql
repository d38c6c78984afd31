{#-
    The few engine-specific functions the models need, behind adapter.dispatch so another
    adapter (Spark, Snowflake, ...) only has to add its own <adapter>__ versions here.
    The default__ versions are DuckDB syntax, the spark__ versions Spark SQL (ANSI mode on,
    as pyspark 4 runs it). Everything else uses dbt's cross-database macros (dbt.datediff,
    dbt.dateadd, dbt.date_trunc, dbt.safe_cast).
-#}

{% macro clv_regexp_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('clv_regexp_full_match', 'clv_warehouse')(expression, pattern)) }}
{%- endmacro %}
{% macro default__clv_regexp_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, {{ clv_quote(pattern) }})
{%- endmacro %}
{% macro spark__clv_regexp_full_match(expression, pattern) -%}
    ({{ expression }} rlike {{ clv_quote('^(?:' ~ pattern ~ ')$') }})
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

{#-
    Spark: an ISO date or timestamp first (Spark's cast also takes a bare year or year-month,
    which DuckDB refuses, hence the pattern), then each strptime format as a Java pattern.
-#}
{% macro spark__clv_try_parse_timestamp(expression, formats) -%}
    coalesce(
        case when {{ expression }} rlike '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9].*)?$'
            then try_cast({{ expression }} as timestamp) end
        {%- for f in formats %},
        try_to_timestamp({{ expression }}, {{ clv_quote(clv_java_datetime_pattern(f)) }})
        {%- endfor %}
    )
{%- endmacro %}

{#-
    A strptime format as a Java DateTimeFormatter pattern (Spark's to_timestamp): %Y%m%d ->
    yyyyMMdd. A directive next to another is fixed width (MM: with one letter, the year would
    take every digit), otherwise one letter (M), which parses one or two digits as strptime
    does. Literal text is quoted.
-#}
{% macro clv_java_datetime_pattern(format) -%}
    {%- set letters = {'Y': 'yyyy', 'm': 'M', 'd': 'd', 'H': 'H', 'M': 'm', 'S': 's', 'y': 'yy',
        'b': 'MMM', 'B': 'MMMM', 'p': 'a', 'I': 'h', 'f': 'SSSSSS', 'j': 'D', 'a': 'E', 'A': 'EEEE'} -%}
    {%- set tokens = modules.re.findall('%-?[A-Za-z%]|[^%]+', format) -%}
    {%- set parts = [] -%}
    {%- for token in tokens -%}
        {%- if token == '%%' -%}
            {%- do parts.append("'%'") -%}
        {%- elif token.startswith('%') -%}
            {%- set letter = letters.get(token[-1], none) -%}
            {%- if letter is none -%}
                {{ exceptions.raise_compiler_error("timestamp_formats: the directive " ~ token ~ " has no Spark equivalent; use %Y %m %d %H %M %S %y %b %B %p %I %f %j.") }}
            {%- endif -%}
            {%- set next = tokens[loop.index] if loop.index < tokens | length else '' -%}
            {%- set previous = tokens[loop.index0 - 1] if loop.index0 > 0 else '' -%}
            {%- if letter | length == 1 and ((next.startswith('%') and next != '%%')
                or (previous.startswith('%') and previous != '%%')) -%}
                {%- set letter = letter ~ letter -%}
            {%- endif -%}
            {%- do parts.append(letter) -%}
        {%- else -%}
            {%- do parts.append(modules.re.sub('([A-Za-z]+)', "'\\1'", token | replace("'", "''"))) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- parts | join('') -}}
{%- endmacro %}

{% macro clv_try_parse_double(expression) -%}
    {{ return(adapter.dispatch('clv_try_parse_double', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_try_parse_double(expression) -%}
    case when isfinite(try_cast({{ expression }} as double)) then try_cast({{ expression }} as double) end
{%- endmacro %}
{#- Spark's cast takes Java's 1d and 1f suffixes: only plain decimal and exponent forms count. -#}
{% macro spark__clv_try_parse_double(expression) -%}
    case
        when {{ expression }} rlike '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'
            and abs(try_cast({{ expression }} as double)) < double('Infinity')
            then try_cast({{ expression }} as double)
    end
{%- endmacro %}

{#- Value of `expression` on the row where `order_by` is smallest; rows with a null order_by
    are ignored. -#}
{% macro clv_first_value_by(expression, order_by) -%}
    {{ return(adapter.dispatch('clv_first_value_by', 'clv_warehouse')(expression, order_by)) }}
{%- endmacro %}
{% macro default__clv_first_value_by(expression, order_by) -%}
    arg_min({{ expression }}, {{ order_by }})
{%- endmacro %}
{% macro spark__clv_first_value_by(expression, order_by) -%}
    min_by({{ expression }}, {{ order_by }})
{%- endmacro %}

{#- Value of `expression` on the row where `order_by` is largest, ignoring null values. -#}
{% macro clv_last_value_by(expression, order_by) -%}
    {{ return(adapter.dispatch('clv_last_value_by', 'clv_warehouse')(expression, order_by)) }}
{%- endmacro %}
{% macro default__clv_last_value_by(expression, order_by) -%}
    arg_max({{ expression }}, case when {{ expression }} is not null then {{ order_by }} end)
{%- endmacro %}
{% macro spark__clv_last_value_by(expression, order_by) -%}
    max_by({{ expression }}, case when {{ expression }} is not null then {{ order_by }} end)
{%- endmacro %}

{#- Whitespace-separated fields of a text line, as a 1-based list. -#}
{% macro clv_split_whitespace(expression) -%}
    {{ return(adapter.dispatch('clv_split_whitespace', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_split_whitespace(expression) -%}
    regexp_split_to_array(trim({{ expression }}), '\s+')
{%- endmacro %}
{#- (the pattern goes through clv_quote: a bare '\s+' is 's+' to Spark) -#}
{% macro spark__clv_split_whitespace(expression) -%}
    split(trim({{ expression }}), {{ clv_quote('\\s+') }})
{%- endmacro %}

{#- Element n (1-based) of a list, null past its end. Spark's x[n] is 0-based. -#}
{% macro clv_list_element(expression, n) -%}
    {{ return(adapter.dispatch('clv_list_element', 'clv_warehouse')(expression, n)) }}
{%- endmacro %}
{% macro default__clv_list_element(expression, n) -%}
    {{ expression }}[{{ n }}]
{%- endmacro %}
{% macro spark__clv_list_element(expression, n) -%}
    try_element_at({{ expression }}, {{ n }})
{%- endmacro %}

{% macro clv_list_length(expression) -%}
    {{ return(adapter.dispatch('clv_list_length', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_list_length(expression) -%}
    len({{ expression }})
{%- endmacro %}
{% macro spark__clv_list_length(expression) -%}
    size({{ expression }})
{%- endmacro %}

{#- Text without its leading zeros ('' when it was all zeros). Spark's ltrim takes its
    arguments the other way round, so a regular expression says it on both. -#}
{% macro clv_strip_leading_zeros(expression) -%}
    {{ return(adapter.dispatch('clv_strip_leading_zeros', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_strip_leading_zeros(expression) -%}
    ltrim({{ expression }}, '0')
{%- endmacro %}
{% macro spark__clv_strip_leading_zeros(expression) -%}
    regexp_replace({{ expression }}, '^0+', '')
{%- endmacro %}

{#- A 64-bit hash of several values (Spark's hash() is 32-bit: xxhash64). summable: a type
    whose sum over many rows cannot overflow (DuckDB sums its unsigned hashes exactly; a Spark
    bigint sum would fail in ANSI mode). -#}
{% macro clv_hash(expressions, summable=false) -%}
    {{ return(adapter.dispatch('clv_hash', 'clv_warehouse')(expressions, summable)) }}
{%- endmacro %}
{% macro default__clv_hash(expressions, summable=false) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}
{% macro spark__clv_hash(expressions, summable=false) -%}
    {%- if summable -%}
    cast(xxhash64({{ expressions | join(', ') }}) as decimal(38, 0))
    {%- else -%}
    xxhash64({{ expressions | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#- One row per element of a JSON array of texts, joined to the row it came from, as
    alias.column: `from t {{ clv_join_json_text_array('t.json_column', 'item', 'value') }}`. -#}
{% macro clv_join_json_text_array(json_expression, alias, column) -%}
    {{ return(adapter.dispatch('clv_join_json_text_array', 'clv_warehouse')(json_expression, alias, column)) }}
{%- endmacro %}
{% macro default__clv_join_json_text_array(json_expression, alias, column) -%}
    cross join unnest(json_extract_string({{ json_expression }}, '$[*]')) as {{ alias }} ({{ column }})
{%- endmacro %}
{% macro spark__clv_join_json_text_array(json_expression, alias, column) -%}
    lateral view explode(from_json({{ json_expression }}, 'array<string>')) {{ alias }} as {{ column }}
{%- endmacro %}

{#- A struct of named columns (the column names become the field names). -#}
{% macro clv_struct(expressions) -%}
    {{ return(adapter.dispatch('clv_struct', 'clv_warehouse')(expressions)) }}
{%- endmacro %}
{% macro default__clv_struct(expressions) -%}
    struct_pack({{ expressions | join(', ') }})
{%- endmacro %}
{% macro spark__clv_struct(expressions) -%}
    struct({{ expressions | join(', ') }})
{%- endmacro %}

{#- Values joined with a separator in the order of `order_by` (an expression, ascending). -#}
{% macro clv_string_agg(expression, separator, order_by) -%}
    {{ return(adapter.dispatch('clv_string_agg', 'clv_warehouse')(expression, separator, order_by)) }}
{%- endmacro %}
{% macro default__clv_string_agg(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__clv_string_agg(expression, separator, order_by) -%}
    nullif(array_join(transform(
        array_sort(collect_list(case when {{ expression }} is not null
            then struct({{ order_by }} as sort_key, {{ expression }} as value) end)),
        item -> item.value), {{ separator }}), '')
{%- endmacro %}

{#- True when every value is true (nulls ignored). -#}
{% macro clv_bool_and(expression) -%}
    {{ return(adapter.dispatch('clv_bool_and', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_bool_and(expression) -%}
    bool_and({{ expression }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
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
{#- A JSON text as a JSON value inside clv_json_object (not a string holding JSON). -#}
{% macro clv_json_text(expression) -%}
    {{ return(adapter.dispatch('clv_json_text', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_json_text(expression) -%}
    cast({{ expression }} as json)
{%- endmacro %}
{% macro spark__clv_json_text(expression) -%}
    parse_json({{ expression }})
{%- endmacro %}

{#- (Spark writes numbers and spaces its own way: compare the parsed JSON, not the text) -#}
{% macro spark__clv_json_object(pairs) -%}
    to_json(named_struct(
        {%- for key, expression in pairs.items() %}
        {{ clv_quote(key) }}, {{ expression }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ))
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
{#- Spark: the values sorted by the key, then folded left to right (sum or avg of doubles). -#}
{% macro spark__clv_ordered_aggregate(function, expression, order_by) -%}
    {%- if function not in ('sum', 'avg') -%}
        {{ exceptions.raise_compiler_error("clv_ordered_aggregate on Spark: sum or avg, not " ~ function) }}
    {%- endif -%}
    {%- set values = 'transform(array_sort(collect_list(case when (' ~ expression ~ ') is not null then struct(' ~ order_by ~ ' as sort_key, cast(' ~ expression ~ ' as double) as value) end)), item -> item.value)' -%}
    case when count({{ expression }}) > 0 then
        aggregate({{ values }}, cast(0 as double), (total, value) -> total + value)
        {%- if function == 'avg' %} / count({{ expression }}){% endif %}
    end
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
    {{ clv_exact_stddev_samp_in(expression, decimals, 'hugeint') }}
{%- endmacro %}

{#- Spark: exact integer sums in decimal(38, 0) (Spark has no 128-bit integer type). -#}
{% macro spark__clv_exact_stddev_samp(expression, decimals) -%}
    {{ clv_exact_stddev_samp_in(expression, decimals, 'decimal(38, 0)') }}
{%- endmacro %}

{#- The exact sums in `integer_type`, an engine's widest exact integer type. -#}
{% macro clv_exact_stddev_samp_in(expression, decimals, integer_type) -%}
    {%- set scaled = 'cast((' ~ expression ~ ') * ' ~ 10 ** decimals ~ ' as ' ~ integer_type ~ ')' -%}
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
{#- (the Spark session's time zone is UTC: profiles.yml) -#}
{% macro spark__clv_timestamptz_at_zone(expression, zone) -%}
    from_utc_timestamp({{ expression }}, {{ clv_quote(zone) }})
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
{% macro spark__clv_date_part(part, expression) -%}
    cast(date_part('{{ "doy" if part == "dayofyear" else part }}', {{ expression }}) as bigint)
{%- endmacro %}

{#- True when a double is a number (not NaN, not infinite); null stays null. -#}
{% macro clv_is_finite(expression) -%}
    {{ return(adapter.dispatch('clv_is_finite', 'clv_warehouse')(expression)) }}
{%- endmacro %}
{% macro default__clv_is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}
{#- NaN is larger than every number in Spark, so abs(x) < infinity is false for it. -#}
{% macro spark__clv_is_finite(expression) -%}
    (abs({{ expression }}) < double('Infinity'))
{%- endmacro %}

{#-
    dbt-spark's datediff and dateadd raise on a null date (assert_not_null) and its datediff
    returns INT: these return null for null, a BIGINT difference, and count month boundaries
    as DuckDB's date_diff does.
-#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'day' -%}
        cast(datediff({{ second_date }}, {{ first_date }}) as bigint)
    {%- elif datepart == 'month' -%}
        cast((year({{ second_date }}) * 12 + month({{ second_date }})) - (year({{ first_date }}) * 12 + month({{ first_date }})) as bigint)
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff on Spark: day or month, not " ~ datepart) }}
    {%- endif -%}
{%- endmacro %}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, cast({{ from_date_or_timestamp }} as timestamp))
{%- endmacro %}

{#-
    The share of rows where `condition` is true (null counts as false), as a double. DuckDB
    averages the exact decimals 1.0 and 0.0; Spark would average them as decimal(6, 5),
    rounded to 5 places, so it divides exact counts instead.
-#}
{% macro clv_share_of(condition) -%}
    {{ return(adapter.dispatch('clv_share_of', 'clv_warehouse')(condition)) }}
{%- endmacro %}
{% macro default__clv_share_of(condition) -%}
    avg(case when {{ condition }} then 1.0 else 0.0 end)
{%- endmacro %}
{% macro spark__clv_share_of(condition) -%}
    (cast(count_if({{ condition }}) as double) / count(*))
{%- endmacro %}
