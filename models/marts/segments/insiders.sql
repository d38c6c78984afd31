{#-
    The loyalty ("Insiders") list: one row per customer who meets the rule at the scoring
    cutoff. The rule (vars in dbt_project.yml):
      top insiders_top_share of customers by predicted revenue for the next horizon
      and at least insiders_min_purchase_days purchase days before the cutoff
      and a predicted purchase probability of at least insiders_min_purchase_probability.
    Membership is recomputed on every build: a customer enters when they meet the rule at
    the scoring cutoff and leaves on the first build where they no longer do.
-#}
with

segments as (

    select * from {{ ref('customer_segments') }}

),

final as (

    select
        -- ids
        customer_id,
        cutoff_date,
        model_name,

        -- rank among Insiders (1 = highest predicted revenue)
        cast(row_number() over (order by predicted_revenue desc, customer_id asc) as bigint) as insider_rank,

        -- what they will do and what they did
        predicted_revenue,
        purchase_probability,
        p_alive,
        clv,
        predicted_level,
        purchase_days,
        lifetime_revenue,
        revenue_last_365d,
        avg_revenue_per_purchase_day,
        days_since_last_purchase,
        first_purchase_date,
        last_purchase_date,
        country,
        top_driver

    from segments
    where predicted_revenue_top_share <= {{ clv_number_var('insiders_top_share') }}
        and purchase_days >= {{ clv_number_var('insiders_min_purchase_days') }}
        and purchase_probability >= {{ clv_number_var('insiders_min_purchase_probability') }}

)

select * from final
