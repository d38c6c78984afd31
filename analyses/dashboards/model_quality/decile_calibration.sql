-- Model quality: decile calibration of one model (filter: model) on the backtest. Customers are
-- ranked by predicted revenue into deciles (1 = highest); a calibrated model's mean predicted
-- revenue matches the mean actual revenue in every decile.

with

calibration as (

    select * from {{ ref('backtest_calibration') }}

),

final as (

    select
        decile,
        customers,
        mean_predicted_revenue,
        mean_actual_revenue,
        mean_purchase_probability,
        actual_purchase_rate
    from calibration
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} {{ clv_quote(var("primary_model")) }})

)

select * from final
order by decile
