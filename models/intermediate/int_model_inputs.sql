{#-
    What XGBoost trains and scores on: every training snapshot (customer x cutoff, features and
    labels) with the baseline's outputs at the same cutoff as extra features. The baseline at
    cutoff C is fitted on data before C only, so these features are as leakage-free as the rest.
-#}
with

snapshots as (

    select * from {{ ref('training_snapshots') }}

),

baseline as (

    select * from {{ ref('btyd_customer_predictions') }}

),

final as (

    select
        snapshots.*,

        -- the baseline at the same cutoff (null where it was not fitted or not valid)
        baseline.expected_purchases as btyd_expected_purchases,
        baseline.p_alive as btyd_p_alive,
        baseline.purchase_probability as btyd_purchase_probability,
        baseline.predicted_revenue as btyd_predicted_revenue

    from snapshots
    left join baseline
        on snapshots.customer_id = baseline.customer_id
        and snapshots.cutoff_date = baseline.cutoff_date

)

select * from final
