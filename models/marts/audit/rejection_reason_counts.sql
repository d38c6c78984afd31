with

rejection_reasons as (

    select * from {{ ref('rejection_reasons') }}

),

rejections as (

    select * from {{ ref('transaction_rejections') }}

),

counted as (

    select
        rejection_reason,
        count(*) as rejected_rows,
        sum(line_revenue) as rejected_revenue
    from rejections
    group by rejection_reason

),

final as (

    select
        rejection_reasons.rejection_reason,
        cast(rejection_reasons.priority as integer) as priority,
        rejection_reasons.description,
        coalesce(counted.rejected_rows, 0) as rejected_rows,
        cast(coalesce(counted.rejected_revenue, 0) as {{ clv_money_total_type() }}) as rejected_revenue
    from rejection_reasons
    left join counted
        on rejection_reasons.rejection_reason = counted.rejection_reason

)

select * from final
