{#-
    The cutoff grid (DESIGN.md, time semantics). Features of cutoff C use transactions
    strictly before C; its label is revenue in [C, C + horizon_days).
      scoring   C_score = as_of_date, or the day after the last kept transaction
      training end
                E = the start of C_score's month (var training_anchor: month, week or day;
                day = C_score itself), or the release's when `clv score` applies one
      backtest  C_test  = E - horizon_days (its label is fully observed by E)
      training  C_test - k * snapshot_step_days, k = 1 .. K, K the larger of snapshot_count and
                ceil(snapshot_span_days / snapshot_step_days) (9 by default: 405 days, so the
                backtest's training label windows hold a full year, a December among them)
    Every cutoff but the scoring one hangs on E, and every label ends by E: training on any
    day of a month gives the same models, and only the scoring cutoff moves with each day.
    Cutoffs on or before the first kept transaction are dropped: nobody is a customer yet.
-#}
{%- set horizon_days = clv_positive_int_var('horizon_days') -%}
{%- set step_days = clv_positive_int_var('snapshot_step_days') -%}
{%- set snapshot_count = clv_training_cutoff_count() -%}
{%- set as_of_date = clv_as_of_date() -%}
{%- set release_training_end = clv_release_training_end_date() -%}

with

customer_days as (

    select * from {{ ref('int_orders_grouped_to_days') }}

),

observed_range as (

    select
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from customer_days

),

anchors as (

    select
        first_order_date,
        {% if as_of_date -%}
        cast({{ clv_quote(as_of_date) }} as date) as scoring_cutoff_date
        {%- else -%}
        cast({{ dbt.dateadd('day', 1, 'last_order_date') }} as date) as scoring_cutoff_date
        {%- endif %}
    from observed_range

),

anchored as (

    select
        first_order_date,
        scoring_cutoff_date,
        {% if release_training_end -%}
        cast({{ clv_quote(release_training_end) }} as date) as training_end_date
        {%- else -%}
        {{ clv_training_end_of('scoring_cutoff_date') }} as training_end_date
        {%- endif %}
    from anchors

),

grid as (

    {% for k in range(-1, snapshot_count + 1) -%}
    select
        {{ k }} as cutoff_index,
        '{{ "scoring" if k == -1 else "backtest" if k == 0 else "training" }}' as cutoff_role,
        {{ 0 if k == -1 else horizon_days + k * step_days }} as days_before_anchor
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

dated as (

    select
        grid.cutoff_index,
        grid.cutoff_role,
        anchored.first_order_date,
        anchored.scoring_cutoff_date,
        anchored.training_end_date,
        case
            when grid.cutoff_role = 'scoring' then anchored.scoring_cutoff_date
            else cast({{ dbt.dateadd('day', '-grid.days_before_anchor', 'anchored.training_end_date') }} as date)
        end as cutoff_date
    from grid
    cross join anchored

),

final as (

    select
        -- dates
        cutoff_date,
        cutoff_role,
        cast({{ horizon_days }} as integer) as horizon_days,
        cast({{ dbt.dateadd('day', horizon_days, 'cutoff_date') }} as date) as label_window_end_date,
        scoring_cutoff_date,
        training_end_date,
        cast({{ dbt.dateadd('day', -horizon_days, 'training_end_date') }} as date) as backtest_cutoff_date,

        -- flags
        -- the label window [C, C + H) ends by the training end: the label is observed, and
        -- the production models train on it
        (
            cutoff_role <> 'scoring'
            and cast({{ dbt.dateadd('day', horizon_days, 'cutoff_date') }} as date) <= training_end_date
        ) as is_label_complete,
        -- ... and ends by the backtest cutoff: usable to train the backtest models
        (
            cutoff_role <> 'scoring'
            and cast({{ dbt.dateadd('day', 2 * horizon_days, 'cutoff_date') }} as date) <= training_end_date
        ) as is_backtest_training_cutoff

    from dated
    where cutoff_date > first_order_date

)

select * from final
