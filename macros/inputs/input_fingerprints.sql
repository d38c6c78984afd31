{#-
    What each loaded input file looked like when it was loaded, in main.clv_input_files
    (source_file, size_bytes, fingerprint, recorded_at), so that an incremental build can
    tell that a file changed under the same name: its lines in the warehouse would be the old
    ones, reported reconciled (clv_check_incremental_load stops the build).

    The fingerprint is cheap, never a scan of a large file:
    - Parquet: a hash of the footer (row counts, sizes, offsets and min/max statistics of every
      column chunk, from parquet_metadata);
    - other files up to 32 MiB: the MD5 of the content;
    - larger CSV or text files: the modification time (with the size, as make and rsync do).
    Written by the post-hook of int_transaction_lines_audited: on a full build every file of
    the input, on an incremental one the files it loads for the first time.
-#}

{% macro clv_input_files_table() -%}
    main.clv_input_files
{%- endmacro %}

{% macro clv_input_file_fingerprints(path) %}
    {#- {file: {'size': bytes, 'fingerprint': text}} for every file the input path matches. -#}
    {%- set fingerprints = {} -%}
    {%- if not execute -%}
        {{ return(fingerprints) }}
    {%- endif -%}
    {%- set small_limit = 32 * 1024 * 1024 -%}
    {%- set listed = run_query(
        "select filename, size, cast(epoch_us(last_modified) as varchar) from read_blob("
        ~ clv_quote(path) ~ ") order by filename") -%}
    {%- set parquet_files = [] -%}
    {%- set small_files = [] -%}
    {%- for row in listed.rows -%}
        {%- do fingerprints.update({row[0]: {'size': row[1], 'fingerprint': 'mtime ' ~ row[2]}}) -%}
        {%- if row[0].lower().endswith('.parquet') -%}
            {%- do parquet_files.append(clv_quote(row[0])) -%}
        {%- elif row[1] <= small_limit -%}
            {%- do small_files.append(clv_quote(row[0])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if small_files -%}
        {%- for row in run_query(
            "select filename, md5(content) from read_blob([" ~ small_files | join(', ') ~ "])").rows -%}
            {%- if row[0] in fingerprints -%}
                {%- do fingerprints[row[0]].update({'fingerprint': 'md5 ' ~ row[1]}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if parquet_files -%}
        {%- for row in run_query(
            "select file_name, md5(string_agg(concat_ws('|', row_group_id, row_group_num_rows, column_id,"
            ~ " total_compressed_size, data_page_offset, stats_min, stats_max, stats_null_count), ';'"
            ~ " order by row_group_id, column_id))"
            ~ " from parquet_metadata([" ~ parquet_files | join(', ') ~ "]) group by file_name").rows -%}
            {%- if row[0] in fingerprints -%}
                {%- do fingerprints[row[0]].update({'fingerprint': 'parquet ' ~ row[1]}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(fingerprints) }}
{% endmacro %}

{% macro clv_recorded_input_files() %}
    {#- {file: {'size': bytes, 'fingerprint': text}} as recorded when each file was loaded
        ({} for a warehouse built before files were recorded). -#}
    {%- set recorded = {} -%}
    {%- if adapter.get_relation(database=target.database, schema='main', identifier='clv_input_files') is none -%}
        {{ return(recorded) }}
    {%- endif -%}
    {%- for row in run_query("select source_file, size_bytes, fingerprint from " ~ clv_input_files_table()).rows -%}
        {%- do recorded.update({row[0]: {'size': row[1], 'fingerprint': row[2]}}) -%}
    {%- endfor -%}
    {{ return(recorded) }}
{% endmacro %}

{% macro clv_check_input_files_unchanged(loaded_files) %}
    {#- Stops the build when a file loaded before now has another size or fingerprint. -#}
    {%- set recorded = clv_recorded_input_files() -%}
    {%- if not recorded -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set current = clv_input_file_fingerprints(clv_input_path()) -%}
    {%- for file in loaded_files if file in recorded and file in current -%}
        {%- set before = recorded[file] -%}
        {%- set now = current[file] -%}
        {%- if before['size'] != now['size'] or before['fingerprint'] != now['fingerprint'] -%}
            {{ exceptions.raise_compiler_error(
                "Input file " ~ file ~ " changed since it was loaded ("
                ~ ("size " ~ before['size'] ~ " -> " ~ now['size'] ~ " bytes" if before['size'] != now['size']
                   else "same size, other content")
                ~ "): the warehouse holds its old lines. Put new lines in a new file, or rebuild from every raw line:"
                ~ " dbt build --full-refresh (clv build -- --full-refresh).") }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{% macro clv_record_input_files() %}
    {{ return(adapter.dispatch('clv_record_input_files', 'clv_warehouse')()) }}
{% endmacro %}

{#- Spark rebuilds the audit table whole on every build: nothing to compare later. -#}
{% macro spark__clv_record_input_files() %}
    {{ return('select 1') }}
{% endmacro %}

{% macro default__clv_record_input_files() %}
    {#- Post-hook of int_transaction_lines_audited: remember the files just loaded. -#}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set current = clv_input_file_fingerprints(clv_input_path()) -%}
    create table if not exists {{ clv_input_files_table() }} (
        source_file varchar primary key,
        size_bytes bigint not null,
        fingerprint varchar not null,
        recorded_at timestamp not null
    );
    {% if flags.FULL_REFRESH -%}
    delete from {{ clv_input_files_table() }};
    {% endif -%}
    {%- if current %}
    insert or ignore into {{ clv_input_files_table() }} (source_file, size_bytes, fingerprint, recorded_at)
    select source_file, size_bytes, fingerprint, cast({{ clv_quote(run_started_at) }} as timestamp)
    from (values
        {%- for file, print in current.items() %}
        ({{ clv_quote(file) }}, {{ print['size'] }}, {{ clv_quote(print['fingerprint']) }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as files (source_file, size_bytes, fingerprint)
    {%- endif %}
{% endmacro %}
