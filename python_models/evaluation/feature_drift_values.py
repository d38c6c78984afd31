"""Population stability index of each production feature, scoring rows against training rows."""

from clv_warehouse.modeling.monitoring import feature_drift_table, model_features_of_fits


def model(dbt, session):
    dbt.config(materialized="table")
    features = model_features_of_fits(dbt.ref("xgboost_fits").df())
    samples = dbt.ref("int_feature_drift_samples").order("sample_role, cutoff_date, customer_id")
    return feature_drift_table(samples.df(), features)
