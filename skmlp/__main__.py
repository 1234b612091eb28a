"""python -m skmlp: the skmlp command."""

import sys

from .cli import main

if __name__ == "__main__":  # not when documentation tools import the package
    sys.exit(main())
