-- Model quality: forecast monitoring. Every earlier scoring run whose horizon has passed, per
-- model: what it predicted for the horizon against what customers then spent, with the ratio
-- (realized / predicted; outside [0.8, 1.25] is out of band), Gini, decile MAPE, interval
-- coverage and AUC. Until a run's horizon has passed, one row per model says so.

with

monitoring as (

    select * from {{ ref('forecast_monitoring') }}

),

models as (

    select distinct model_name
    from {{ ref('model_runs') }}
    where cutoff_role = 'scoring'

),

monitored as (

    select
        model_name,
        cutoff_date as run_cutoff_date,
        horizon_end_date,
        predicted_revenue,
        realized_revenue,
        realized_to_predicted_ratio,
        case
            when is_total_out_of_band then 'out of band [0.8, 1.25]'
            else 'in band'
        end as status,
        normalized_gini,
        decile_mape,
        interval_coverage_80,
        auc,
        run_started_at
    from monitoring

),

not_yet as (

    select
        models.model_name,
        cast(null as date) as run_cutoff_date,
        cast(null as date) as horizon_end_date,
        cast(null as double) as predicted_revenue,
        cast(null as double) as realized_revenue,
        cast(null as double) as realized_to_predicted_ratio,
        'no earlier run''s horizon has passed yet' as status,
        cast(null as double) as normalized_gini,
        cast(null as double) as decile_mape,
        cast(null as double) as interval_coverage_80,
        cast(null as double) as auc,
        cast(null as timestamp) as run_started_at
    from models
    where not exists (select 1 from monitoring)

),

final as (

    select * from monitored
    union all
    select * from not_yet

)

select
    model_name,
    run_cutoff_date,
    horizon_end_date,
    predicted_revenue,
    realized_revenue,
    realized_to_predicted_ratio,
    status,
    normalized_gini,
    decile_mape,
    interval_coverage_80,
    auc
from final
order by
    run_cutoff_date desc nulls last,
    run_started_at desc nulls last,
    case model_name when 'naive' then 1 when 'btyd' then 2 else 3 end
