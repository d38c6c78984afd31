{#-
    The one way a value read from a file or a setting becomes SQL text.

    clv_quote(value)                     a string literal:  'it''s'   (every ' doubled)
    clv_quote(value, kind='identifier')  an identifier:     "a ""b""" (every " doubled)

    On Spark (spark__clv_quote_text) a literal escapes backslashes and quotes with a
    backslash ('it\'s', 'C:\\data'), since a backslash starts an escape in a Spark string and
    two adjacent literals are concatenated; an identifier is in backticks (every ` doubled).

    Nothing else in the project may paste a file name, header cell, path or setting into
    SQL: a header cell such as `x"; copy (select 1) to 'pwned.csv'; --` must stay a name.
    Text holding a NUL character cannot be a DuckDB identifier or literal and is refused.
-#}
{% macro clv_quote(value, kind='literal') -%}
    {%- set text = value | string -%}
    {%- if '\x00' in text -%}
        {{ exceptions.raise_compiler_error("A name or setting holds a NUL character, which SQL cannot carry: " ~ (text | replace('\x00', '\\0'))[:80] ~ ". Remove it.") }}
    {%- endif -%}
    {%- if kind not in ('literal', 'identifier') -%}
        {{ exceptions.raise_compiler_error("clv_quote: kind must be 'literal' or 'identifier', got '" ~ kind ~ "'") }}
    {%- endif -%}
    {{- adapter.dispatch('clv_quote_text', 'clv_warehouse')(text, kind) -}}
{%- endmacro %}

{% macro default__clv_quote_text(text, kind) -%}
    {%- if kind == 'identifier' -%}
        "{{ text | replace('"', '""') }}"
    {%- else -%}
        '{{ text | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{% macro spark__clv_quote_text(text, kind) -%}
    {%- if kind == 'identifier' -%}
        `{{ text | replace('`', '``') }}`
    {%- else -%}
        '{{ text | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
