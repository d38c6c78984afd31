-- At the backtest and scoring cutoffs, every customer with a purchase before the cutoff has
-- exactly one prediction from each of the three models (a fallback counts), and nobody else.
with

snapshots as (

    select
        customer_id,
        cutoff_date
    from {{ ref('training_snapshots') }}
    where cutoff_role in ('backtest', 'scoring')

),

per_customer as (

    select
        customer_id,
        cutoff_date,
        count(*) as predictions,
        count(distinct model_name) as models
    from {{ ref('predictions') }}
    group by customer_id, cutoff_date

)

select
    coalesce(snapshots.customer_id, per_customer.customer_id) as customer_id,
    coalesce(snapshots.cutoff_date, per_customer.cutoff_date) as cutoff_date,
    per_customer.predictions,
    per_customer.models
from snapshots
full outer join per_customer
    on snapshots.customer_id = per_customer.customer_id
    and snapshots.cutoff_date = per_customer.cutoff_date
where snapshots.customer_id is null
    or per_customer.customer_id is null
    or per_customer.predictions <> 3
    or per_customer.models <> 3
