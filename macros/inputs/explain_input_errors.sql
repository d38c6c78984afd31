{#-
    DuckDB stops a scan on two faults of a CSV file that no row-level rule can catch: bytes
    that are not text in the file's encoding, and a line with more fields than the header
    beyond the rows it sampled. Its message names the file and line but suggests reader
    options (encoding=, ignore_errors=) a user of this project does not set, and ignore_errors
    would drop rows silently. Run at the end of every dbt command (on-run-end), this prints
    what to do instead. It only logs: the failed node already makes the command fail.
-#}
{% macro clv_explain_input_errors(results) %}
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
        {%- elif 'Expected Number of Columns' in message -%}
            {{ log(where ~ ": the line has more fields than the header. Usually a delimiter inside"
                ~ " an unquoted value, or two lines run together: quote or fix that line.", info=true) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
