{{ config(enabled=clv_input_layout() == 'cdnow') }}
{%- do clv_check_input_file(source('cdnow', 'purchases'), 'cdnow') -%}

with

source as (

    select * from {{ source('cdnow', 'purchases') }}

),

numbered as (

    {{ clv_number_lines_per_file('source', 'filename') }}

),

fields as (

    select
        source_file,
        file_line_number,
        {{ clv_split_whitespace('line') }} as line_fields
    from numbered
    -- blank lines carry no data (the CSV reader skips them too)
    where line is not null and trim(line) <> ''

),

data_lines as (

    select
        source_file,
        line_fields,
        cast(row_number() over (
            partition by source_file order by file_line_number
        ) as bigint) as source_row_number
    from fields
    -- a header is a first line whose first two fields are not numbers (a data line's second
    -- field is its date, or the sample id, even when the customer id is not a number)
    where
        file_line_number > 1
        or {{ clv_regexp_full_match(clv_list_element('line_fields', 1), '[0-9]+([.][0-9]*)?') }}
        or {{ clv_regexp_full_match(clv_list_element('line_fields', 2), '[0-9]+([.][0-9]*)?') }}

),

renamed as (

    select
        -- lineage
        source_file,
        source_row_number,
        {{ clv_list_length('line_fields') }} not in (4, 5) as is_malformed_line,

        -- the master file has 4 fields; the 1/10 sample adds its sample id as field 2
        {{ clv_list_element('line_fields', 1) }} as customer_id_raw,
        -- CDNOW has no order number: each line is one order, named by its row in the file
        -- (so identical lines stay separate orders, but a file loaded twice is caught)
        'cdnow-' || cast(source_row_number as string) as order_id_raw,
        case {{ clv_list_length('line_fields') }}
            when 4 then {{ clv_list_element('line_fields', 2) }}
            when 5 then {{ clv_list_element('line_fields', 3) }}
        end
            as ordered_at_raw,
        cast(null as string) as product_id_raw,
        cast(null as string) as product_description,
        case {{ clv_list_length('line_fields') }}
            when 4 then {{ clv_list_element('line_fields', 3) }}
            when 5 then {{ clv_list_element('line_fields', 4) }}
        end
            as quantity_raw,
        cast(null as string) as unit_price_raw,
        case {{ clv_list_length('line_fields') }}
            when 4 then {{ clv_list_element('line_fields', 4) }}
            when 5 then {{ clv_list_element('line_fields', 5) }}
        end
            as amount_raw,
        cast(null as string) as store_id_raw,
        cast(null as string) as country_raw,
        false as is_cancellation

    from data_lines

),

parsed as (

    select
        *,
        {{ clv_parsed_columns() }}
    from renamed

)

select * from parsed
