{#-
    Number the rows of a raw file scan 1, 2, 3 ... within each file, in file order.
    DuckDB scans files in order and keeps that order (preserve_insertion_order, set in
    profiles.yml), so a window over the bare scan sees rows as they are in the file; the
    rows of one file are contiguous, so subtracting the first global number of each file
    restarts the count per file.
-#}
{% macro clv_number_lines_per_file(relation, filename_column) %}
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
{% endmacro %}
