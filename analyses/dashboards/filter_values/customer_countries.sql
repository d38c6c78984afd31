-- Filter values: the countries of the customers on a list, for the country filter (none when
-- the input layout has no country).

with

lists as (

    select * from {{ ref('customer_lists') }}

)

select distinct country from lists
where country is not null
order by country
