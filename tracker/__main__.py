"""`python -m tracker` runs the `llm-energy` command line."""

import sys

from tracker.cli._app import main

sys.exit(main())
