"""The data the DAGs produce, as Airflow Assets, so that downstream DAGs run when it changes.

Cheap to import: the DAG files share these definitions.
"""

from airflow.sdk import Asset


def _asset(name: str) -> Asset:
    return Asset(name=f"complaints_warehouse.{name}", uri=f"complaints-warehouse://warehouse/{name}")


RAW_CASE_SYSTEM = _asset("raw_case_system")
REFERENCE = _asset("reference")
MARTS = _asset("marts")
OMBUDSMAN_MARTS = _asset("ombudsman_marts")
