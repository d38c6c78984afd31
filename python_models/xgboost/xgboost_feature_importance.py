"""Mean |SHAP| per feature of each XGBoost model, over the customers it scored."""

from clv_warehouse.modeling.tables import xgboost_importance_table


def model(dbt, session):
    dbt.config(materialized="table")
    fits = dbt.ref("xgboost_fits").df()
    inputs = dbt.ref("int_model_inputs").filter("cutoff_role in ('backtest', 'scoring')").df()
    return xgboost_importance_table(
        fits,
        inputs,
        sample_rows=int(dbt.config.get("shap_sample_rows")),
        seed=int(dbt.config.get("xgboost_seed")),
    )
