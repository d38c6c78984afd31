{#-
    One row per customer per model at the backtest cutoff (scored by models trained only on
    earlier, fully observed cutoffs) and at the scoring cutoff (production models).
    Every model scores every customer: where a model could not (baseline not fitted or its
    outputs invalid, XGBoost not trained), the row carries the naive prediction, is_fallback
    true and the reason.
-#}
{%- set naive_version = 'naive-1' -%}
{#- No model is ever certain: purchase probabilities are kept inside [floor, 1 - floor]
    (a 41-day file gave every customer exactly 1.000, and log loss is infinite at 0 or 1). -#}
{%- set probability_floor = 1e-6 -%}
{#- The rest of each forecast distribution (clv_warehouse/modeling/distributions.py). -#}
{%- set spread_columns = [
    'predicted_revenue_point', 'revenue_p10', 'revenue_p50', 'revenue_p90',
    'spend_if_purchase_p10', 'spend_if_purchase_p50', 'spend_if_purchase_p90'] -%}

with

naive as (

    select * from {{ ref('int_naive_predictions') }}

),

baseline as (

    select * from {{ ref('btyd_customer_predictions') }}

),

baseline_fits as (

    select * from {{ ref('btyd_fits') }}

),

boosted as (

    select * from {{ ref('xgboost_customer_predictions') }}

),

boosted_fits as (

    select
        cast(scored_cutoff_date as date) as scored_cutoff_date,
        {{ clv_string_agg("target || ': ' || message", "'; '", 'target') }} as message
    from {{ ref('xgboost_fits') }}
    where status <> 'trained'
    group by scored_cutoff_date

),

cutoffs as (

    select * from {{ ref('cutoffs') }}

),

model_release as (

    -- the release whose models scored this run (clv_warehouse/modeling/releases.py)
    select max(release_id) as release_id from {{ ref('xgboost_fits') }}

),

naive_rows as (

    select
        naive.customer_id,
        naive.cutoff_date,
        naive.cutoff_role,
        'naive' as model_name,
        '{{ naive_version }}' as model_version,
        naive.predicted_revenue,
        naive.purchase_probability,
        -- a rule, not a law: its forecast is one value, every quantile included; the spend if
        -- they buy is last horizon's revenue, unknown (null) for who did not buy then
        naive.predicted_revenue as predicted_revenue_point,
        naive.predicted_revenue as revenue_p10,
        naive.predicted_revenue as revenue_p50,
        naive.predicted_revenue as revenue_p90,
        nullif(naive.predicted_revenue, 0) as spend_if_purchase_p10,
        nullif(naive.predicted_revenue, 0) as spend_if_purchase_p50,
        nullif(naive.predicted_revenue, 0) as spend_if_purchase_p90,
        cast(null as double) as expected_purchases,
        cast(null as double) as p_alive,
        cast(null as double) as clv,
        false as is_fallback,
        cast(null as string) as fallback_reason
    from naive

),

baseline_rows as (

    select
        naive.customer_id,
        naive.cutoff_date,
        naive.cutoff_role,
        'btyd' as model_name,
        case when baseline.is_valid_output then baseline_fits.model_version else '{{ naive_version }}' end
            as model_version,
        case when baseline.is_valid_output then baseline.predicted_revenue else naive.predicted_revenue end
            as predicted_revenue,
        case when baseline.is_valid_output then baseline.purchase_probability else naive.purchase_probability end
            as purchase_probability,
        {%- for column in spread_columns %}
        case when baseline.is_valid_output then baseline.{{ column }} else naive_rows.{{ column }} end
            as {{ column }},
        {%- endfor %}
        case when baseline.is_valid_output then baseline.expected_purchases end as expected_purchases,
        case when baseline.is_valid_output then baseline.p_alive end as p_alive,
        case when baseline.is_valid_output then baseline.clv end as clv,
        not coalesce(baseline.is_valid_output, false) as is_fallback,
        case
            when baseline_fits.status <> 'fitted' then baseline_fits.status || ': ' || baseline_fits.message
            when not coalesce(baseline.is_valid_output, false) then 'invalid_output: NaN, infinite or negative'
        end as fallback_reason
    from naive
    inner join naive_rows
        on naive.customer_id = naive_rows.customer_id
        and naive.cutoff_date = naive_rows.cutoff_date
    left join baseline
        on naive.customer_id = baseline.customer_id
        and naive.cutoff_date = baseline.cutoff_date
    left join baseline_fits
        on naive.cutoff_date = baseline_fits.cutoff_date

),

boosted_rows as (

    select
        naive.customer_id,
        naive.cutoff_date,
        naive.cutoff_role,
        'xgboost' as model_name,
        coalesce(boosted.model_version, '{{ naive_version }}') as model_version,
        coalesce(boosted.predicted_revenue, naive.predicted_revenue) as predicted_revenue,
        coalesce(boosted.purchase_probability, naive.purchase_probability) as purchase_probability,
        {%- for column in spread_columns %}
        case when boosted.customer_id is not null then boosted.{{ column }} else naive_rows.{{ column }} end
            as {{ column }},
        {%- endfor %}
        cast(null as double) as expected_purchases,
        cast(null as double) as p_alive,
        cast(null as double) as clv,
        boosted.customer_id is null as is_fallback,
        case
            when boosted.customer_id is null
                then coalesce('not_trained: ' || boosted_fits.message, 'not_trained')
        end as fallback_reason
    from naive
    inner join naive_rows
        on naive.customer_id = naive_rows.customer_id
        and naive.cutoff_date = naive_rows.cutoff_date
    left join boosted
        on naive.customer_id = boosted.customer_id
        and naive.cutoff_date = boosted.cutoff_date
    left join boosted_fits
        on naive.cutoff_date = boosted_fits.scored_cutoff_date

),

unioned as (

    select * from naive_rows
    union all
    select * from baseline_rows
    union all
    select * from boosted_rows

),

final as (

    select
        -- ids
        '{{ invocation_id }}' as run_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as run_started_at,
        unioned.cutoff_date,
        unioned.cutoff_role,
        cutoffs.horizon_days,
        unioned.model_name,
        unioned.model_version,
        model_release.release_id,
        unioned.customer_id,

        -- predictions for [cutoff, cutoff + horizon_days); money in the input currency
        cast(unioned.predicted_revenue as double) as predicted_revenue,
        cast(least(greatest(unioned.purchase_probability, {{ probability_floor }}), 1 - {{ probability_floor }}) as double)
            as purchase_probability,
        {%- for column in spread_columns %}
        cast(unioned.{{ column }} as double) as {{ column }},
        {%- endfor %}
        unioned.expected_purchases,
        unioned.p_alive,
        unioned.clv,

        -- flags
        unioned.is_fallback,
        unioned.fallback_reason

    from unioned
    inner join cutoffs
        on unioned.cutoff_date = cutoffs.cutoff_date
    cross join model_release

)

select * from final
