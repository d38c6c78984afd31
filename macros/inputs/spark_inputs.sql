{#-
    Inputs on Spark. dbt-spark has no external_location: each source name of the active
    layout (cdnow.purchases, online_retail.invoice_lines, generic.transactions) is registered
    here, at the start of every dbt command (on-run-start), as a view over the input files
    with the columns the DuckDB readers give (line or the file's columns as text, filename,
    file_row_number for Parquet, scan_row_number for text), so the staging models, the input
    checks and the rejection reasons are the same on both engines.

    Text and CSV rows are numbered by monotonically_increasing_id(), which grows in file order
    within each file (a file's splits keep their order, and rows keep theirs within a split);
    Parquet rows by _metadata.row_index. filename is the file's local path (Spark gives a
    file: URL, which is decoded here); Spark always gives it absolute.
-#}

{% macro clv_source_names() %}
    {{ return({'cdnow': ('cdnow', 'purchases'), 'online_retail': ('online_retail', 'invoice_lines'),
               'generic': ('generic', 'transactions')}) }}
{% endmacro %}

{% macro clv_register_inputs() %}
    {{ return(adapter.dispatch('clv_register_inputs', 'clv_warehouse')()) }}
{% endmacro %}

{% macro default__clv_register_inputs() %}
    {{ return('select 1') }}
{% endmacro %}

{% macro spark__clv_register_inputs() %}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set layout = clv_input_layout() -%}
    {%- set schema, table = clv_source_names()[layout] -%}
    {%- set path = clv_input_path() -%}
    {%- if path == '' -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set path = clv_spark_absolute_path(path) -%}
    {%- set files_table = schema ~ '.' ~ table ~ '__files' -%}
    {%- set file_name = "regexp_replace(url_decode(_metadata.file_path), '^file:(//)?', '')" -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
    {%- do run_query('drop view if exists ' ~ schema ~ '.' ~ table) -%}
    {%- do run_query('drop table if exists ' ~ files_table) -%}
    {%- if layout == 'cdnow' -%}
        {%- do run_query('create table ' ~ files_table ~ ' (value string) using text options (path '
            ~ clv_quote(path) ~ ', encoding ' ~ clv_quote(clv_spark_encoding()) ~ ')') -%}
        {%- set columns = 'value as line, ' ~ file_name ~ ' as filename, monotonically_increasing_id() as scan_row_number' -%}
    {%- elif path.lower().endswith('.parquet') -%}
        {%- do run_query('create table ' ~ files_table ~ ' using parquet options (path ' ~ clv_quote(path) ~ ')') -%}
        {%- set columns = '*, ' ~ file_name ~ ' as filename, _metadata.row_index as file_row_number' -%}
    {%- else -%}
        {#- every column as text, an empty field '' and only a missing field null, as DuckDB
            reads it (nullValue is a character no file holds) -#}
        {%- set header_files = schema ~ '.' ~ table ~ '__header' -%}
        {%- do run_query('drop table if exists ' ~ header_files) -%}
        {%- set options = 'path ' ~ clv_quote(path) ~ ', header \'true\', encoding ' ~ clv_quote(clv_spark_encoding())
            ~ ', nullValue \'\\u0001\', emptyValue \'\', mode \'PERMISSIVE\', enforceSchema \'false\', escape \'"\'' -%}
        {%- do run_query('create table ' ~ header_files ~ ' using csv options (' ~ options ~ ')') -%}
        {%- set header = [] -%}
        {%- set values = [] -%}
        {%- for column in adapter.get_columns_in_relation(api.Relation.create(schema=schema, identifier=table ~ '__header')) -%}
            {%- set name = clv_quote(column.name, 'identifier') -%}
            {%- do header.append(name ~ ' string') -%}
            {#- Spark reads an empty field as null: on a whole line it is '', as in DuckDB -#}
            {%- do values.append('case when _corrupt_record is null then coalesce(' ~ name ~ ", '') else " ~ name ~ ' end as ' ~ name) -%}
        {%- endfor -%}
        {%- do run_query('drop table if exists ' ~ header_files) -%}
        {%- do run_query('create table ' ~ files_table ~ ' (' ~ header | join(', ') ~ ', _corrupt_record string) using csv options ('
            ~ options ~ ', columnNameOfCorruptRecord \'_corrupt_record\')') -%}
        {%- set columns = values | join(', ') ~ ', _corrupt_record, ' ~ file_name
            ~ ' as filename, monotonically_increasing_id() as scan_row_number' -%}
    {%- endif -%}
    {%- do run_query('create view ' ~ schema ~ '.' ~ table ~ ' as select ' ~ columns ~ ' from ' ~ files_table) -%}
    {{ return('select 1') }}
{% endmacro %}

{#-
    A relative input path as an absolute one: a table's path option is read relative to the
    table's own folder, not the project. The project folder is what is left of the first
    matching file's absolute path once the pattern's own parts are taken off its end.
-#}
{% macro clv_spark_absolute_path(path) %}
    {%- if path.startswith('/') or ':' in path.split('/')[0] -%}
        {{ return(path) }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for part in path.split('/') if part not in ('', '.') -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {%- set listed = clv_list_input_files(path) -%}
    {%- if not listed or '..' in parts or '**' in parts -%}
        {{ return(path) }}
    {%- endif -%}
    {%- set first = listed[0][0].split('/') -%}
    {{ return((first[:first | length - parts | length] + parts) | join('/')) }}
{% endmacro %}

{% macro clv_spark_encoding() %}
    {{ return({'utf-8': 'UTF-8', 'utf-16': 'UTF-16', 'latin-1': 'ISO-8859-1'}[clv_input_encoding()]) }}
{% endmacro %}

{#- Models that DuckDB loads incrementally are rebuilt whole on Spark, which has no
    delete+insert without Delta or Iceberg (docs/spark.md). -#}
{% macro clv_incremental_materialization() %}
    {{ return(adapter.dispatch('clv_incremental_materialization', 'clv_warehouse')()) }}
{% endmacro %}
{% macro default__clv_incremental_materialization() %}
    {{ return('incremental') }}
{% endmacro %}
{% macro spark__clv_incremental_materialization() %}
    {{ return('table') }}
{% endmacro %}

{#- The files an input path matches, sorted: [(path, size in bytes)]. -#}
{% macro clv_list_input_files(path) %}
    {{ return(adapter.dispatch('clv_list_input_files', 'clv_warehouse')(path)) }}
{% endmacro %}
{% macro default__clv_list_input_files(path) %}
    {%- set rows = run_query("select filename, size from read_blob(" ~ clv_quote(path) ~ ") order by filename").rows -%}
    {{ return(rows) }}
{% endmacro %}
{% macro spark__clv_list_input_files(path) %}
    {%- set rows = run_query("select regexp_replace(url_decode(path), '^file:(//)?', '') as filename, length from binaryFile."
        ~ clv_quote(path, 'identifier') ~ " order by filename").rows -%}
    {{ return(rows) }}
{% endmacro %}

{#- The columns of a query, in order: [(name, type)]. -#}
{% macro clv_describe_query(sql) %}
    {{ return(adapter.dispatch('clv_describe_query', 'clv_warehouse')(sql)) }}
{% endmacro %}
{% macro default__clv_describe_query(sql) %}
    {{ return(run_query("describe " ~ sql).rows) }}
{% endmacro %}
{% macro spark__clv_describe_query(sql) %}
    {{ return(run_query("describe query " ~ sql).rows) }}
{% endmacro %}
