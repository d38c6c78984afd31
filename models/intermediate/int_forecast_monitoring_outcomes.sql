{#-
    Every earlier scoring run's forecast beside what the customer then spent: one row per
    run, model and customer of marts.prediction_history at a scoring cutoff C whose horizon
    has fully passed, C + horizon_days <= this build's scoring cutoff (the warehouse's as-of
    date, the end of its data). Realized revenue is defined as the label of the training
    snapshots: net revenue of purchase days in [C, C + horizon_days), from the customer-day
    aggregate as it is now (late lines that arrived since the run count). The horizon is the
    one the run forecast (its horizon_days column). The input of the monitoring metrics
    (python_models/evaluation) and of marts.forecast_monitoring_deciles.
-#}
with

history as (

    select * from {{ ref('prediction_history') }}
    where cutoff_role = 'scoring'

),

current_cutoff as (

    select max(scoring_cutoff_date) as scoring_cutoff_date
    from {{ ref('cutoffs') }}

),

customer_days as (

    select * from {{ ref('int_orders_grouped_to_days') }}

),

matured as (

    select
        history.*,
        cast({{ dbt.dateadd('day', 'history.horizon_days', 'history.cutoff_date') }} as date)
            as horizon_end_date
    from history
    cross join current_cutoff
    where {{ dbt.dateadd('day', 'history.horizon_days', 'history.cutoff_date') }}
        <= current_cutoff.scoring_cutoff_date

),

run_windows as (

    select distinct
        customer_id,
        cutoff_date,
        horizon_end_date
    from matured

),

realized as (

    select
        run_windows.customer_id,
        run_windows.cutoff_date,
        run_windows.horizon_end_date,
        sum(case when customer_days.is_purchase_day then customer_days.net_revenue else 0 end)
            as realized_revenue,
        count(case when customer_days.is_purchase_day then 1 end) as realized_purchase_days
    from run_windows
    inner join customer_days
        on run_windows.customer_id = customer_days.customer_id
        and run_windows.cutoff_date <= customer_days.order_date
        and run_windows.horizon_end_date > customer_days.order_date
    group by run_windows.customer_id, run_windows.cutoff_date, run_windows.horizon_end_date

),

final as (

    select
        -- ids
        matured.run_id,
        matured.run_started_at,
        matured.model_name,
        matured.model_version,
        matured.customer_id,

        -- dates
        matured.cutoff_date,
        matured.horizon_days,
        matured.horizon_end_date,

        -- predicted
        matured.predicted_revenue,
        matured.purchase_probability,
        matured.predicted_revenue_point,
        matured.revenue_p10,
        matured.revenue_p50,
        matured.revenue_p90,
        matured.spend_if_purchase_p10,
        matured.spend_if_purchase_p50,
        matured.spend_if_purchase_p90,
        matured.is_fallback,

        -- realized in [cutoff, cutoff + horizon)
        cast(coalesce(realized.realized_revenue, 0) as double) as actual_revenue,
        coalesce(realized.realized_purchase_days, 0) > 0 as actual_has_purchase

    from matured
    left join realized
        on matured.customer_id = realized.customer_id
        and matured.cutoff_date = realized.cutoff_date
        and matured.horizon_end_date = realized.horizon_end_date

)

select * from final
