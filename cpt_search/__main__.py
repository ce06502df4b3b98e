"""``python -m cpt_search`` runs the CLI."""

import sys

from cpt_search.cli import main

sys.exit(main())
