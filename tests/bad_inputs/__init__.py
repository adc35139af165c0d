"""The bad-input catalogue: every kind of bad input the warehouse meets, what it does with each, and how
to make one from the bundled good samples.

``catalogue.CATALOGUE`` is the data; ``tests/test_bad_input_catalogue.py`` runs every entry against a real
PostgreSQL through the real loader or command line; ``doc`` renders ``docs/bad-input-catalogue.md``
(``make bad-input-doc``).
"""
