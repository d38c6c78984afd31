{#-
    Where the raw transactions come from. Each setting is a dbt var first, then an
    environment variable, so `dbt build --vars '{...}'`, the `clv` command and CI
    environments all work. The source YAML files repeat the same var/env_var lookup
    because YAML properties cannot call project macros.
-#}

{% macro clv_input_layouts() %}
    {{ return(['cdnow', 'online_retail', 'generic']) }}
{% endmacro %}

{% macro clv_input_layout() %}
    {%- set layout = (var('input_layout', env_var('CLV_INPUT_LAYOUT', 'cdnow')) | string | trim | lower) -%}
    {%- if layout not in clv_input_layouts() -%}
        {{ exceptions.raise_compiler_error(
            "Unknown input layout '" ~ layout ~ "'. Set the var input_layout (or CLV_INPUT_LAYOUT) to one of: "
            ~ clv_input_layouts() | join(', ') ~ ".") }}
    {%- endif -%}
    {{ return(layout) }}
{% endmacro %}

{% macro clv_input_path() %}
    {#- The CDNOW default is the file shipped inside the lifetimes package of the project's .venv. -#}
    {%- set default = '.venv/lib/python3*/site-packages/lifetimes/datasets/CDNOW_master.txt'
        if clv_input_layout() == 'cdnow' else '' -%}
    {{ return(var('input_path', env_var('CLV_INPUT_PATH', default)) | string | trim) }}
{% endmacro %}

{% macro clv_input_encodings() %}
    {#- The encodings DuckDB's CSV reader decodes without an extension. -#}
    {{ return(['utf-8', 'utf-16', 'latin-1']) }}
{% endmacro %}

{% macro clv_input_encoding() %}
    {#- The text encoding of CSV and CDNOW files. The source YAML files repeat this lookup. -#}
    {%- set encoding = var('input_encoding', env_var('CLV_INPUT_ENCODING', 'utf-8')) | string | trim | lower -%}
    {%- if encoding not in clv_input_encodings() -%}
        {{ exceptions.raise_compiler_error(
            "Unknown input_encoding '" ~ encoding ~ "' (from the var input_encoding or CLV_INPUT_ENCODING). Use one of: "
            ~ clv_input_encodings() | join(', ') ~ ", or re-encode the file as UTF-8.") }}
    {%- endif -%}
    {{ return(encoding) }}
{% endmacro %}

{% macro clv_as_of_date() %}
    {#- 'YYYY-MM-DD' or none. Validated here so a typo fails before any model runs. -#}
    {%- set raw = var('as_of_date', none) or env_var('CLV_AS_OF_DATE', '') -%}
    {%- set raw = (raw | string | trim) if raw is not none else '' -%}
    {%- if raw in ('', 'None', 'none', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(clv_checked_date(raw, 'as_of_date', 'the var as_of_date, CLV_AS_OF_DATE or clv build --as-of')) }}
{% endmacro %}

{% macro clv_checked_date(value, setting, where) %}
    {#- value as 'YYYY-MM-DD' when it is a real calendar date (2021-02-30 is not); else an
        error naming the setting and where it was read from. -#}
    {%- set text = value | string | trim -%}
    {%- set parts = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', text) -%}
    {%- set ns = namespace(valid=false) -%}
    {%- if parts -%}
        {%- set year, month, day = parts.group(1) | int, parts.group(2) | int, parts.group(3) | int -%}
        {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
        {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
        {%- set ns.valid = year >= 1 and 1 <= month <= 12 and 1 <= day <= month_days[month - 1] -%}
    {%- endif -%}
    {%- if not ns.valid -%}
        {{ exceptions.raise_compiler_error(
            setting ~ " must be a date written YYYY-MM-DD; got '" ~ text[:80] ~ "' (from " ~ where ~ ").") }}
    {%- endif -%}
    {{ return(text) }}
{% endmacro %}

{% macro clv_earliest_valid_date() %}
    {#- Lines dated before it are rejected (date_before_earliest_valid). -#}
    {{ return(clv_checked_date(var('earliest_valid_date'), 'earliest_valid_date', 'the var earliest_valid_date')) }}
{% endmacro %}

{% macro clv_string_list_var(name) %}
    {#- A var that must be a list of strings (a YAML list of quoted values). -#}
    {%- set value = var(name) -%}
    {%- if value is string or value is mapping or value is not iterable -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ name ~ " must be a list of strings, such as [\"a\", \"b\"]; got " ~ (value | string)[:80] ~ ".") }}
    {%- endif -%}
    {%- for item in value -%}
        {%- if item is not string -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ name ~ " must be a list of strings; item " ~ loop.index ~ " is " ~ (item | string)[:80]
            ~ ", not text. Quote it in YAML (\"null\", \"1\").") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(value | list) }}
{% endmacro %}

{% macro clv_timestamp_formats() %}
    {#- The var timestamp_formats: DuckDB strptime formats, each with at least one %-directive
        and only directives DuckDB knows (a bad one fails every parse, not one line). -#}
    {%- set formats = clv_string_list_var('timestamp_formats') -%}
    {%- for format in formats -%}
        {%- set directives = format | replace('%%', '') -%}
        {%- if '%' not in directives
            or modules.re.search('%(?!-?[aAwudbBhmyYGHIpMSgfnzZjUWVcxX])', directives) -%}
            {{ exceptions.raise_compiler_error(
                "The var timestamp_formats holds '" ~ format[:80] ~ "', which is not a strptime format:"
                ~ " write dates as DuckDB strptime formats such as \"%d/%m/%Y %H:%M\" (%Y year, %m month, %d day,"
                ~ " %H hour, %M minute, %S second).") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(formats) }}
{% endmacro %}

{% macro clv_positive_int_var(name) %}
    {%- set value = var(name) -%}
    {%- if value is not number or value != (value | int) or value < 1 -%}
        {{ exceptions.raise_compiler_error("The var " ~ name ~ " must be a positive whole number; got '" ~ value ~ "'.") }}
    {%- endif -%}
    {{ return(value | int) }}
{% endmacro %}

{% macro clv_number_var(name) %}
    {#- A var pasted into SQL as a number: it must be one (not text, not true/false). -#}
    {%- set value = var(name) -%}
    {%- if value is not number or value is sameas true or value is sameas false -%}
        {{ exceptions.raise_compiler_error("The var " ~ name ~ " must be a number; got '" ~ (value | string)[:80] ~ "'.") }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{#-
    How many training cutoffs the grid holds (models/marts/customers/cutoffs.sql): k = 1 .. K
    steps of snapshot_step_days before the backtest cutoff, where K is the larger of
    snapshot_count and ceil(snapshot_span_days / snapshot_step_days). The span makes the grid
    reach back a full year by default, so the label windows of the backtest's training cutoffs
    hold every season (a December) whenever the history is that long; cutoffs on or before the
    first purchase are dropped later, so a short history costs nothing more.
-#}
{% macro clv_training_cutoff_count() %}
    {%- set step_days = clv_positive_int_var('snapshot_step_days') -%}
    {%- set snapshot_count = clv_positive_int_var('snapshot_count') -%}
    {%- set span_days = var('snapshot_span_days') -%}
    {%- if span_days is not number or span_days is sameas true or span_days is sameas false
        or span_days != (span_days | int) or span_days < 0 -%}
        {{ exceptions.raise_compiler_error("The var snapshot_span_days must be a whole number of days, 0 or more (0 = snapshot_count alone sets the grid); got '" ~ span_days ~ "'.") }}
    {%- endif -%}
    {%- set spanned = ((span_days | int) + step_days - 1) // step_days -%}
    {%- set count = [snapshot_count, spanned] | max -%}
    {%- if count > clv_max_training_cutoffs() -%}
        {{ exceptions.raise_compiler_error(
            "The vars snapshot_count (" ~ snapshot_count ~ "), snapshot_span_days (" ~ span_days
            ~ ") and snapshot_step_days (" ~ step_days ~ ") ask for " ~ count ~ " training cutoffs; at most "
            ~ clv_max_training_cutoffs() ~ " are allowed (training time grows with cutoffs x customers): "
            ~ "raise snapshot_step_days or lower snapshot_span_days / snapshot_count.") }}
    {%- endif -%}
    {{ return(count) }}
{% endmacro %}

{% macro clv_max_training_cutoffs() %}
    {{ return(60) }}
{% endmacro %}

{% macro clv_primary_model() %}
    {#- The model levels, segments, lists and the summary's warnings follow (var primary_model). -#}
    {%- set primary_model = var('primary_model') -%}
    {%- if primary_model not in ['naive', 'btyd', 'xgboost'] -%}
        {{ exceptions.raise_compiler_error("var primary_model must be naive, btyd or xgboost, got '" ~ primary_model ~ "'") }}
    {%- endif -%}
    {{ return(primary_model) }}
{% endmacro %}
