-- Customer lists: the top customers by predicted revenue next horizon: keep them close.

select *
from {{ ref('customer_lists') }}
where list_name = 'high_value'
    {{ customer_list_filters() }}
order by list_rank
