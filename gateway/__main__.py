"""`python -m gateway` is the `govgraph` command."""

import sys

from .cli import main

sys.exit(main())
