"""`python -m driftd.cli ...`, the same as the `driftd` command."""

import sys

from driftd.cli.main import main

sys.exit(main())
