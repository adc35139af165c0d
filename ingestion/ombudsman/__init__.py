"""The Local Government and Social Care Ombudsman's (LGSCO) open data."""
