-- Customer lists: every customer on a list (or on the list chosen in the segment filter),
-- with what a marketer needs to act: forecast, levels, recent behaviour, country, and the
-- feature that drives the forecast most.

select *
from {{ ref('customer_lists') }}
where true
    {{ metabase_optional('and list_name = ', 'segment') }}
    {{ customer_list_filters() }}
order by list_name, list_rank
