{#-
    Join condition that finds the spend level of a revenue expression in a levels relation
    (reference.spend_levels filtered to the run's horizon): the level n >= 1 whose
    [min_revenue, max_revenue) holds a positive revenue. Left-join on it and take
    coalesce(<alias>.spend_level, 0): no match (revenue 0, or below the lowest bound) is level 0.
-#}
{% macro spend_level_matches(levels, revenue) -%}
    {{ levels }}.spend_level > 0
    and {{ revenue }} > 0
    and {{ revenue }} >= {{ levels }}.min_revenue
    and ({{ levels }}.max_revenue is null or {{ revenue }} < {{ levels }}.max_revenue)
{%- endmacro %}
