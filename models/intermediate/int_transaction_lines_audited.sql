{#-
    Every raw line of the input, typed, with the one reason it is rejected (null = kept).
    The rules are checked in the order of seeds/rejection_reasons.csv (priority): a line that
    breaks several rules carries the first. transactions and transaction_rejections split
    this table, so raw rows = kept rows + rejected rows by construction, and
    tests/dbt/assert_every_raw_row_kept_or_rejected_once.sql checks it against the staging
    view on every build.

    Incremental: a build reads only the input files this table does not hold yet (for
    Parquet, the other files are not even opened; see clv_number_lines_per_file), and
    classifies their lines against everything loaded before, so the table equals a full
    rebuild on the same files. Lines rejected only as date_after_as_of are classified again
    on every build, because the as-of date moves. What would make the result differ from a
    full rebuild stops the build with what to do (macros/inputs/incremental_load.sql): a
    loaded file that disappeared, a new file that sorts before a loaded one, changed
    cleaning settings, an as-of date moved back, or a loaded file changed under the same name
    (its fingerprint, recorded by the post-hook, macros/inputs/input_fingerprints.sql).
    `dbt build --full-refresh` (or `clv build -- --full-refresh`) rebuilds from every raw line.
    A build that keeps no purchase line stops here too (clv_check_kept_lines; outside the
    model's transaction on DuckDB, inside on Spark, whose materializations run no other hooks).
-#}
{{ config(
    materialized=clv_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['source_file', 'source_row_number'],
    on_schema_change='fail',
    post_hook=[
        "{{ clv_record_input_files() }}",
        {"sql": "{{ clv_check_kept_lines(this) }}", "transaction": target.type == 'spark'},
    ],
) }}
{%- set as_of_date = clv_as_of_date() -%}
{%- set loaded_files = clv_check_incremental_load(this) if is_incremental() else [] -%}
{%- set raw_columns = clv_raw_line_columns() -%}
{%- set unioned = ref('int_transaction_lines_unioned') -%}
{%- set lineage_and_raw_columns = ['source_file', 'source_row_number'] + raw_columns -%}

{%- set keyed_raw_columns = [] -%}
{%- for column in raw_columns -%}{%- do keyed_raw_columns.append('keyed.' ~ column) -%}{%- endfor -%}
{%- set line_key = clv_hash(raw_columns) -%}
{%- set raw_line = clv_struct(raw_columns) -%}
{%- set keyed_raw_line = clv_struct(keyed_raw_columns) -%}

with

-- the batch: the lines of new files, and lines rejected only for their date, which the moved
-- as-of date may now allow (clv_audit_batch)
staged_lines as (

    {{ clv_audit_batch(unioned, this, loaded_files, clv_staged_line_columns(), with_loaded_at=true) }}

),

keyed as (

    select
        *,
        {{ line_key }} as line_key
    from staged_lines

),

-- exact copies within the batch. Lines are first grouped by the hash of their raw values
-- (cheap); only the few lines whose hash repeats are compared on all their raw values.
repeated_line_keys as (

    select {{ line_key }} as line_key
    from ({{ clv_audit_batch(unioned, this, loaded_files, raw_columns) }}) as batch_lines
    group by 1
    having count(*) > 1

),

later_copies as (

    select
        source_file,
        source_row_number
    from (
        select
            source_file,
            source_row_number,
            row_number() over (
                partition by {{ line_key }}, {{ raw_line }}
                order by source_file, source_row_number
            ) as copy_number
        from ({{ clv_audit_batch(unioned, this, loaded_files, lineage_and_raw_columns) }}) as batch_lines
        where {{ line_key }} in (select repeated_line_keys.line_key from repeated_line_keys)
    ) as candidates
    where copy_number > 1

),

{% if is_incremental() -%}
earlier_copies as (

    -- lines loaded before with the same raw values as a line of this batch
    select
        source_file,
        source_row_number,
        line_key,
        {{ raw_line }} as raw_line
    from {{ this }}
    where line_key in (select {{ line_key }} from ({{ clv_audit_batch(unioned, this, loaded_files, raw_columns) }}) as batch_lines)

),

{% endif -%}
non_product_codes as (

    select upper(trim(product_code)) as product_code from {{ ref('non_product_codes') }}

),

checked as (

    select
        keyed.*,

        -- a number was given but is not one, or no revenue can be computed
        (
            ({{ clv_clean_text('keyed.quantity_raw') }} is not null and keyed.quantity is null)
            or ({{ clv_clean_text('keyed.unit_price_raw') }} is not null and keyed.unit_price is null)
            or ({{ clv_clean_text('keyed.amount_raw') }} is not null and keyed.amount is null)
            or keyed.line_revenue is null
        ) as has_unparseable_number,

        non_product_codes.product_code is not null as is_non_product_code,

        -- the second and later copies of a line whose raw values are all equal
        (
            later_copies.source_file is not null
            {%- if is_incremental() %}
            or exists (
                select 1
                from earlier_copies
                where earlier_copies.line_key = keyed.line_key
                    and earlier_copies.raw_line = {{ keyed_raw_line }}
                    and (
                        earlier_copies.source_file < keyed.source_file
                        or (
                            earlier_copies.source_file = keyed.source_file
                            and earlier_copies.source_row_number < keyed.source_row_number
                        )
                    )
            )
            {%- endif %}
        ) as is_duplicate_line

    from keyed
    left join non_product_codes
        on upper(keyed.product_id) = non_product_codes.product_code
    left join later_copies
        on keyed.source_file = later_copies.source_file
        and keyed.source_row_number = later_copies.source_row_number

),

classified as (

    select
        *,
        case
            when is_malformed_line then 'malformed_line'
            when customer_id is null then 'missing_customer_id'
            when order_id is null then 'missing_order_id'
            when ordered_at is null then 'unparseable_date'
            when has_unparseable_number then 'unparseable_number'
            when order_date < cast({{ clv_quote(clv_earliest_valid_date()) }} as date)
                then 'date_before_earliest_valid'
            {% if as_of_date -%}
            when order_date >= cast({{ clv_quote(as_of_date) }} as date) then 'date_after_as_of'
            {%- else -%}
            when order_date > current_date then 'date_after_as_of'
            {%- endif %}
            when is_non_product_code then 'non_product_code'
            when unit_price <= 0 then 'zero_or_negative_price'
            when unit_price is null and line_revenue = 0 then 'zero_or_negative_price'
            when quantity = 0 then 'zero_quantity'
            when quantity * amount < 0 then 'quantity_amount_sign_mismatch'
            when is_duplicate_line then 'duplicate_line'
        end as rejection_reason
    from checked

),

final as (

    select
        -- the staged line: lineage, raw values as read, parsed values
        {{ clv_staged_line_columns() | join(',\n        ') }},

        -- classification
        line_revenue < 0 as is_return,
        rejection_reason,
        rejection_reason is null as is_kept,

        -- incremental bookkeeping: the raw values' hash (finds copies of earlier lines),
        -- when the build that first loaded the line and the one that last classified it
        -- started, and the cleaning settings it was classified with
        line_key,
        loaded_at,
        cast('{{ run_started_at }}' as timestamp) as classified_at,
        '{{ clv_cleaning_rules_version() }}' as rules_version

    from classified

)

select * from final
