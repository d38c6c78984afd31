-- Model quality: did every model fit at both cutoffs, and how many customers fell back to the
-- naive prediction (a model that could not fit, or an invalid output).

with

runs as (

    select * from {{ ref('model_runs') }}

),

final as (

    select
        cutoff_role,
        cutoff_date,
        model_name,
        model_version,
        status,
        message,
        training_rows,
        scored_customers,
        fallback_predictions,
        invalid_outputs
    from runs

)

select * from final
order by cutoff_role, case model_name when 'naive' then 1 when 'btyd' then 2 else 3 end
