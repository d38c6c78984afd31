-- Model quality: cumulative gain on the backtest. Customers ranked by each model's predicted
-- revenue, best first: the share of actual revenue captured by the top x% of customers. The
-- "random" line is what a ranking without skill captures.

with

calibration as (

    select * from {{ ref('backtest_calibration') }}

),

curves as (

    select
        model_name,
        cumulative_customer_share as customer_share,
        cumulative_actual_revenue_share as revenue_share
    from calibration

),

origins as (

    select distinct
        model_name,
        0.0 as customer_share,
        0.0 as revenue_share
    from calibration

),

random_ranking as (

    select distinct
        'random' as model_name,
        cumulative_customer_share as customer_share,
        cumulative_customer_share as revenue_share
    from calibration
    union all
    select
        'random' as model_name,
        0.0 as customer_share,
        0.0 as revenue_share

),

final as (

    select * from curves
    union all
    select * from origins
    union all
    select * from random_ranking

)

select * from final
order by model_name, customer_share
