"""CLV Warehouse: the Python side of the dbt project.

- ``clv_warehouse.project``: where the project, its input and its warehouse file are, and how
  dbt is run (the ``clv`` command and the tests share it).
- ``clv_warehouse.summary``: the summary ``clv build`` prints after a build.
- ``clv_warehouse.cli``: the ``clv`` command.

Nothing here imports dbt: the dbt project calls into this package, never the reverse.
"""

__version__ = "0.1.0"
