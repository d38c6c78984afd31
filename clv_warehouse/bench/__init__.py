"""The scale benchmark (``clv bench``): one generated input, measured step by step.

    generate -> scan floor -> dbt build in six stages -> pandas route -> append a day
    -> dbt build again (incremental refresh)

``stages`` assigns every dbt node to a stage, ``measure`` runs each step as a child process
and records its wall time and peak RSS, ``pandas_route`` is the pandas comparison (run as its
own process), ``run`` orchestrates and writes bench/results/<layout>_<size>.json and .md.
"""
