{#-
    Features of every customer at every cutoff of the grid (scoring, backtest and training).
    The logic is the macro customer_features_as_of, so that the leakage test can run the very
    same code on history cut at each cutoff.

    A train job (`clv train`, `clv build`, `dbt build`) computes every cutoff. A score job
    (`clv score`) keeps the release's grid and computes only the cutoffs it does not hold yet,
    the new scoring cutoff in practice, and always the scoring cutoff again; cutoffs no
    longer in the grid (yesterday's scoring cutoff) are deleted first.
-#}
{{ config(
    materialized=clv_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='cutoff_date',
    on_schema_change='fail',
    full_refresh=(clv_job() == 'train'),
    pre_hook="{{ clv_delete_cutoffs_not_in_grid(this) }}",
) }}
{%- set cutoffs = ref('cutoffs') -%}
{%- if is_incremental() -%}
    {%- set cutoffs = '(select cutoff_date from ' ~ ref('cutoffs') ~ " where cutoff_role = 'scoring'"
        ~ ' or cutoff_date not in (select distinct cutoff_date from ' ~ this ~ ')) as new_cutoffs' -%}
{%- endif %}

{{ customer_features_as_of(
    customer_days=ref('int_orders_grouped_to_days'),
    items=ref('int_customer_items_first_seen'),
    cutoffs=cutoffs,
) }}
