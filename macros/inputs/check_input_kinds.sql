{#-
    Checks of the files an input path matches that DuckDB would otherwise answer with advice
    naming reader options a user of this project cannot set (called by clv_check_input_file,
    once the files are listed):
    - Parquet and CSV/text files in one input: each input is read one way;
    - only Parquet files behind a path that does not end in .parquet: they would be read as CSV;
    - a CSV file with both CRLF and LF line ends (header-based layouts): DuckDB's strict CSV
      reader cannot read it, and its lenient mode would silently drop the fields of a line
      longer than the header. Checked on files up to 32 MiB, whose bytes are read once here.
-#}
{% macro clv_check_input_kinds(path, files, layout) %}
    {{ return(adapter.dispatch('clv_check_input_kinds', 'clv_warehouse')(path, files, layout)) }}
{% endmacro %}

{#- Spark: one kind of file per input (its CSV reader splits CRLF and LF lines alike). -#}
{% macro spark__clv_check_input_kinds(path, files, layout) %}
    {%- do default__clv_check_input_kinds(path, files, 'cdnow') -%}
{% endmacro %}

{% macro default__clv_check_input_kinds(path, files, layout) %}
    {%- set parquet_files = [] -%}
    {%- set other_files = [] -%}
    {%- for file in files -%}
        {%- do (parquet_files if file.lower().endswith('.parquet') else other_files).append(file) -%}
    {%- endfor -%}
    {%- if parquet_files and other_files -%}
        {{ exceptions.raise_compiler_error(
            "Input " ~ path ~ " matches both Parquet files (" ~ parquet_files[0] ~ ") and CSV or text files ("
            ~ other_files[0] ~ "); one input is read one way. Point input_path at one kind, for example a glob ending in .parquet or .csv.") }}
    {%- endif -%}
    {%- if parquet_files and not path.lower().endswith('.parquet') -%}
        {{ exceptions.raise_compiler_error(
            "Input " ~ path ~ " matches Parquet files (" ~ parquet_files[0] ~ ") but does not end in .parquet, so they"
            ~ " would be read as CSV. Use a path or glob ending in .parquet.") }}
    {%- endif -%}
    {%- if layout == 'cdnow' or not other_files -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set small = run_query(
        "select filename from read_blob(" ~ clv_quote(path) ~ ") where size <= 33554432 order by filename") -%}
    {%- if small.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set quoted = [] -%}
    {%- for row in small.rows -%}
        {%- do quoted.append(clv_quote(row[0])) -%}
    {%- endfor -%}
    {#- a blob cast to text shows a CR as \x0D and an LF as \x0A -#}
    {%- set mixed = run_query(
        "select filename, crlf, lf - crlf from (select filename,"
        ~ " (strlen(text) - strlen(replace(text, '\\x0D\\x0A', ''))) // 8 as crlf,"
        ~ " (strlen(text) - strlen(replace(text, '\\x0A', ''))) // 4 as lf"
        ~ " from (select filename, cast(content as varchar) as text from read_blob([" ~ quoted | join(', ') ~ "])))"
        ~ " where crlf > 0 and lf > crlf order by filename limit 1") -%}
    {%- if mixed.rows | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Input file " ~ mixed.rows[0][0] ~ " mixes line ends: " ~ mixed.rows[0][1] ~ " line(s) end in CRLF (Windows) and "
            ~ mixed.rows[0][2] ~ " in LF alone, which the CSV reader cannot split reliably. Convert the file to one kind,"
            ~ " for example: sed -i 's/\\r$//' file.csv (or dos2unix file.csv), then build again.") }}
    {%- endif -%}
{% endmacro %}
