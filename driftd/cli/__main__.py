"""`python -m driftd.cli ...`, the same as the `driftd` command."""

import sys

from driftd.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
