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
    {%- if clv_logs_builds() -%}
        {%- set failed = [] -%}
        {%- for result in results -%}
            {%- if result.status in ('error', 'fail', 'runtime error', 'skipped') -%}
                {%- do failed.append(result.node.unique_id ~ ' (' ~ result.status ~ ')') -%}
            {%- endif -%}
        {%- endfor -%}
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
