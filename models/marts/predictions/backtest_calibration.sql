{#-
    One row per model and decile of predicted revenue at the backtest cutoff (decile 1 = the
    10% of customers with the highest predictions; ties by customer_id): mean predicted vs
    mean actual revenue, purchase rate vs mean probability, and the cumulative share of actual
    revenue captured from decile 1 down to this one (the cumulative gain curve).
-#}
with

outcomes as (

    select * from {{ ref('int_backtest_outcomes') }}

),

ranked as (

    select
        *,
        ntile(10) over (partition by model_name order by predicted_revenue desc, customer_id asc) as decile
    from outcomes

),

deciles as (

    select
        model_name,
        cutoff_date,
        decile,
        count(*) as customers,
        {{ clv_ordered_aggregate('sum', 'predicted_revenue', 'customer_id') }} as sum_predicted_revenue,
        {{ clv_ordered_aggregate('sum', 'actual_revenue', 'customer_id') }} as sum_actual_revenue,
        {{ clv_ordered_aggregate('avg', 'predicted_revenue', 'customer_id') }} as mean_predicted_revenue,
        {{ clv_ordered_aggregate('avg', 'actual_revenue', 'customer_id') }} as mean_actual_revenue,
        {{ clv_ordered_aggregate('avg', 'purchase_probability', 'customer_id') }} as mean_purchase_probability,
        {{ clv_share_of('actual_has_purchase') }} as actual_purchase_rate
    from ranked
    group by model_name, cutoff_date, decile

),

final as (

    select
        -- ids
        model_name,
        cutoff_date,
        cast(decile as integer) as decile,

        -- counts
        cast(customers as bigint) as customers,
        cast(sum(customers) over (partition by model_name order by decile) as double)
        / sum(customers) over (partition by model_name) as cumulative_customer_share,

        -- revenue (input currency)
        cast(mean_predicted_revenue as double) as mean_predicted_revenue,
        cast(mean_actual_revenue as double) as mean_actual_revenue,
        cast(sum_predicted_revenue as double) as sum_predicted_revenue,
        cast(sum_actual_revenue as double) as sum_actual_revenue,
        cast(sum(sum_actual_revenue) over (partition by model_name order by decile) as double)
        / nullif(sum(sum_actual_revenue) over (partition by model_name), 0) as cumulative_actual_revenue_share,

        -- purchase
        cast(mean_purchase_probability as double) as mean_purchase_probability,
        cast(actual_purchase_rate as double) as actual_purchase_rate

    from deciles

)

select * from final
