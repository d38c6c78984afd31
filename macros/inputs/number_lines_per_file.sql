{#-
    Number the rows of a raw file scan 1, 2, 3 ... within each file, in file order.

    Parquet: the reader gives each row's position in its file (file_row_number), so no window
    is needed, and a filter on the file name reaches the scan: an incremental build reads
    only the new files (models/intermediate/int_transaction_lines_audited.sql).

    CSV and text: DuckDB scans files in order and keeps that order (preserve_insertion_order,
    set in profiles.yml), so a window over the bare scan sees rows as they are in the file;
    the rows of one file are contiguous, so subtracting the first global number of each file
    restarts the count per file. The window reads every file on every build.
-#}
{% macro clv_number_lines_per_file(relation, filename_column) %}
    {{ return(adapter.dispatch('clv_number_lines_per_file', 'clv_warehouse')(relation, filename_column)) }}
{% endmacro %}

{#- Spark: _metadata.row_index (Parquet) or the scan's monotonically_increasing_id (text),
    given by the source views (macros/inputs/spark_inputs.sql). -#}
{% macro spark__clv_number_lines_per_file(relation, filename_column) %}
    select
        *,
        {{ filename_column }} as source_file,
        {%- if clv_input_path().lower().endswith('.parquet') %}
        file_row_number + 1 as file_line_number
        {%- else %}
        cast(row_number() over (partition by {{ filename_column }} order by scan_row_number) as bigint) as file_line_number
        {%- endif %}
    {%- if model.resource_type == 'unit_test' and not clv_input_path().lower().endswith('.parquet') %}
    {#- a unit test's mocked source has no scan numbers: its rows are in file order -#}
    from (select *, monotonically_increasing_id() as scan_row_number from {{ relation }}) as scanned
    {%- else %}
    from {{ relation }}
    {%- endif %}
{% endmacro %}

{% macro default__clv_number_lines_per_file(relation, filename_column) %}
    {%- if clv_input_path().lower().endswith('.parquet') %}
    select
        * exclude (file_row_number),
        {{ filename_column }} as source_file,
        file_row_number + 1 as file_line_number
    from {{ relation }}
    {%- else %}
    select
        *,
        {{ filename_column }} as source_file,
        scan_row_number
            - min(scan_row_number) over (partition by {{ filename_column }})
            + 1 as file_line_number
    from (
        select
            *,
            row_number() over () as scan_row_number
        from {{ relation }}
    ) as scanned
    {%- endif %}
{% endmacro %}
