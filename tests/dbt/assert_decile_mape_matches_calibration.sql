-- The decile MAPE the Python metrics compute equals the one recomputed from the SQL decile
-- table: both split customers the same way (ntile over predicted revenue desc, customer_id).
-- (The reference forecasts have no predictions, so no decile table.)
with

recomputed as (

    select
        model_name,
        avg(abs(mean_predicted_revenue - mean_actual_revenue) / mean_actual_revenue) as decile_mape
    from {{ ref('backtest_calibration') }}
    where mean_actual_revenue > 0
    group by model_name

)

select
    metrics.model_name,
    metrics.decile_mape,
    recomputed.decile_mape as recomputed_decile_mape
from {{ ref('backtest_metrics') }} as metrics
left join recomputed
    on metrics.model_name = recomputed.model_name
where
    not metrics.is_reference
    and abs(coalesce(metrics.decile_mape, -1) - coalesce(recomputed.decile_mape, -1)) > 1e-9
