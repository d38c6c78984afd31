{#-
    The incremental load of the audit table (models/intermediate/int_transaction_lines_audited.sql).
    A build reads only new input files. The result must equal a full rebuild on the same
    files, so anything that would make it differ stops the build, before it writes, with
    what to do.
-#}

{%- macro clv_raw_line_columns() -%}
    {#- The raw values that make two lines "the same line" (rejection reason duplicate_line). -#}
    {{ return([
        'customer_id_raw', 'order_id_raw', 'ordered_at_raw', 'product_id_raw',
        'product_description', 'quantity_raw', 'unit_price_raw', 'amount_raw',
        'store_id_raw', 'country_raw',
    ]) }}
{%- endmacro -%}

{%- macro clv_staged_line_columns() -%}
    {#- The canonical columns every staging model gives (int_transaction_lines_unioned). -#}
    {{ return(
        ['source_file', 'source_row_number', 'is_malformed_line']
        + clv_raw_line_columns()
        + ['is_cancellation', 'customer_id', 'order_id', 'product_id', 'store_id', 'country',
           'ordered_at', 'order_date', 'quantity', 'unit_price', 'amount', 'line_revenue']
    ) }}
{%- endmacro -%}

{%- macro clv_cleaning_rules_version() -%}
    {#- A fingerprint of every setting the cleaning rules read, except the as-of date. -#}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set seed = load_relation(ref('non_product_codes')) -%}
    {#- (not built yet when dbt only compiles, as sqlfluff does) -#}
    {%- set codes = run_query(
        "select " ~ clv_string_agg('product_code', "'|'", 'product_code') ~ " from " ~ seed
    ).columns[0].values()[0] if seed is not none else '' -%}
    {%- set settings = {
        'layout': clv_input_layout(),
        'earliest_valid_date': clv_earliest_valid_date(),
        'timestamp_formats': clv_timestamp_formats(),
        'missing_value_markers': clv_string_list_var('missing_value_markers'),
        'normalize_numeric_customer_ids': var('normalize_numeric_customer_ids'),
        'generic_columns': clv_generic_column_map() if clv_input_layout() == 'generic' else {},
        'non_product_codes': codes,
    } -%}
    {#- (only when set, so that warehouses built before the var existed need no rebuild) -#}
    {%- if clv_time_zone() != 'UTC' -%}
        {%- do settings.update({'time_zone': clv_time_zone()}) -%}
    {%- endif -%}
    {{ return(local_md5(tojson(settings))) }}
{%- endmacro -%}

{%- macro clv_check_incremental_load(relation) -%}
    {#- Stops an incremental build that would not equal a full rebuild; returns the files
        already loaded. -#}
    {%- set what_to_do = " Rebuild from every raw line: dbt build --full-refresh (clv build -- --full-refresh)." -%}
    {%- set loaded = run_query(
        "select source_file, min(rules_version), max(rules_version) from " ~ relation
        ~ " group by source_file order by source_file"
    ) -%}
    {%- set loaded_files = loaded.columns[0].values() | list -%}
    {%- set current_rules = clv_cleaning_rules_version() -%}
    {%- for row in loaded.rows -%}
        {%- if row[1] != current_rules or row[2] != current_rules -%}
            {{ exceptions.raise_compiler_error(
                "The cleaning settings (layout, vars earliest_valid_date, timestamp_formats, missing_value_markers,"
                ~ " normalize_numeric_customer_ids, generic_columns, time_zone, or seeds/non_product_codes.csv) changed since "
                ~ row[0] ~ " was loaded, so its lines would be classified differently." ~ what_to_do) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set input_path = clv_input_path() -%}
    {%- set current_files = run_query(
        "select file from glob(" ~ clv_quote(input_path) ~ ") order by file"
    ).columns[0].values() | list -%}
    {%- set missing = loaded_files | reject('in', current_files) | list -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            missing | length ~ " file(s) loaded before are no longer in the input " ~ input_path ~ ": "
            ~ missing[:3] | join(', ') ~ ". Their lines are still in the warehouse." ~ what_to_do) }}
    {%- endif -%}
    {#- a loaded file edited or appended to under the same name (macros/inputs/input_fingerprints.sql) -#}
    {%- do clv_check_input_files_unchanged(loaded_files) -%}
    {%- set new_files = current_files | reject('in', loaded_files) | list -%}
    {%- if new_files and loaded_files and new_files | min < loaded_files | max -%}
        {{ exceptions.raise_compiler_error(
            "The new input file " ~ new_files | min ~ " sorts before " ~ loaded_files | max
            ~ ", which is already loaded. Duplicate lines are decided in file-name order, so name new"
            ~ " files to sort after the loaded ones (for example by date)." ~ what_to_do) }}
    {%- endif -%}
    {%- set as_of_date = clv_as_of_date() -%}
    {%- if as_of_date -%}
        {%- set kept_after = run_query(
            "select count(*) from " ~ relation ~ " where is_kept and order_date >= cast(" ~ clv_quote(as_of_date) ~ " as date)"
        ).columns[0].values()[0] -%}
        {%- if kept_after > 0 -%}
            {{ exceptions.raise_compiler_error(
                "The as-of date " ~ as_of_date ~ " is earlier than in the last build: " ~ kept_after
                ~ " kept line(s) are on or after it." ~ what_to_do) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(loaded_files) }}
{%- endmacro -%}

{%- macro clv_latest_classification() -%}
    select max(classified_at) from {{ ref('int_transaction_lines_audited') }}
{%- endmacro -%}

{%- macro clv_customers_classified_since(relation) -%}
    {#- Customers with a line classified after the relation (a customer-level table with a
        classified_through column) was last built. -#}
    select audited.customer_id
    from {{ ref('int_transaction_lines_audited') }} as audited
    where audited.customer_id is not null
        and audited.classified_at > coalesce(
            (select max(built.classified_through) from {{ relation }} as built),
            cast('-infinity' as timestamp)
        )
{%- endmacro -%}


{%- macro clv_files_to_verify() -%}
    {#- The input files whose lines are checked line by line against the raw input in this
        build: those loaded since the last successful build started (all of them on a full
        rebuild or when no build succeeded yet). Files checked in an earlier build are not
        read again; their row counts are still compared (assert_every_raw_row_kept_or_rejected_once).
        Returns none for "every file". -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set log = adapter.get_relation(database=target.database, schema='main', identifier='clv_builds') -%}
    {%- if log is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set last_success = run_query(
        "select cast(max(started_at) as string) from main.clv_builds where status = 'success'"
    ).columns[0].values()[0] -%}
    {%- if last_success is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set files = run_query(
        "select distinct source_file from " ~ ref('int_transaction_lines_audited')
        ~ " where loaded_at > cast(" ~ clv_quote(last_success) ~ " as timestamp) order by source_file"
    ).columns[0].values() | list -%}
    {{ return(files) }}
{%- endmacro -%}

{%- macro clv_source_file_filter(files, column='source_file') -%}
    {#- `source_file in (...)` with constants, so that a Parquet scan opens only those files. -#}
    {%- if files | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({% for file in files %}{{ clv_quote(file) }}{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro -%}
