with

features as (

    select * from {{ ref('int_customer_features_at_cutoffs') }}

),

cutoffs as (

    select * from {{ ref('cutoffs') }}

),

labels as (

    select * from {{ ref('int_customer_labels_at_cutoffs') }}

),

final as (

    select
        -- ids, dates and features (the contract orders the columns as the YAML lists them)
        features.*,

        -- the cutoff and its role
        cutoffs.cutoff_role,
        cutoffs.horizon_days,
        cutoffs.label_window_end_date,
        cutoffs.is_label_complete,
        cutoffs.is_backtest_training_cutoff,
        cutoffs.is_label_complete and not features.has_returns_exceeding_purchases
            as is_training_eligible,

        -- labels: null at the scoring cutoff, whose window is still in the future
        labels.label_revenue,
        labels.label_purchase_days,
        labels.label_orders,
        labels.label_has_purchase

    from features
    inner join cutoffs
        on features.cutoff_date = cutoffs.cutoff_date
    left join labels
        on features.customer_id = labels.customer_id
        and features.cutoff_date = labels.cutoff_date

)

select * from final
