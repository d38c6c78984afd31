{#-
    Every model's prediction at the backtest cutoff beside what the customer actually spent in
    the horizon after it (fully observed). One row per customer per model; the input of the
    backtest metrics (python_models/evaluation) and of marts.backtest_calibration.
-#}
with

predictions as (

    select * from {{ ref('predictions') }}
    where cutoff_role = 'backtest'

),

snapshots as (

    select * from {{ ref('training_snapshots') }}
    where cutoff_role = 'backtest'

),

final as (

    select
        -- ids
        predictions.model_name,
        predictions.customer_id,
        predictions.cutoff_date,

        -- predicted
        predictions.predicted_revenue,
        predictions.purchase_probability,
        predictions.predicted_revenue_point,
        predictions.revenue_p10,
        predictions.revenue_p50,
        predictions.revenue_p90,
        predictions.spend_if_purchase_p10,
        predictions.spend_if_purchase_p50,
        predictions.spend_if_purchase_p90,

        -- observed in [cutoff, cutoff + horizon)
        snapshots.label_revenue as actual_revenue,
        snapshots.label_has_purchase as actual_has_purchase

    from predictions
    inner join snapshots
        on predictions.customer_id = snapshots.customer_id
        and predictions.cutoff_date = snapshots.cutoff_date

)

select * from final
