{#-
    The customer marts add up to the kept transactions: purchase and return lines and
    revenue over customers equal those over transactions, and the cohorts' revenue equals
    the revenue of the customers who have a cohort. Returns a row per total that differs.
-#}

with

transaction_totals as (

    select
        count(case when not is_return then 1 end) as purchase_lines,
        count(case when is_return then 1 end) as return_lines,
        sum(case when not is_return then line_revenue else 0 end) as gross_revenue,
        sum(case when is_return then -line_revenue else 0 end) as returned_revenue
    from {{ ref('transactions') }}

),

customer_totals as (

    select
        sum(purchase_lines) as purchase_lines,
        sum(return_lines) as return_lines,
        sum(gross_revenue) as gross_revenue,
        sum(returned_revenue) as returned_revenue,
        sum(case when has_purchases then revenue else 0 end) as revenue_with_cohort
    from {{ ref('customers') }}

),

cohort_totals as (

    select sum(revenue) as revenue_with_cohort
    from {{ ref('cohort_retention') }}

),

compared as (

    select
        -- expected: from transactions; actual: from the customer marts
        transaction_totals.purchase_lines as expected_purchase_lines,
        customer_totals.purchase_lines as actual_purchase_lines,
        transaction_totals.return_lines as expected_return_lines,
        customer_totals.return_lines as actual_return_lines,
        transaction_totals.gross_revenue as expected_gross_revenue,
        customer_totals.gross_revenue as actual_gross_revenue,
        transaction_totals.returned_revenue as expected_returned_revenue,
        customer_totals.returned_revenue as actual_returned_revenue,
        customer_totals.revenue_with_cohort as expected_cohort_revenue,
        cohort_totals.revenue_with_cohort as actual_cohort_revenue
    from transaction_totals
    cross join customer_totals
    cross join cohort_totals

)

select *
from compared
where
    coalesce(expected_purchase_lines, 0) <> coalesce(actual_purchase_lines, 0)
    or coalesce(expected_return_lines, 0) <> coalesce(actual_return_lines, 0)
    or coalesce(expected_gross_revenue, 0) <> coalesce(actual_gross_revenue, 0)
    or coalesce(expected_returned_revenue, 0) <> coalesce(actual_returned_revenue, 0)
    or coalesce(expected_cohort_revenue, 0) <> coalesce(actual_cohort_revenue, 0)
