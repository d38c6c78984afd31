{#-
    The time zone in which timestamps that carry one (a Parquet TIMESTAMP WITH TIME ZONE
    column) become local dates and times: the var time_zone, else CLV_TIME_ZONE, else UTC.
    Never the machine's: DuckDB renders such a value in the session's zone, which it takes
    from the machine, so the same file gave other order dates under another TZ.
    Validated against the zones DuckDB knows (pg_timezone_names()).
-#}
{% macro clv_time_zone() %}
    {%- set raw = var('time_zone', none) or env_var('CLV_TIME_ZONE', '') -%}
    {%- set zone = (raw | string | trim) if raw is not none else '' -%}
    {%- set zone = zone if zone not in ('', 'None', 'none', 'null') else 'UTC' -%}
    {%- if execute and target.type == 'spark' -%}
        {#- Spark knows the IANA names (Java's zone database): an unknown one fails the query. -#}
        {%- if not modules.re.fullmatch('[A-Za-z0-9_+/-]+', zone) -%}
            {{ exceptions.raise_compiler_error("Unknown time_zone '" ~ zone ~ "' (from the var time_zone or CLV_TIME_ZONE). Use a zone name such as UTC, Europe/London or America/New_York.") }}
        {%- endif -%}
    {%- elif execute -%}
        {%- set known = run_query(
            "select count(*) from pg_timezone_names() where name = " ~ clv_quote(zone)).columns[0].values()[0] -%}
        {%- if known == 0 -%}
            {{ exceptions.raise_compiler_error(
                "Unknown time_zone '" ~ zone ~ "' (from the var time_zone or CLV_TIME_ZONE). Use a zone name"
                ~ " such as UTC, Europe/London or America/New_York (the list: select name from pg_timezone_names()).") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(zone) }}
{% endmacro %}
