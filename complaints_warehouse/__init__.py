"""Complaints warehouse: the pipeline steps shared by the command line and the Airflow DAGs.

The way of the data: source adapters (``ingestion``) -> raw schemas -> dbt (``dbt_project``) ->
Great Expectations (``expectations``) -> publication -> reports. Each step is a plain function in
``complaints_warehouse.pipeline``; ``complaints_warehouse.cli`` and ``dags/`` are two drivers of them.
"""

__version__ = "0.1.0"
