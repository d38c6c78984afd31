{#-
    Post-hook of int_transaction_lines_audited: stop the build when no purchase line was kept
    (every line rejected, as with an as-of date before the data, or only returns kept). The
    models would otherwise build empty tables, the build would succeed and `clv publish` would
    publish a warehouse without customers. The message gives the as-of date and the top
    rejection reasons. DuckDB's error() fails the statement only when the check finds nothing.
    It runs outside the model's transaction, so the lines it points to stay in the table.
-#}
{% macro clv_check_kept_lines(relation) -%}
    {{ return(adapter.dispatch('clv_check_kept_lines', 'clv_warehouse')(relation)) }}
{%- endmacro %}

{#- Spark: the same check and message, counted here and raised by dbt. -#}
{% macro spark__clv_check_kept_lines(relation) -%}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set counts = run_query("select count(*), count_if(is_kept), count_if(is_kept and not is_return) from " ~ relation).rows[0] -%}
    {%- if counts[2] == 0 -%}
        {%- set as_of_date = clv_as_of_date() -%}
        {%- set reasons = run_query("select rejection_reason, count(*) as line_count from " ~ relation
            ~ " where rejection_reason is not null group by rejection_reason order by line_count desc, rejection_reason limit 3").rows -%}
        {%- set shown = [] -%}
        {%- for row in reasons -%}{%- do shown.append(row[0] ~ ' ' ~ row[1]) -%}{%- endfor -%}
        {{ exceptions.raise_compiler_error(
            ("No line of the input was kept: all " ~ counts[0] ~ " line(s) were rejected" if counts[1] == 0
             else "No purchase was kept: the " ~ counts[1] ~ " kept line(s) are all returns")
            ~ " (as-of date " ~ (as_of_date if as_of_date else 'not set (lines after today are rejected)')
            ~ "; top rejection reasons: " ~ (shown | join(', ') or 'none') ~ "): there are no customers to model."
            ~ " See the rejected lines in " ~ relation.schema ~ "." ~ relation.identifier
            ~ " (rejection_reason, source_file, source_row_number), then check the as-of date (var as_of_date,"
            ~ " CLV_AS_OF_DATE, clv build --as-of) and the input.") }}
    {%- endif -%}
    {{ return('select 1') }}
{%- endmacro %}

{% macro default__clv_check_kept_lines(relation) -%}
    {%- set as_of_date = clv_as_of_date() -%}
    {%- set as_of = as_of_date if as_of_date else 'not set (lines after today are rejected)' -%}
    select error(format(
        '{} (as-of date {}; top rejection reasons: {}): there are no customers to model.'
        || ' See the rejected lines in {} (rejection_reason, source_file, source_row_number),'
        || ' then check the as-of date (var as_of_date, CLV_AS_OF_DATE, clv build --as-of) and the input.',
        case
            when lines.kept_lines = 0 then format('No line of the input was kept: all {} line(s) were rejected', lines.raw_lines)
            else format('No purchase was kept: the {} kept line(s) are all returns', lines.kept_lines)
        end,
        {{ clv_quote(as_of) }},
        coalesce((
            select string_agg(format('{} {}', reasons.rejection_reason, reasons.line_count), ', ' order by reasons.line_count desc, reasons.rejection_reason)
            from (
                select rejection_reason, count(*) as line_count
                from {{ relation }}
                where rejection_reason is not null
                group by rejection_reason
                order by line_count desc, rejection_reason
                limit 3
            ) as reasons
        ), 'none'),
        {{ clv_quote(relation.schema ~ '.' ~ relation.identifier) }}
    ))
    from (
        select
            count(*) as raw_lines,
            count_if(is_kept) as kept_lines,
            count_if(is_kept and not is_return) as kept_purchases
        from {{ relation }}
    ) as lines
    where lines.kept_purchases = 0
{%- endmacro %}
