"""Model fitting, scoring and evaluation: pure functions on customer-level frames, no dbt."""
