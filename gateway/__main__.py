"""`python -m gateway` is the `govgraph` command."""

import sys

from gateway.cli.main import main

sys.exit(main())
