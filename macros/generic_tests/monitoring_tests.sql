{#-
    Generic tests of the monitoring marts (models/marts/monitoring). Each returns the rows that
    break the rule; zero rows pass.
-#}

{#- Values that are NaN or infinite; nulls (undefined metrics) are left to not_null. -#}
{% test finite_or_null(model, column_name) %}
    select *
    from {{ model }}
    where {{ column_name }} is not null
      and not {{ clv_is_finite(column_name) }}
{% endtest %}

{#- A share of customers outside [0, 1]; nulls pass (undefined without customers or buyers). -#}
{% test share_between_zero_and_one(model, column_name) %}
    select *
    from {{ model }}
    where {{ column_name }} is not null
      and not ({{ column_name }} >= 0 and {{ column_name }} <= 1)
{% endtest %}

{#- A population stability index must be a number >= 0 (each term of the sum is >= 0). -#}
{% test population_stability_index_is_valid(model, column_name) %}
    select *
    from {{ model }}
    where {{ column_name }} is null
      or not {{ clv_is_finite(column_name) }}
      or {{ column_name }} < 0
{% endtest %}
