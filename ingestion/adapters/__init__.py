"""Adapters turn a configured source system into extracts the loader understands (``copy_loader.Extract``)."""
