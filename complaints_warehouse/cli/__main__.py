"""``python -m complaints_warehouse.cli``: the same as the ``complaints-warehouse`` console script."""

import sys

from complaints_warehouse.cli import main

sys.exit(main())
