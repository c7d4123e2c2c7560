"""`python -m tracker` runs the `llm-energy` command line."""

import sys

from tracker.cli import main

sys.exit(main())
