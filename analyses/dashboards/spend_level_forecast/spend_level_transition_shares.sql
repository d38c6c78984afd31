-- Spend-level forecast: transition matrix as row shares: of the customers at each current
-- level, the share predicted at each level next horizon (each row sums to 1).

with

transitions as (

    select * from {{ ref('spend_level_transitions') }}
    where cutoff_role = 'scoring'

),

final as (

    select
        cast(current_level as string) || '. ' || current_level_name as current_level,
        cast(predicted_level as string) || '. ' || predicted_level_name as predicted_level,
        row_share
    from transitions
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} {{ clv_quote(var("primary_model")) }})

)

select * from final
order by current_level, predicted_level
