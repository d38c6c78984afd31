{#-
    The lines int_transaction_lines_audited classifies in this build, with `columns`: every
    line of the files it does not hold yet (`loaded_files` are the ones it holds), and on an
    incremental build the lines it rejected only for their date, which a moved as-of date may
    now allow. `with_loaded_at` adds when each line was first loaded.

    A macro, not a CTE, because the model reads the batch three times (the lines, the hashes
    of their raw values, the raw values of repeated hashes): DuckDB materializes a CTE that is
    read more than once, and a materialized copy of every raw line, wide with raw and parsed
    values, spilled gigabytes at 100M lines.
-#}
{% macro clv_audit_batch(unioned, audited, loaded_files, columns, with_loaded_at=false) %}
    select
        {{ columns | join(', ') }}
        {%- if with_loaded_at %},
        cast('{{ run_started_at }}' as timestamp) as loaded_at
        {%- endif %}
    from {{ unioned }}
    {%- if loaded_files %}
    where not {{ clv_source_file_filter(loaded_files) }}
    {%- endif %}
    {%- if is_incremental() %}
    union all
    select
        {{ columns | join(', ') }}
        {%- if with_loaded_at %},
        loaded_at
        {%- endif %}
    from {{ audited }}
    where rejection_reason = 'date_after_as_of'
    {%- endif %}
{% endmacro %}
