with

features as (

    select * from {{ ref('int_customer_features_at_cutoffs') }}

),

cutoffs as (

    select * from {{ ref('cutoffs') }}

),

final as (

    select
        -- ids
        features.customer_id,
        features.cutoff_date,
        cutoffs.cutoff_role,

        -- lifetimes format (time unit: days)
        cast(features.frequency as double) as frequency,
        cast(features.recency as double) as recency,
        cast(features.{{ adapter.quote('T') }} as double) as {{ adapter.quote('T') }},
        features.monetary_value

    from features
    inner join cutoffs
        on features.cutoff_date = cutoffs.cutoff_date

)

select * from final
