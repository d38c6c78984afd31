{#-
    Nothing is lost silently: every raw row of the input (the staging view over the file)
    is in transactions or in transaction_rejections, exactly once, with the same revenue.
    Stronger than the row-count reconciliation of ingestion_reconciliation: a row lost and
    another duplicated would balance the counts but not this. Returns the offending rows.
-#}

with

raw_rows as (

    select
        source_file,
        source_row_number,
        line_revenue
    from {{ ref('int_transaction_lines_unioned') }}

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

landed_counts as (

    select
        source_file,
        source_row_number,
        count(*) as times_landed,
        min(line_revenue) as line_revenue,
        string_agg(landed_in, ', ') as landed_in
    from landed_rows
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

select * from checked
where problem is not null
