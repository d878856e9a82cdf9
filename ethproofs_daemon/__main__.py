"""``python -m ethproofs_daemon`` → the CLI."""

import sys

from ethproofs_daemon.cli import main

sys.exit(main())
