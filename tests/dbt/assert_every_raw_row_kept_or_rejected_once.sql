{#-
    Nothing is lost silently: every raw row of the input (the staging view over the file)
    is in transactions or in transaction_rejections, exactly once, with the same revenue.
    Stronger than the row-count reconciliation of ingestion_reconciliation: a row lost and
    another duplicated would balance the counts but not this. Returns the offending rows.

    Row by row for the files loaded since the last successful build (all files on a full
    rebuild; macros/inputs/incremental_load.sql): every raw row landed, every landed row is
    a raw row with the same revenue, and no row is in both marts. File by file, for all
    files: as many rows landed as the file has, so with the row checks (and the keys being
    unique in the raw input) each raw row landed exactly once.

    Written to scale to hundreds of millions of rows: no CTE is read twice (DuckDB would
    materialize it) and nothing is grouped by row, only joined.
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
        line_revenue
    from {{ ref('transactions') }}
    {%- if files_to_verify is not none %}
    where {{ clv_source_file_filter(files_to_verify) }}
    {%- endif %}
    union all
    select
        source_file,
        source_row_number,
        line_revenue
    from {{ ref('transaction_rejections') }}
    {%- if files_to_verify is not none %}
    where {{ clv_source_file_filter(files_to_verify) }}
    {%- endif %}

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
        transactions.source_file,
        transactions.source_row_number,
        'row landed more than once: transactions, transaction_rejections' as problem
    from {{ ref('transactions') }} as transactions
    inner join {{ ref('transaction_rejections') }} as transaction_rejections
        on transactions.source_file = transaction_rejections.source_file
        and transactions.source_row_number = transaction_rejections.source_row_number

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
    from (
        select source_file from {{ ref('transactions') }}
        union all
        select source_file from {{ ref('transaction_rejections') }}
    ) as landed
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
