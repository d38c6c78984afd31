-- Customer lists: the loyalty list (Insiders): top predicted spenders with a habit of buying.

select *
from {{ ref('customer_lists') }}
where list_name = 'insiders'
    {{ customer_list_filters() }}
order by list_rank
