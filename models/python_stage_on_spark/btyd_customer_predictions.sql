{#- On Spark: the table the Python stage wrote (clv_warehouse/spark/runner.py). -#}
select * from {{ source('clv_python_stage', 'btyd_customer_predictions') }}
