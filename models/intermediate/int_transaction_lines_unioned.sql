{#-
    The staging model of the active input layout, under one name. Only one staging model is
    enabled per run (input_layout), so this is where the layouts meet: everything downstream
    reads canonical columns and does not know which layout the file had.
-#}
{{ config(materialized='view') }}
{%- set layout = clv_input_layout() -%}
{%- if layout == 'cdnow' -%}
{%- set staged = ref('stg_cdnow__purchases') -%}
{%- elif layout == 'online_retail' -%}
{%- set staged = ref('stg_online_retail__invoice_lines') -%}
{%- else -%}
{%- set staged = ref('stg_generic__transactions') -%}
{%- endif -%}
{%- do clv_check_input_has_rows(staged, layout) -%}

select * from {{ staged }}
