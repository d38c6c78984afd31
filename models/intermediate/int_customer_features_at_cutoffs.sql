{#-
    Features of every customer at every cutoff of the grid (scoring, backtest and training).
    The logic is the macro customer_features_as_of, so that the leakage test can run the very
    same code on history cut at each cutoff.
-#}

{{ customer_features_as_of(
    customer_days=ref('int_orders_grouped_to_days'),
    items=ref('int_customer_items_first_seen'),
    cutoffs=ref('cutoffs'),
) }}
