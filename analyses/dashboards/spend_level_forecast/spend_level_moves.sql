-- Spend-level forecast: how many customers move up, stay or move down a level next horizon,
-- and the revenue they brought last horizon and are predicted to bring next.

with

transitions as (

    select * from {{ ref('spend_level_transitions') }}
    where cutoff_role = 'scoring'

),

classified as (

    select
        case
            when predicted_level > current_level then '1. moves up'
            when predicted_level = current_level then '2. stays'
            else '3. moves down'
        end as direction,
        customers,
        current_revenue,
        predicted_revenue
    from transitions
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} {{ clv_quote(var("primary_model")) }})

),

final as (

    select
        direction,
        sum(customers) as customers,
        sum(customers) / sum(sum(customers)) over () as customer_share,
        sum(current_revenue) as revenue_last_horizon,
        sum(predicted_revenue) as predicted_revenue_next_horizon
    from classified
    group by direction

)

select * from final
order by direction
