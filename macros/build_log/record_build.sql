{#-
    The build log, main.clv_builds: one row per `dbt build` or `dbt run` on this warehouse,
    written when it starts (status 'running') and updated when it ends ('success' or
    'failed', with the nodes that failed). `clv publish` copies the warehouse for readers
    only when the latest row says 'success', so a build that failed or was killed midway
    never reaches a dashboard. Other commands (compile, test, docs) leave the log alone.
    Times are UTC (dbt's run_started_at), like the audit table's loaded_at and classified_at.
-#}

{% macro clv_logs_builds() -%}
    {{ return(execute and flags.WHICH in ('build', 'run')) }}
{%- endmacro %}

{% macro clv_record_build_start() -%}
    {{ return(adapter.dispatch('clv_record_build_start', 'clv_warehouse')()) }}
{%- endmacro %}

{% macro default__clv_record_build_start() -%}
    {%- if clv_logs_builds() -%}
        create table if not exists main.clv_builds (
            invocation_id varchar primary key,
            command varchar not null,
            started_at timestamp not null,
            finished_at timestamp,
            status varchar not null,
            failed_nodes varchar
        );
        insert into main.clv_builds (invocation_id, command, started_at, status)
        values ('{{ invocation_id }}', '{{ flags.WHICH }}', cast('{{ run_started_at }}' as timestamp), 'running')
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro clv_record_build_end(results) -%}
    {{ return(adapter.dispatch('clv_record_build_end', 'clv_warehouse')(results)) }}
{%- endmacro %}

{% macro default__clv_record_build_end(results) -%}
    {%- if clv_logs_builds() -%}
        {%- set failed = clv_failed_nodes(results) -%}
        update main.clv_builds
        set
            finished_at = timezone('UTC', now()),
            status = '{{ "failed" if failed else "success" }}',
            failed_nodes = {{ clv_quote(failed | join(', ')) if failed else 'null' }}
        where invocation_id = '{{ invocation_id }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#-
    Spark: Parquet tables take no update, so the end of a build is a second row with the same
    invocation_id; the row with the latest status wins (finished_at set). The inputs are
    registered first (macros/inputs/spark_inputs.sql): every dbt command reads them.
-#}
{% macro spark__clv_record_build_start() -%}
    {%- do clv_register_inputs() -%}
    {%- if clv_logs_builds() -%}
        {%- do run_query("create schema if not exists main") -%}
        {%- do run_query("create table if not exists main.clv_builds (invocation_id string, command string,"
            ~ " started_at timestamp, finished_at timestamp, status string, failed_nodes string) using parquet") -%}
        insert into main.clv_builds
        values ('{{ invocation_id }}', '{{ flags.WHICH }}', cast('{{ run_started_at }}' as timestamp), null, 'running', null)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro spark__clv_record_build_end(results) -%}
    {%- if clv_logs_builds() -%}
        {%- set failed = clv_failed_nodes(results) -%}
        insert into main.clv_builds
        values ('{{ invocation_id }}', '{{ flags.WHICH }}', cast('{{ run_started_at }}' as timestamp),
            current_timestamp(), '{{ "failed" if failed else "success" }}',
            {{ clv_quote(failed | join(', ')) if failed else 'null' }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The nodes of a build that did not succeed, as "unique_id (status)". -#}
{% macro clv_failed_nodes(results) -%}
    {%- set failed = [] -%}
    {%- for result in results -%}
        {%- if result.status in ('error', 'fail', 'runtime error', 'skipped') -%}
            {%- do failed.append(result.node.unique_id ~ ' (' ~ result.status ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(failed) }}
{%- endmacro %}
