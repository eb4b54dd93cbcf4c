"""``python -m pulsed`` runs the daemon."""

import sys

from pulsed.cli import main

sys.exit(main())
