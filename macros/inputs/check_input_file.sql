{#-
    Fail early, and clearly, when the input cannot be read in the chosen layout.

    Called by each staging model while it compiles. Checks, in order: a path is set, it
    matches at least one file, no matching file is empty, and (for header-based layouts) the
    header names are plain text, every required column is present and no canonical column
    has two columns. Returns a dict: canonical name -> column name in the file, or none
    (and '_column_types': column name in the file -> its type, when the file was described).

    `spec` maps each canonical column to the names it may have in the file (compared without
    case, spaces or underscores, so "Customer ID", "customer_id" and "CustomerID" all match).
    Canonical columns mapped to no name, or listed in `optional`, may be absent.

    Header names are data: whatever a header cell holds, it reaches SQL only through
    clv_quote(name, 'identifier'), never pasted.
-#}

{% macro clv_normalized_column_name(name) %}
    {{ return(modules.re.sub('[^a-z0-9]', '', name | string | lower)) }}
{% endmacro %}

{#- Column names for a message, long ones cut at 60 characters. -#}
{% macro clv_shown_names(names) %}
    {%- set shown = [] -%}
    {%- for name in names -%}
        {%- do shown.append(name[:60] ~ ('...' if name | length > 60 else '')) -%}
    {%- endfor -%}
    {{ return(shown | join(', ')) }}
{% endmacro %}

{#- The header names of a header-based input (without the reader's own columns) with their
    types, in file order, refusing a name that holds a control character (a line break, tab or
    NUL inside a quoted cell). -#}
{% macro clv_checked_header(source_relation, first_file) %}
    {%- set header = {} -%}
    {%- for row in clv_describe_query("select * from " ~ source_relation)
        if row[0] not in clv_reader_columns() -%}
        {%- if modules.re.search('[\x00-\x1f\x7f]', row[0]) -%}
            {{ exceptions.raise_compiler_error(
                "Input file " ~ first_file ~ ": header column " ~ loop.index ~ " (" ~ tojson(row[0][:60])
                ~ ") holds a line break or another control character, which a column name cannot."
                ~ " Fix the header line (the first line) of the file.") }}
        {%- endif -%}
        {%- do header.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {{ return(header) }}
{% endmacro %}

{% macro clv_check_input_file(source_relation, layout, spec={}, optional=[]) %}
    {%- set resolved = {} -%}
    {%- for canonical, candidates in spec.items() -%}
        {#- While parsing, and in unit tests (whose mocked input has these names), the first
            candidate stands in for the real name. -#}
        {%- do resolved.update({canonical: (candidates[0] if candidates else none)}) -%}
    {%- endfor -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(resolved) }}
    {%- endif -%}

    {%- set path = clv_input_path() -%}
    {%- set hint = " Set the file with --vars '{input_path: ...}' or CLV_INPUT_PATH (relative paths are read from the project directory; globs such as data/*.csv are allowed)." -%}
    {%- if path == '' -%}
        {{ exceptions.raise_compiler_error("No input file given for the " ~ layout ~ " layout." ~ hint) }}
    {%- endif -%}
    {%- do clv_input_encoding() -%}

    {%- set files, empty_files = clv_input_files_and_empty_ones(path) -%}
    {%- if files | length == 0 -%}
        {{ exceptions.raise_compiler_error("Input file not found: no file matches '" ~ path ~ "' (layout " ~ layout ~ ")." ~ hint) }}
    {%- endif -%}
    {%- do clv_check_input_kinds(path, files, layout) -%}
    {%- if empty_files | length > 0 -%}
        {{ exceptions.raise_compiler_error("Input file " ~ empty_files[0] ~ " is empty (0 bytes): there is nothing to load. Remove it or point input_path elsewhere.") }}
    {%- endif -%}
    {%- if spec | length == 0 -%}
        {{ return(resolved) }}
    {%- endif -%}

    {%- set column_types = clv_checked_header(source_relation, files[0]) -%}
    {%- set header = column_types.keys() | list -%}
    {#- each file column's type, for clv_raw_text_column (timestamps with time zone) -#}
    {%- do resolved.update({'_column_types': column_types}) -%}
    {%- set missing = [] -%}
    {%- for canonical, candidates in spec.items() if candidates -%}
        {%- set keys = [] -%}
        {%- for candidate in candidates -%}
            {%- do keys.append(clv_normalized_column_name(candidate)) -%}
        {%- endfor -%}
        {%- set matches = [] -%}
        {%- for name in header if clv_normalized_column_name(name) in keys -%}
            {%- do matches.append(name) -%}
        {%- endfor -%}
        {%- if matches | length > 1 -%}
            {{ exceptions.raise_compiler_error(
                "Input file " ~ files[0] ~ " (layout " ~ layout ~ ") has " ~ matches | length
                ~ " columns for " ~ canonical ~ ": " ~ clv_shown_names(matches)
                ~ " (names are compared without case, spaces or underscores). Remove or rename all but one of them"
                ~ (", or map generic_columns." ~ canonical ~ " to a name no other column has." if layout == 'generic' else ".")) }}
        {%- elif matches | length == 1 -%}
            {%- do resolved.update({canonical: matches[0]}) -%}
        {%- elif canonical in optional -%}
            {%- do resolved.update({canonical: none}) -%}
        {%- else -%}
            {%- do missing.append(canonical ~ " (looked for " ~ candidates | join(' or ') ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Input file " ~ files[0] ~ " (layout " ~ layout ~ ") lacks required column(s): "
            ~ missing | join('; ') ~ ". Columns found: " ~ clv_shown_names(header)
            ~ ". Check the delimiter and header line, rename the columns, or use the generic layout with a generic_columns mapping.") }}
    {%- endif -%}
    {{ return(resolved) }}
{% endmacro %}

{#-
    is_malformed_line of a header-based CSV file: a line with fewer fields than the header
    (cut off, as the last line of an interrupted export is) or, among the lines DuckDB samples
    to detect the dialect, more. The source reads such files with null_padding and
    nullstr = chr(1): an empty field is '' and only a field the line lacks is null, while
    fields beyond the header land in extra columns. The header's own field count comes from
    its first line read without a header. (A longer line after the sample stops the scan with
    DuckDB's "Expected Number of Columns" error, which clv_explain_input_errors explains.)
    Parquet files have no lines: false.
-#}
{% macro clv_line_field_check(source_relation) %}
    {{ return(adapter.dispatch('clv_line_field_check', 'clv_warehouse')(source_relation)) }}
{% endmacro %}

{#- Spark's CSV reader marks a line with more or fewer fields than the header as corrupt
    (macros/inputs/spark_inputs.sql reads with a _corrupt_record column). -#}
{% macro spark__clv_line_field_check(source_relation) %}
    {%- if not execute or model.resource_type == 'unit_test' or clv_input_path().lower().endswith('.parquet') -%}
        {{ return('false') }}
    {%- endif -%}
    {{ return('(_corrupt_record is not null)') }}
{% endmacro %}

{% macro default__clv_line_field_check(source_relation) %}
    {%- if not execute or model.resource_type == 'unit_test' or clv_input_path().lower().endswith('.parquet') -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set relation_sql = source_relation | string -%}
    {%- set header_line = run_query(
        "select * exclude (filename) from " ~ relation_sql.rsplit('header = true', 1) | join('header = false') ~ " limit 1") -%}
    {%- set header_fields = header_line.rows[0] | reject('none') | list | length if header_line.rows else 0 -%}
    {%- set checks = [] -%}
    {%- for row in run_query("describe select * from " ~ relation_sql).rows if row[0] != 'filename' -%}
        {%- do checks.append(clv_quote(row[0], 'identifier') ~ (' is null' if loop.index <= header_fields else ' is not null')) -%}
    {%- endfor -%}
    {{ return('(' ~ (checks | join(' or ') or 'false') ~ ')') }}
{% endmacro %}

{#-
    Fail when the input holds no data row at all (a header alone, or blank lines): a build on
    nothing would succeed with empty tables and look like a customer base without customers.
    Runs while int_transaction_lines_unioned compiles, once the staging view exists (when it
    does not, as when sqlfluff compiles, there is nothing to look at).
-#}
{% macro clv_check_input_has_rows(staged_relation, layout) %}
    {%- if not execute or model.resource_type == 'unit_test' or load_relation(staged_relation) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if run_query("select 1 from " ~ staged_relation ~ " limit 1").rows | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "Input " ~ clv_input_path() ~ " (layout " ~ layout ~ ") has no data rows: only a header line or blank lines."
            ~ " There is nothing to load. Point input_path at the export that holds the transactions.") }}
    {%- endif -%}
{% endmacro %}

{#- The columns the readers add to a file's own (not header names). -#}
{% macro clv_reader_columns() %}
    {{ return(adapter.dispatch('clv_reader_columns', 'clv_warehouse')()) }}
{% endmacro %}
{% macro default__clv_reader_columns() %}
    {{ return(['filename', 'file_row_number']) }}
{% endmacro %}
{% macro spark__clv_reader_columns() %}
    {{ return(['filename', 'file_row_number', 'scan_row_number', '_corrupt_record']) }}
{% endmacro %}

{#- ([every file the path matches], [those of them that are empty]), both sorted. -#}
{% macro clv_input_files_and_empty_ones(path) %}
    {{ return(adapter.dispatch('clv_input_files_and_empty_ones', 'clv_warehouse')(path)) }}
{% endmacro %}
{% macro default__clv_input_files_and_empty_ones(path) %}
    {%- set files = run_query("select file from glob(" ~ clv_quote(path) ~ ") order by file") -%}
    {%- if files.rows | length == 0 -%}
        {{ return(([], [])) }}
    {%- endif -%}
    {%- set sizes = run_query("select filename, size from read_blob(" ~ clv_quote(path) ~ ") where size = 0 order by filename") -%}
    {{ return((files.columns[0].values() | list, sizes.columns[0].values() | list)) }}
{% endmacro %}
{% macro spark__clv_input_files_and_empty_ones(path) %}
    {%- set listed = clv_list_input_files(path) -%}
    {%- set files = [] -%}
    {%- set empty_files = [] -%}
    {%- for row in listed -%}
        {%- do files.append(row[0]) -%}
        {%- if row[1] == 0 -%}{%- do empty_files.append(row[0]) -%}{%- endif -%}
    {%- endfor -%}
    {{ return((files, empty_files)) }}
{% endmacro %}
