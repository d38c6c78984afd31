{#-
    One row per earlier scoring run (horizon passed), model and decile of predicted revenue
    (decile 1 = the 10% of customers with the highest predictions; ties by customer_id): mean
    predicted vs mean realized revenue and purchase rate. marts.forecast_monitoring's
    decile_mape is the mean over these deciles (with realized revenue) of
    |mean predicted - mean realized| / mean realized.
-#}
with

outcomes as (

    select * from {{ ref('int_forecast_monitoring_outcomes') }}

),

ranked as (

    select
        *,
        ntile(10) over (
            partition by run_id, model_name order by predicted_revenue desc, customer_id asc
        ) as decile
    from outcomes

),

deciles as (

    select
        run_id,
        model_name,
        cutoff_date,
        decile,
        count(*) as customers,
        {{ clv_ordered_aggregate('sum', 'predicted_revenue', 'customer_id') }} as sum_predicted_revenue,
        {{ clv_ordered_aggregate('sum', 'actual_revenue', 'customer_id') }} as sum_realized_revenue,
        {{ clv_ordered_aggregate('avg', 'predicted_revenue', 'customer_id') }} as mean_predicted_revenue,
        {{ clv_ordered_aggregate('avg', 'actual_revenue', 'customer_id') }} as mean_realized_revenue,
        {{ clv_ordered_aggregate('avg', 'purchase_probability', 'customer_id') }} as mean_purchase_probability,
        {{ clv_share_of('actual_has_purchase') }} as realized_purchase_rate
    from ranked
    group by run_id, model_name, cutoff_date, decile

),

final as (

    select
        -- ids
        run_id,
        model_name,
        cast(cutoff_date as date) as cutoff_date,
        cast(decile as integer) as decile,

        -- counts
        cast(customers as bigint) as customers,

        -- revenue (input currency)
        cast(mean_predicted_revenue as double) as mean_predicted_revenue,
        cast(mean_realized_revenue as double) as mean_realized_revenue,
        cast(sum_predicted_revenue as double) as sum_predicted_revenue,
        cast(sum_realized_revenue as double) as sum_realized_revenue,
        cast(
            abs(mean_predicted_revenue - mean_realized_revenue) / nullif(mean_realized_revenue, 0)
            as double
        ) as absolute_percentage_error,

        -- purchase
        cast(mean_purchase_probability as double) as mean_purchase_probability,
        cast(realized_purchase_rate as double) as realized_purchase_rate

    from deciles

)

select * from final
