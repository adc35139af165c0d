"""Development tools, apart from the product: they are not installed with the package (pyproject's
``packages.find`` lists only the product's packages) and the product never imports them (save the
``bench`` subcommand, which finds them in the checkout; ``tests/test_package_layers.py``).

``bench`` and ``national_bench`` (``make bench``, ``complaints-warehouse bench`` from a checkout),
``simulator_scale`` (the simulated case system copied to national scale in SQL), ``secret_scan`` (run by
``tests/test_secret_scan.py``), ``faults`` (the crash tests' fault injection: ``python -m tools.faults run``)."""
