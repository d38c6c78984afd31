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

    -- The rows the production boosters were trained on: every training-eligible row whose
    -- label is complete (clv_warehouse.modeling.tables.phase_rows('production')). In a train
    -- build they are this build's; in a score build the grid and the training cutoffs'
    -- features are the release's (int_customer_features_at_cutoffs keeps them), so they are
    -- the release's training rows, except where a late line changed a label.
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
