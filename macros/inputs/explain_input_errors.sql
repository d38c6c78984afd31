{#-
    DuckDB stops a scan on three faults of a CSV file that no row-level rule can catch: bytes
    that are not text in the file's encoding, a line with more fields than the header
    beyond the rows it sampled, and a line longer than its maximum line size. Its message names the file and line but suggests reader
    options (encoding=, ignore_errors=) a user of this project does not set, and ignore_errors
    would drop rows silently. Run at the end of every dbt command (on-run-end), this prints
    what to do instead. It only logs: the failed node already makes the command fail.
-#}
{% macro clv_explain_input_errors(results) %}
    {{ return(adapter.dispatch('clv_explain_input_errors', 'clv_warehouse')(results)) }}
{% endmacro %}

{#- Spark's reader errors name the file and the option themselves. -#}
{% macro spark__clv_explain_input_errors(results) %}
    {{ return('') }}
{% endmacro %}

{% macro default__clv_explain_input_errors(results) %}
    {%- for result in results if result.status in ('error', 'fail') and result.message -%}
        {%- set message = result.message | string -%}
        {%- set file = modules.re.search('file = (\\S+)', message) -%}
        {%- set line = modules.re.search('CSV Error on Line: ([0-9]+)', message) -%}
        {%- set where = "Input file " ~ (file.group(1) if file else clv_input_path())
            ~ (", line " ~ line.group(1) ~ " (the header is line 1)" if line else "") -%}
        {%- if 'not utf-8 encoded' in message or 'Invalid unicode' in message -%}
            {{ log(where ~ ": the file is not " ~ clv_input_encoding() ~ " text."
                ~ " Re-encode it as UTF-8 (for example: iconv -f latin1 -t utf-8 in.csv > out.csv),"
                ~ " or set the var input_encoding (or CLV_INPUT_ENCODING) to the file's encoding, one of "
                ~ clv_input_encodings() | join(', ') ~ ".", info=true) }}
        {%- elif 'Maximum line size' in message -%}
            {{ log(clv_explain_long_line(file.group(1) if file else clv_input_path(), message), info=true) }}
        {%- elif 'Expected Number of Columns' in message -%}
            {{ log(where ~ ": the line has more fields than the header. Usually a delimiter inside"
                ~ " an unquoted value, or two lines run together: quote or fix that line.", info=true) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{#-
    A line longer than the CSV reader's maximum (2,000,000 bytes): DuckDB's message names the
    line its reading buffer started at (line 1 for a 3 MB line 3). The file is read again as
    plain lines, without quotes, to find the first line that long. When there is none, a
    quote left open ran lines together.
-#}
{% macro clv_explain_long_line(file, message) %}
    {%- set limit = modules.re.search('Maximum line size of ([0-9]+) bytes', message) -%}
    {%- set actual = modules.re.search('Actual Size: *([0-9]+)', message) -%}
    {%- set limit = limit.group(1) | int if limit else 2000000 -%}
    {%- set read_up_to = (actual.group(1) | int if actual else limit * 4) + 1024 -%}
    {%- set long_line = run_query(
        "select line_number, bytes from (select row_number() over () as line_number, strlen(line) as bytes"
        ~ " from read_csv(" ~ clv_quote(file) ~ ", columns = {'line': 'varchar'}, header = false, delim = chr(31),"
        ~ " quote = '', escape = '', auto_detect = false, strict_mode = false, max_line_size = " ~ read_up_to
        ~ ", encoding = " ~ clv_quote(clv_input_encoding()) ~ ")) where bytes > " ~ limit
        ~ " order by line_number limit 1") -%}
    {%- if long_line.rows | length > 0 -%}
        {{ return("Input file " ~ file ~ ", line " ~ long_line.rows[0][0] ~ " (the header is line 1): the line is "
            ~ "{:,}".format(long_line.rows[0][1]) ~ " bytes long, more than the " ~ "{:,}".format(limit)
            ~ " the CSV reader accepts (DuckDB's own message names the line where it started reading)."
            ~ " Transaction lines are short: fix or remove that line.") }}
    {%- endif -%}
    {{ return("Input file " ~ file ~ ": the CSV reader read more than " ~ "{:,}".format(limit)
        ~ " bytes as one line, but no line of the file is that long: a double quote that is never closed"
        ~ " runs the lines after it together. Find the unmatched quote and fix it.") }}
{% endmacro %}
