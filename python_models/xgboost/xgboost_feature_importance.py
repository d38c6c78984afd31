"""Mean |SHAP| per feature of each XGBoost model, over the customers it scored."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "xgboost_fits": dbt.ref("xgboost_fits"),
            "int_model_inputs": dbt.ref("int_model_inputs"),
        },
    )
    config = {
        "shap_sample_rows": dbt.config.get("shap_sample_rows"),
        "xgboost_seed": dbt.config.get("xgboost_seed"),
    }
    return stage.xgboost_feature_importance(inputs, config.get)
