{#-
    Seeds on Spark. dbt-spark's loader binds values through its session cursor, which breaks
    on an apostrophe in a value and loads an empty cell as the text 'None'. This one writes
    each value as a literal through clv_quote (an empty cell is null), cast to the column's
    type, as dbt-duckdb loads it.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for value in row -%}
                {%- if value is none -%}cast(null as {{ types[loop.index0] }})
                {%- else -%}cast({{ clv_quote(value) }} as {{ types[loop.index0] }})
                {%- endif -%}
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%}){%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}
