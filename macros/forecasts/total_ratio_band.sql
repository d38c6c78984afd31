{#-
    The band a model's total (predicted against actual, or realized against predicted) must
    stay in before the build warns: [0.8, 1.25]. One place for marts.model_runs (the backtest)
    and marts.forecast_monitoring (earlier runs once their horizon has passed); the summary
    reads their flags.
-#}
{% macro clv_total_ratio_band() %}
    {{ return((0.8, 1.25)) }}
{% endmacro %}
