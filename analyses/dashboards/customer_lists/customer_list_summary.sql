-- Customer lists: how many customers each list holds and what they are predicted to spend
-- next horizon, under the dashboard's filters.

with

lists as (

    select * from {{ ref('customer_lists') }}

),

final as (

    select
        list_name,
        count(*) as customers,
        sum(predicted_revenue) as predicted_revenue_next_horizon,
        avg(purchase_probability) as avg_purchase_probability
    from lists
    where true
        {{ metabase_optional('and list_name = ', 'segment') }}
        {{ customer_list_filters() }}
    group by list_name

)

select * from final
order by list_name
