-- Forecast monitoring's decile MAPE (computed in Python) equals the one recomputed from the
-- SQL decile table: both split customers the same way (ntile over predicted revenue desc,
-- customer_id), per run and model.
with

recomputed as (

    select
        run_id,
        model_name,
        avg(absolute_percentage_error) as decile_mape
    from {{ ref('forecast_monitoring_deciles') }}
    where mean_realized_revenue > 0
    group by run_id, model_name

)

select
    monitoring.run_id,
    monitoring.model_name,
    monitoring.decile_mape,
    recomputed.decile_mape as recomputed_decile_mape
from {{ ref('forecast_monitoring') }} as monitoring
left join recomputed
    on monitoring.run_id = recomputed.run_id
    and monitoring.model_name = recomputed.model_name
where abs(coalesce(monitoring.decile_mape, -1) - coalesce(recomputed.decile_mape, -1)) > 1e-9
