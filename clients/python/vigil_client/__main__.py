"""`python -m vigil_client` is the `vigil` command."""

import sys

from vigil_client.cli import main

sys.exit(main())
