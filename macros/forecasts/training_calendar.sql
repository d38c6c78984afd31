{#-
    Train and score (docs/production-loop.md). The settings of the two jobs:
      job                        train (default: fit everything) or score (apply a release);
                                 set by `clv train` / `clv score`, never by hand
      training_anchor            month, week or day: the calendar step the training grid
                                 hangs on (models/marts/customers/cutoffs.sql)
      release_training_end_date  the training end of the release `clv score` applies
-#}

{% macro clv_job() %}
    {%- set job = var('job', env_var('CLV_JOB', 'train')) | string | trim | lower -%}
    {%- if job not in ['train', 'score'] -%}
        {{ exceptions.raise_compiler_error(
            "The var job must be train or score; got '" ~ job[:40] ~ "'. Run `clv train` or `clv score` rather than setting it.") }}
    {%- endif -%}
    {{ return(job) }}
{% endmacro %}

{% macro clv_training_anchor() %}
    {%- set anchor = var('training_anchor') | string | trim | lower -%}
    {%- if anchor not in ['month', 'week', 'day'] -%}
        {{ exceptions.raise_compiler_error(
            "The var training_anchor must be month, week or day; got '" ~ anchor[:40] ~ "'.") }}
    {%- endif -%}
    {{ return(anchor) }}
{% endmacro %}

{% macro clv_training_end_of(date_expression) %}
    {#- The training end of a scoring cutoff: the start of its month or (ISO) week, or itself. -#}
    {%- set anchor = clv_training_anchor() -%}
    {%- if anchor == 'day' -%}
        cast({{ date_expression }} as date)
    {%- else -%}
        cast({{ dbt.date_trunc(anchor, date_expression) }} as date)
    {%- endif -%}
{% endmacro %}

{% macro clv_release_training_end_date() %}
    {#- The applied release's training end (score job), or none. -#}
    {%- set raw = var('release_training_end_date', env_var('CLV_RELEASE_TRAINING_END_DATE', '')) -%}
    {%- if raw is none or (raw | string | trim) in ('', 'None', 'none', 'null') -%}
        {%- if clv_job() == 'score' -%}
            {{ exceptions.raise_compiler_error(
                "A score job needs the var release_training_end_date: run `clv score`, which reads it from the release.") }}
        {%- endif -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(clv_checked_date(raw, 'release_training_end_date', 'the release clv score applies')) }}
{% endmacro %}

{% macro clv_delete_cutoffs_not_in_grid(relation) %}
    {#- Pre-hook of the models kept incrementally by cutoff: rows of a cutoff the grid no
        longer has (the last score's scoring cutoff) go before the new ones are added. -#}
    {%- if is_incremental() -%}
        delete from {{ relation }} where cutoff_date not in (select cutoff_date from {{ ref('cutoffs') }})
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}
