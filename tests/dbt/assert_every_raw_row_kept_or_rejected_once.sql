{#-
    Nothing is lost silently: every raw row of the input (the staging view over the file)
    is in transactions or in transaction_rejections, exactly once, with the same revenue.
    Stronger than the row-count reconciliation of ingestion_reconciliation: a row lost and
    another duplicated would balance the counts but not this. Returns the offending rows.
    Row by row for the files loaded since the last successful build (all files on a full
    rebuild; macros/inputs/incremental_load.sql), and file by file (row counts) for all.
-#}
-- depends_on: {{ ref('int_transaction_lines_audited') }}
{% set files_to_verify = clv_files_to_verify() -%}

with

raw_rows as (

    select
        source_file,
        source_row_number,
        line_revenue
    from {{ ref('int_transaction_lines_unioned') }}
    {%- if files_to_verify is not none %}
    where {{ clv_source_file_filter(files_to_verify) }}
    {%- endif %}

),

landed_rows as (

    select
        source_file,
        source_row_number,
        line_revenue,
        'transactions' as landed_in
    from {{ ref('transactions') }}
    union all
    select
        source_file,
        source_row_number,
        line_revenue,
        'transaction_rejections' as landed_in
    from {{ ref('transaction_rejections') }}

),

verified_landed_rows as (

    select * from landed_rows
    {%- if files_to_verify is not none %}
    where {{ clv_source_file_filter(files_to_verify) }}
    {%- endif %}

),

raw_file_counts as (

    select
        source_file,
        count(*) as raw_rows
    from {{ ref('int_transaction_lines_unioned') }}
    group by source_file

),

landed_file_counts as (

    select
        source_file,
        count(*) as landed_rows
    from landed_rows
    group by source_file

),

file_problems as (

    select
        coalesce(raw_file_counts.source_file, landed_file_counts.source_file) as source_file,
        cast(null as bigint) as source_row_number,
        'file has ' || coalesce(raw_file_counts.raw_rows, 0) || ' raw rows but '
        || coalesce(landed_file_counts.landed_rows, 0) || ' landed' as problem
    from raw_file_counts
    full outer join landed_file_counts
        on raw_file_counts.source_file = landed_file_counts.source_file
    where coalesce(raw_file_counts.raw_rows, 0) <> coalesce(landed_file_counts.landed_rows, 0)

),

landed_counts as (

    select
        source_file,
        source_row_number,
        count(*) as times_landed,
        min(line_revenue) as line_revenue,
        string_agg(landed_in, ', ') as landed_in
    from verified_landed_rows
    group by source_file, source_row_number

),

checked as (

    select
        coalesce(raw_rows.source_file, landed_counts.source_file) as source_file,
        coalesce(raw_rows.source_row_number, landed_counts.source_row_number) as source_row_number,
        case
            when landed_counts.source_file is null then 'raw row in neither transactions nor transaction_rejections'
            when raw_rows.source_file is null then 'row landed that is not in the raw input'
            when landed_counts.times_landed > 1 then 'row landed more than once: ' || landed_counts.landed_in
            -- differ: unequal, or only one of them null
            when
                coalesce(
                    raw_rows.line_revenue <> landed_counts.line_revenue,
                    (raw_rows.line_revenue is null) <> (landed_counts.line_revenue is null)
                )
                then 'revenue changed on the way'
        end as problem
    from raw_rows
    full outer join landed_counts
        on raw_rows.source_file = landed_counts.source_file
        and raw_rows.source_row_number = landed_counts.source_row_number

)

select
    source_file,
    source_row_number,
    problem
from checked
where problem is not null

union all

select * from file_problems
