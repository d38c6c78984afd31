with

features as (

    select * from {{ ref('int_customer_features_at_cutoffs') }}

),

scoring_cutoff as (

    select cutoff_date from {{ ref('cutoffs') }}
    where cutoff_role = 'scoring'

),

final as (

    select features.*
    from features
    inner join scoring_cutoff
        on features.cutoff_date = scoring_cutoff.cutoff_date

)

select * from final
