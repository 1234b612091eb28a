"""python -m skmlp: the skmlp command."""

import sys

from .cli import main

sys.exit(main())
