"""A realistic council complaints case system to pull from: the demo's source, and the tests' truth.

It imitates a vendor product (a "Representations Management System") in its own PostgreSQL database, with
the product's own table names and codes, so the warehouse reaches it exactly as it would a council's
real system: through the SQL adapter and a YAML mapping (``ingestion/sources/case_system_simulator.yml``).

Deterministic from a seed; sized from one council-year to hundreds of councils over ten years; rates
calibrated to the councils' published reports (``calibration.py``). It can advance a day at a time, with
new cases, progress on open ones, late corrections, reopenings, deletions and reorganisations, and it
knows its own truth (``truth.py``) so tests can check the warehouse against it.
"""

from case_system_simulator.simulator import CaseSystemSimulator

__all__ = ["CaseSystemSimulator"]
