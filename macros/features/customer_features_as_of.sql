{#-
    Customer features as of each cutoff: one row per customer per cutoff, for every customer
    with at least one purchase day strictly before the cutoff.

    The only place features are computed. int_customer_features_at_cutoffs calls it on the
    whole history, and tests/dbt/assert_features_use_only_data_before_cutoff.sql calls it
    again on history cut at each cutoff: both must give the same rows, or a feature reads data
    on or after its cutoff. The relations are passed in, so the models keep their ref()s.

      customer_days  int_orders_grouped_to_days, or a relation with the same columns
      items          int_customer_items_first_seen, or a relation with the same columns
      cutoffs        a relation with a cutoff_date column

    Definitions: models/marts/customers/_customers__docs.md. In short, a purchase day is a
    customer-day with positive net revenue; "revenue" is the net revenue of purchase days
    (purchases less the returns of the same day); windows are [cutoff - N days, cutoff).
-#}
{% macro customer_features_as_of(customer_days, items, cutoffs) %}
{%- set windows = [30, 90, 180, 365] -%}
{%- set horizon_days = clv_positive_int_var('horizon_days') -%}

with

customer_days as (

    select * from {{ customer_days }}

),

cutoff_dates as (

    select distinct cutoff_date from {{ cutoffs }}

),

items as (

    select * from {{ items }}

),

-- the only rows any feature may read: days strictly before the cutoff
visible_days as (

    select
        cutoff_dates.cutoff_date,
        customer_days.*,
        {{ dbt.datediff('customer_days.order_date', 'cutoff_dates.cutoff_date', 'day') }}
            as days_before_cutoff
    from customer_days
    inner join cutoff_dates
        on customer_days.order_date < cutoff_dates.cutoff_date

),

-- one pass over visible_days: DuckDB would materialize a CTE read twice, and visible_days
-- is every customer-day repeated for every later cutoff
aggregated as (

    select
        visible_days.customer_id,
        visible_days.cutoff_date,

        -- dates: the first, last and second purchase days before the cutoff
        min(case when visible_days.is_purchase_day then visible_days.order_date end)
            as first_purchase_date,
        max(case when visible_days.is_purchase_day then visible_days.order_date end)
            as last_purchase_date,
        -- the only purchase day without a previous one is the first
        min(case
            when visible_days.is_purchase_day and visible_days.days_since_previous_purchase_day is not null
                then visible_days.order_date
        end) as second_purchase_date,
        {{ dbt.datediff(
            'min(case when visible_days.is_purchase_day then visible_days.order_date end)',
            'visible_days.cutoff_date', 'day') }} as days_since_first_purchase,
        {{ dbt.datediff(
            'max(case when visible_days.is_purchase_day then visible_days.order_date end)',
            'visible_days.cutoff_date', 'day') }} as days_since_last_purchase,

        -- counts
        count(case when visible_days.is_purchase_day then 1 end) as purchase_days,
        sum(visible_days.orders) as orders,
        sum(visible_days.purchase_lines) as purchase_lines,
        sum(visible_days.units_purchased) as units_purchased,
        sum(visible_days.return_lines) as return_lines,
        count(case when visible_days.return_lines > 0 then 1 end) as return_days,

        -- money
        sum(case when visible_days.is_purchase_day then visible_days.net_revenue else 0 end) as revenue,
        sum(visible_days.net_revenue) as net_revenue,
        sum(visible_days.gross_revenue) as gross_revenue,
        sum(visible_days.returned_revenue) as returned_revenue,
        {{ clv_exact_stddev_samp(
            'case when visible_days.is_purchase_day then visible_days.net_revenue end', 4
        ) }} as std_revenue_per_purchase_day,
        max(case when visible_days.is_purchase_day then visible_days.net_revenue end)
            as max_revenue_per_purchase_day,
        -- one row per customer-day: the net revenue of the first and of the last purchase day
        {{ clv_first_value_by(
            'visible_days.net_revenue',
            'case when visible_days.is_purchase_day then visible_days.order_date end'
        ) }} as first_purchase_revenue,
        {{ clv_last_value_by(
            'visible_days.net_revenue',
            'case when visible_days.is_purchase_day then visible_days.order_date end'
        ) }} as last_purchase_revenue,

        -- windows: the last N days, [cutoff - N, cutoff)
        {%- for days in windows %}
        sum(case
            when visible_days.is_purchase_day and visible_days.days_before_cutoff <= {{ days }}
                then visible_days.net_revenue else 0
        end) as revenue_last_{{ days }}d,
        sum(case when visible_days.days_before_cutoff <= {{ days }} then visible_days.orders else 0 end)
            as orders_last_{{ days }}d,
        count(case when visible_days.is_purchase_day and visible_days.days_before_cutoff <= {{ days }} then 1 end)
            as purchase_days_last_{{ days }}d,
        {%- endfor %}
        -- the last horizon, [cutoff - H, cutoff): the naive forecast and the current spend level
        sum(case
            when visible_days.is_purchase_day and visible_days.days_before_cutoff <= {{ horizon_days }}
                then visible_days.net_revenue else 0
        end) as revenue_last_horizon,
        count(case when visible_days.is_purchase_day and visible_days.days_before_cutoff <= {{ horizon_days }} then 1 end)
            as purchase_days_last_horizon,
        -- the 90 days before those: [cutoff - 180, cutoff - 90)
        sum(case
            when visible_days.is_purchase_day and visible_days.days_before_cutoff between 91 and 180
                then visible_days.net_revenue else 0
        end) as revenue_prev_90d,
        sum(case when visible_days.days_before_cutoff between 91 and 180 then visible_days.orders else 0 end)
            as orders_prev_90d,
        -- the season ahead, a year earlier: [cutoff - 365, cutoff - 365 + H), cut at the cutoff
        -- (days_before_cutoff >= 1 always) when the horizon is a year or longer
        sum(case
            when visible_days.is_purchase_day
                and visible_days.days_before_cutoff between {{ 366 - horizon_days }} and 365
                then visible_days.net_revenue else 0
        end) as revenue_same_horizon_last_year,
        count(case
            when visible_days.is_purchase_day
                and visible_days.days_before_cutoff between {{ 366 - horizon_days }} and 365
                then 1
        end) as purchase_days_same_horizon_last_year,

        -- gaps between consecutive purchase days
        -- the mean of integers is exact (and so the same on every run)
        avg(case when visible_days.is_purchase_day then visible_days.days_since_previous_purchase_day end)
            as avg_days_between_purchases,
        {{ clv_exact_stddev_samp(
            'case when visible_days.is_purchase_day then visible_days.days_since_previous_purchase_day end', 0
        ) }} as std_days_between_purchases,
        max(case when visible_days.is_purchase_day then visible_days.days_since_previous_purchase_day end)
            as max_days_between_purchases,

        -- place: the last one known before the cutoff
        {{ clv_last_value_by('visible_days.country', 'visible_days.order_date') }} as country,
        {{ clv_last_value_by('visible_days.store_id', 'visible_days.order_date') }} as store_id

    from visible_days
    group by
        visible_days.customer_id,
        visible_days.cutoff_date
    -- customers with at least one purchase day before the cutoff
    having count(case when visible_days.is_purchase_day then 1 end) > 0

),

-- new products, stores and countries per customer and day: far fewer rows than the items
-- (a customer may buy thousands of products), to add up before each cutoff
new_items_by_day as (

    select
        customer_id,
        first_seen_date,
        count(case when item_type = 'product' then 1 end) as new_products,
        count(case when item_type = 'store' then 1 end) as new_stores,
        count(case when item_type = 'country' then 1 end) as new_countries
    from items
    group by customer_id, first_seen_date

),

item_counts as (

    select
        new_items_by_day.customer_id,
        cutoff_dates.cutoff_date,
        -- null, not 0, when the layout has no such column
        cast(nullif(sum(new_items_by_day.new_products), 0) as bigint) as distinct_products,
        cast(nullif(sum(new_items_by_day.new_stores), 0) as bigint) as distinct_stores,
        cast(nullif(sum(new_items_by_day.new_countries), 0) as bigint) as distinct_countries
    from new_items_by_day
    inner join cutoff_dates
        on new_items_by_day.first_seen_date < cutoff_dates.cutoff_date
    group by new_items_by_day.customer_id, cutoff_dates.cutoff_date

),

final as (

    select
        -- ids
        aggregated.customer_id,
        aggregated.cutoff_date,

        -- dates
        aggregated.first_purchase_date,
        aggregated.last_purchase_date,
        cast({{ dbt.date_trunc('month', 'aggregated.first_purchase_date') }} as date) as acquisition_month,

        -- BTYD summary, as lifetimes computes it with observation_period_end = cutoff - 1 day
        cast(aggregated.purchase_days - 1 as bigint) as frequency,
        {{ dbt.datediff('aggregated.first_purchase_date', 'aggregated.last_purchase_date', 'day') }} as recency,
        aggregated.days_since_first_purchase - 1 as {{ adapter.quote('T') }},
        case
            when aggregated.purchase_days = 1 then 0.0
            else cast(aggregated.revenue - aggregated.first_purchase_revenue as double) / (aggregated.purchase_days - 1)
        end as monetary_value,

        -- recency and tenure
        aggregated.days_since_last_purchase,
        aggregated.days_since_first_purchase,

        -- counts
        cast(aggregated.purchase_days as bigint) as purchase_days,
        cast(aggregated.orders as bigint) as orders,
        cast(aggregated.purchase_lines as bigint) as purchase_lines,
        cast(aggregated.units_purchased as double) as units_purchased,

        -- money (input currency)
        cast(aggregated.revenue as double) as revenue,
        cast(aggregated.net_revenue as double) as net_revenue,
        cast(aggregated.gross_revenue as double) as gross_revenue,
        cast(aggregated.returned_revenue as double) as returned_revenue,
        cast(aggregated.revenue as double) / aggregated.purchase_days as avg_revenue_per_purchase_day,
        aggregated.std_revenue_per_purchase_day,
        cast(aggregated.max_revenue_per_purchase_day as double) as max_revenue_per_purchase_day,
        cast(aggregated.gross_revenue as double) / nullif(aggregated.orders, 0) as avg_revenue_per_order,
        cast(aggregated.first_purchase_revenue as double) as first_purchase_revenue,
        cast(aggregated.last_purchase_revenue as double) as last_purchase_revenue,

        -- windows
        {%- for days in windows %}
        cast(aggregated.revenue_last_{{ days }}d as double) as revenue_last_{{ days }}d,
        cast(aggregated.orders_last_{{ days }}d as bigint) as orders_last_{{ days }}d,
        cast(aggregated.purchase_days_last_{{ days }}d as bigint) as purchase_days_last_{{ days }}d,
        {%- endfor %}
        cast(aggregated.revenue_last_horizon as double) as revenue_last_horizon,
        cast(aggregated.purchase_days_last_horizon as bigint) as purchase_days_last_horizon,
        cast(aggregated.revenue_prev_90d as double) as revenue_prev_90d,
        cast(aggregated.orders_prev_90d as bigint) as orders_prev_90d,
        cast(aggregated.revenue_last_90d as double) / nullif(aggregated.revenue_prev_90d, 0)
            as revenue_trend_ratio_90d,
        cast(aggregated.orders_last_90d as double) / nullif(aggregated.orders_prev_90d, 0)
            as orders_trend_ratio_90d,
        cast(aggregated.revenue_last_90d as double) / nullif(aggregated.revenue, 0)
            as revenue_share_last_90d,

        -- rates over the customer's tenure
        cast(aggregated.revenue as double)
            / aggregated.days_since_first_purchase
            as revenue_per_tenure_day,
        -- (a double division on both engines: Spark would keep the decimal 30.0's type)
        cast(30.0 * aggregated.purchase_days as double)
            / aggregated.days_since_first_purchase
            as purchase_days_per_30d,

        -- time between purchases
        aggregated.avg_days_between_purchases,
        aggregated.std_days_between_purchases,
        aggregated.max_days_between_purchases,
        {{ dbt.datediff('aggregated.first_purchase_date', 'aggregated.second_purchase_date', 'day') }}
            as days_to_second_purchase,
        aggregated.days_since_last_purchase
            / nullif(aggregated.avg_days_between_purchases, 0) as purchase_overdue_ratio,

        -- baskets and products
        cast(aggregated.purchase_lines as double) / nullif(aggregated.orders, 0) as avg_lines_per_order,
        aggregated.units_purchased / nullif(aggregated.orders, 0) as avg_units_per_order,
        cast(aggregated.gross_revenue as double) / nullif(aggregated.units_purchased, 0) as avg_unit_price,
        item_counts.distinct_products,
        cast(item_counts.distinct_products as double) / nullif(aggregated.orders, 0)
            as distinct_products_per_order,

        -- returns
        cast(aggregated.return_lines as bigint) as return_lines,
        cast(aggregated.return_days as bigint) as return_days,
        cast(aggregated.returned_revenue as double) / nullif(aggregated.gross_revenue, 0) as return_rate_revenue,
        cast(aggregated.return_lines as double) / nullif(aggregated.purchase_lines, 0) as return_rate_lines,
        aggregated.returned_revenue > aggregated.gross_revenue as has_returns_exceeding_purchases,

        -- place
        aggregated.country,
        aggregated.store_id,
        item_counts.distinct_countries,
        item_counts.distinct_stores,

        -- season: where the cutoff falls in the year (the same for every customer at a
        -- cutoff), and what the customer spent in the coming horizon's window a year earlier
        cast({{ clv_date_part('month', 'aggregated.cutoff_date') }} as bigint) as cutoff_month,
        cast({{ clv_date_part('week', 'aggregated.cutoff_date') }} as bigint) as cutoff_week_of_year,
        sin(2 * pi() * ({{ clv_date_part('dayofyear', 'aggregated.cutoff_date') }} - 1) / 365.25)
            as cutoff_year_phase_sin,
        cos(2 * pi() * ({{ clv_date_part('dayofyear', 'aggregated.cutoff_date') }} - 1) / 365.25)
            as cutoff_year_phase_cos,
        cast(aggregated.revenue_same_horizon_last_year as double) as revenue_same_horizon_last_year,
        cast(aggregated.purchase_days_same_horizon_last_year as bigint) as purchase_days_same_horizon_last_year,
        cast(aggregated.revenue_same_horizon_last_year as double) / nullif(aggregated.revenue_last_365d, 0)
            as same_horizon_last_year_revenue_share

    from aggregated
    left join item_counts
        on aggregated.customer_id = item_counts.customer_id
        and aggregated.cutoff_date = item_counts.cutoff_date

)

select * from final
{% endmacro %}
