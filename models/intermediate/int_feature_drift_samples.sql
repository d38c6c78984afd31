{#-
    The two samples feature drift compares, one row per customer and cutoff with every model
    input (int_model_inputs): sample_role 'training' for the rows the production model was
    trained on, 'scoring' for the customers at this build's scoring cutoff.
    A view: it only selects rows of int_model_inputs.
-#}
{{ config(materialized='view') }}

with

inputs as (

    select * from {{ ref('int_model_inputs') }}

),

release_training_rows as (

    -- The release's training rows. There is no versioned model release yet: the model that
    -- produced the current predictions is this build's production fit (python_models/xgboost),
    -- trained on every training-eligible row whose label is complete
    -- (clv_warehouse.modeling.tables.phase_rows('production')). When releases exist, select
    -- the release's training cutoffs here; nothing else needs to change.
    select
        'training' as sample_role,
        inputs.*
    from inputs
    where inputs.is_training_eligible and inputs.is_label_complete

),

scoring_rows as (

    select
        'scoring' as sample_role,
        inputs.*
    from inputs
    where inputs.cutoff_role = 'scoring'

),

final as (

    select * from release_training_rows
    union all
    select * from scoring_rows

)

select * from final
