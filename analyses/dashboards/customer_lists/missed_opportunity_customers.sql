-- Customer lists: customers who bought nothing last horizon but are predicted to spend: nudge them.

select *
from {{ ref('customer_lists') }}
where list_name = 'missed_opportunity'
    {{ customer_list_filters() }}
order by list_rank
