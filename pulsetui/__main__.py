"""``python -m pulsetui``."""

import sys

from pulsetui.app import main

sys.exit(main())
