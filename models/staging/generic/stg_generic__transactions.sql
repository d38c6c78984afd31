{{ config(enabled=clv_input_layout() == 'generic') }}
{%- set mapping = clv_generic_column_map() -%}
{%- set spec = {} -%}
{%- for canonical, column_name in mapping.items() -%}
{%- do spec.update({canonical: ([column_name] if column_name else [])}) -%}
{%- endfor -%}
{%- set columns = clv_check_input_file(source('generic', 'transactions'), 'generic', spec) -%}

with

source as (

    select * from {{ source('generic', 'transactions') }}

),

numbered as (

    {{ clv_number_lines_per_file('source', 'filename') }}

),

renamed as (

    select
        -- lineage
        source_file,
        file_line_number as source_row_number,
        -- a line with fewer (or more) fields than the header
        {{ clv_line_field_check(source('generic', 'transactions')) }} as is_malformed_line,

        -- raw values as text, renamed to the canonical names
        {{ clv_raw_text_columns(columns, 'file_line_number') }},
        false as is_cancellation

    from numbered

),

parsed as (

    select
        *,
        {{ clv_parsed_columns() }}
    from renamed

)

select * from parsed
