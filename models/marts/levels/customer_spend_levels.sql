{#-
    One row per customer per model at the backtest and scoring cutoffs: the spend level of
    the last horizon (current), the level the model predicts for the next horizon, and at the
    backtest cutoff the level actually reached.

    Predicted level: 0 ("no purchase") when the predicted purchase probability is below
    level_purchase_probability_threshold; otherwise the level of the expected spend if the
    customer buys, predicted_revenue / purchase_probability (at least level 1). The level of
    predicted_revenue itself would put nearly everyone in a low level: it is an expectation
    that mixes "may not buy" with "how much if so".
-#}
{%- set threshold = clv_number_var('level_purchase_probability_threshold') -%}

with

predictions as (

    select * from {{ ref('predictions') }}

),

snapshots as (

    select * from {{ ref('training_snapshots') }}
    where cutoff_role in ('backtest', 'scoring')

),

levels as (

    select * from {{ ref('int_spend_levels_of_horizon') }}

),

joined as (

    select
        predictions.customer_id,
        predictions.cutoff_date,
        predictions.cutoff_role,
        predictions.model_name,
        snapshots.revenue_last_horizon as current_revenue,
        predictions.predicted_revenue,
        predictions.purchase_probability,
        case
            when predictions.purchase_probability >= {{ threshold }}
                then predictions.predicted_revenue / predictions.purchase_probability
        end as expected_revenue_if_purchase,
        snapshots.label_revenue as actual_revenue
    from predictions
    inner join snapshots
        on predictions.customer_id = snapshots.customer_id
        and predictions.cutoff_date = snapshots.cutoff_date

),

final as (

    select
        -- ids
        joined.customer_id,
        joined.cutoff_date,
        joined.cutoff_role,
        joined.model_name,

        -- revenue (input currency)
        joined.current_revenue,
        joined.predicted_revenue,
        joined.purchase_probability,
        joined.expected_revenue_if_purchase,
        joined.actual_revenue,

        -- levels
        cast(coalesce(current_levels.spend_level, 0) as integer) as current_level,
        cast(
            case
                when joined.expected_revenue_if_purchase is null then 0
                else greatest(coalesce(predicted_levels.spend_level, 1), 1)
            end as integer
        ) as predicted_level,
        cast(
            case when joined.actual_revenue is not null then coalesce(actual_levels.spend_level, 0) end
            as integer
        ) as actual_level

    from joined
    left join levels as current_levels
        on {{ spend_level_matches('current_levels', 'joined.current_revenue') }}
    left join levels as predicted_levels
        on {{ spend_level_matches('predicted_levels', 'joined.expected_revenue_if_purchase') }}
    left join levels as actual_levels
        on {{ spend_level_matches('actual_levels', 'joined.actual_revenue') }}

)

select * from final
