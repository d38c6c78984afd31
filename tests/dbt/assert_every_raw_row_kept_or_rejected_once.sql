{#-
    Nothing is lost silently: every raw row of the input (the staging view over the file)
    is in transactions or in transaction_rejections, exactly once, with the same revenue.
    Stronger than the row-count reconciliation of ingestion_reconciliation: a row lost and
    another duplicated would balance the counts but not this. Returns the offending rows.

    File by file, for all files: as many rows landed as the file has. For the files loaded
    since the last successful build (all files on a full rebuild; see
    macros/inputs/incremental_load.sql), also a checksum of their rows: the exact sum of a
    64-bit hash of each row's number and revenue, over the raw rows and over the landed rows.
    A row lost, doubled, foreign or with another revenue changes it (unless hashes cancel
    out, a chance of about 2^-64). Only the files whose checksum differs are then joined row
    by row, to name the offending rows. So a passing build scans the input and the audit
    table once each, in constant memory, instead of joining hundreds of millions of rows.
-#}
-- depends_on: {{ ref('int_transaction_lines_audited') }}
{% set files_to_verify = clv_files_to_verify() -%}
{%- set verified = clv_source_file_filter(files_to_verify) if files_to_verify is not none else 'true' -%}
{%- set row_hash = clv_hash(['source_row_number', 'line_revenue'], summable=true) -%}
{%- set row_checksum = 'sum(case when ' ~ verified ~ ' then ' ~ row_hash ~ ' end)' -%}

with

raw_files as (

    select
        source_file,
        count(*) as raw_rows,
        {{ row_checksum }} as raw_checksum
    from {{ ref('int_transaction_lines_unioned') }}
    group by source_file

),

landed_files as (

    select
        source_file,
        count(*) as landed_rows,
        {{ row_checksum }} as landed_checksum
    from (
        select
            source_file,
            source_row_number,
            line_revenue
        from {{ ref('transactions') }}
        union all
        select
            source_file,
            source_row_number,
            line_revenue
        from {{ ref('transaction_rejections') }}
    ) as landed
    group by source_file

),

compared_files as (

    select
        coalesce(raw_files.source_file, landed_files.source_file) as source_file,
        coalesce(raw_files.raw_rows, 0) as raw_rows,
        coalesce(landed_files.landed_rows, 0) as landed_rows,
        coalesce(
            raw_files.raw_checksum <> landed_files.landed_checksum,
            (raw_files.raw_checksum is null) <> (landed_files.landed_checksum is null)
        ) as has_checksum_difference
    from raw_files
    full outer join landed_files
        on raw_files.source_file = landed_files.source_file

),

files_to_compare_by_row as (

    select source_file
    from compared_files
    where has_checksum_difference

),

file_problems as (

    select
        source_file,
        cast(null as bigint) as source_row_number,
        'file has ' || raw_rows || ' raw rows but ' || landed_rows || ' landed' as problem
    from compared_files
    where raw_rows <> landed_rows

),

-- row by row, only in files whose checksum differs. The landed union is written again here,
-- not shared with landed_files as one CTE: DuckDB materializes a CTE that is read twice, which
-- would hold every landed row of every file in memory.
raw_rows as (

    select
        source_file,
        source_row_number,
        line_revenue
    from {{ ref('int_transaction_lines_unioned') }}
    where source_file in (select files_to_compare_by_row.source_file from files_to_compare_by_row)

),

landed_rows as (

    select
        source_file,
        source_row_number,
        line_revenue
    from {{ ref('transactions') }}
    where source_file in (select files_to_compare_by_row.source_file from files_to_compare_by_row)
    union all
    select
        source_file,
        source_row_number,
        line_revenue
    from {{ ref('transaction_rejections') }}
    where source_file in (select files_to_compare_by_row.source_file from files_to_compare_by_row)

),

row_problems as (

    select
        coalesce(raw_rows.source_file, landed_rows.source_file) as source_file,
        coalesce(raw_rows.source_row_number, landed_rows.source_row_number) as source_row_number,
        case
            when landed_rows.source_file is null then 'raw row in neither transactions nor transaction_rejections'
            when raw_rows.source_file is null then 'row landed that is not in the raw input'
            -- differ: unequal, or only one of them null
            when
                coalesce(
                    raw_rows.line_revenue <> landed_rows.line_revenue,
                    (raw_rows.line_revenue is null) <> (landed_rows.line_revenue is null)
                )
                then 'revenue changed on the way'
        end as problem
    from raw_rows
    full outer join landed_rows
        on raw_rows.source_file = landed_rows.source_file
        and raw_rows.source_row_number = landed_rows.source_row_number

),

kept_and_rejected as (

    select
        kept.source_file,
        kept.source_row_number,
        'row landed more than once: transactions, transaction_rejections' as problem
    from {{ ref('transactions') }} as kept
    inner join {{ ref('transaction_rejections') }} as rejected
        on kept.source_file = rejected.source_file
        and kept.source_row_number = rejected.source_row_number
    {%- if files_to_verify is not none %}
    where {{ clv_source_file_filter(files_to_verify, 'kept.source_file') }}
    {%- endif %}

)

select
    source_file,
    source_row_number,
    problem
from row_problems
where problem is not null

union all

select * from kept_and_rejected

union all

select * from file_problems
