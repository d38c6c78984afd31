-- Where the rejected rows are: per input file and reason, how many rows, the first few row
-- numbers to look at, and the revenue they would have carried. Compile with
-- `dbt compile --select rejections_by_file_and_reason` and run the SQL in target/compiled.

with

rejections as (

    select * from {{ ref('transaction_rejections') }}

),

grouped as (

    select
        source_file,
        rejection_reason,
        count(*) as rejected_rows,
        min(source_row_number) as first_row,
        max(source_row_number) as last_row,
        sum(line_revenue) as rejected_revenue
    from rejections
    group by source_file, rejection_reason

)

select * from grouped
order by source_file asc, rejected_rows desc
