{#-
    Every customer's RFM summary (lifetimes format, days) at the training end
    (cutoffs.training_end_date, the start of the scoring cutoff's month): what the production
    BG/NBD + Gamma-Gamma fit of a training build is fitted on (python_models/btyd/btyd_fits.py),
    so that every day of the month applies the same parameters, in a training build and in
    each `clv score` after it. The same definitions as marts.customer_rfm: the features macro
    at that one cutoff. Not rebuilt by a score build.
-#}

with

features as (

    {{ customer_features_as_of(
        customer_days=ref('int_orders_grouped_to_days'),
        items=ref('int_customer_items_first_seen'),
        cutoffs='(select distinct training_end_date as cutoff_date from ' ~ ref('cutoffs') ~ ') as training_end',
    ) | indent(4) }}

),

final as (

    select
        -- ids
        customer_id,
        cutoff_date as training_end_date,

        -- lifetimes format (time unit: days)
        cast(frequency as double) as frequency,
        cast(recency as double) as recency,
        cast({{ adapter.quote('T') }} as double) as {{ adapter.quote('T') }},
        monetary_value

    from features

)

select * from final
