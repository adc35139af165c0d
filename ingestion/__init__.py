"""Source adapters: bring each source's extract into the warehouse's raw schemas, losing nothing.

``contract`` says what a source table must look like; ``copy_loader`` streams a file into PostgreSQL with
COPY, checks every row against the contract in SQL, appends the good rows to ``raw_<source>`` and the bad
ones to ``audit.quarantine``, and records the batch in ``audit.load_batches``.
"""
