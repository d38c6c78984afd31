-- Model quality: what customers spent in the backtest horizon vs what each model predicted.

with

metrics as (

    select * from {{ ref('backtest_metrics') }}

),

final as (

    select
        model_name,
        actual_revenue,
        predicted_revenue
    from metrics

)

select * from final
order by case model_name when 'naive' then 1 when 'btyd' then 2 else 3 end
