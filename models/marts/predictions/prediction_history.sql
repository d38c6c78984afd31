{#-
    Every run's predictions, kept: marts.predictions appended once per dbt run (run_id is the
    dbt invocation id). Compare runs to see how a customer's forecast moved as data arrived.
    A full refresh (dbt build --full-refresh) empties it.
-#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns') }}

with

predictions as (

    select * from {{ ref('predictions') }}

)

select * from predictions
{% if is_incremental() -%}
where run_id not in (select distinct history.run_id from {{ this }} as history)
{%- endif %}
