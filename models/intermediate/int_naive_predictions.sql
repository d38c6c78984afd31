{#-
    The naive model, at the backtest and scoring cutoffs: next horizon's revenue = the last
    horizon's revenue (revenue_last_horizon). Its purchase probability is the share of customers
    who bought in the next horizon among the training rows in the same group (bought in the last
    horizon, or not): at the backtest cutoff from the cutoffs whose labels end by it, at the
    scoring cutoff from every labelled cutoff. Without any training row (a history shorter than
    the horizon) nothing says how often customers buy again: the probability is 0.5 and
    is_rate_estimated false, which model_runs reports (status unvalidated).
-#}
with

snapshots as (

    select * from {{ ref('training_snapshots') }}

),

training_rows as (

    select
        'backtest' as scored_role,
        purchase_days_last_horizon > 0 as bought_last_horizon,
        label_has_purchase
    from snapshots
    where is_training_eligible and is_backtest_training_cutoff

    union all

    select
        'scoring' as scored_role,
        purchase_days_last_horizon > 0 as bought_last_horizon,
        label_has_purchase
    from snapshots
    where is_training_eligible and is_label_complete

),

repeat_rates as (

    select
        scored_role,
        bought_last_horizon,
        {{ clv_share_of('label_has_purchase') }} as purchase_rate
    from training_rows
    group by scored_role, bought_last_horizon

),

scored as (

    select
        customer_id,
        cutoff_date,
        cutoff_role,
        revenue_last_horizon,
        purchase_days_last_horizon > 0 as bought_last_horizon
    from snapshots
    where cutoff_role in ('backtest', 'scoring')

),

final as (

    select
        -- ids
        scored.customer_id,
        scored.cutoff_date,
        scored.cutoff_role,

        -- predictions
        scored.revenue_last_horizon as predicted_revenue,
        coalesce(repeat_rates.purchase_rate, 0.5) as purchase_probability,

        -- flags
        repeat_rates.purchase_rate is not null as is_rate_estimated

    from scored
    left join repeat_rates
        on scored.cutoff_role = repeat_rates.scored_role
        and scored.bought_last_horizon = repeat_rates.bought_last_horizon

)

select * from final
