"""The warehouse itself: its database (``database``: where it is, how to connect, the schemas' bootstrap in
``sql/``), the embedded PostgreSQL (``embedded_db``), the database roles (``roles``), the advisory locks
(``locks``), crash recovery of the ledgers (``recovery``) and children that die with the pipeline
(``child_process``). It sits above ``settings`` and ``errors`` and below everything else (see
``tests/test_package_layers.py``)."""
