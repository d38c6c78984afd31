-- Customer lists: recently valuable customers who are unlikely to buy again: win them back.

select *
from {{ ref('customer_lists') }}
where list_name = 'churn_risk'
    {{ customer_list_filters() }}
order by list_rank
