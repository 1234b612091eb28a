"""What the benchmark scripts share: where real MNIST is read from."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def add_data_argument(parser: argparse.ArgumentParser, **kwargs) -> None:
    """``--data``: the MNIST folder (``SKMLP_TEST_MNIST``, else ../shared)."""
    default = os.environ.get("SKMLP_TEST_MNIST", str(ROOT.parent / "shared/data/mnist"))
    kind = kwargs.get("type", str)
    parser.add_argument(
        "--data", default=kind(default), help="folder of the MNIST IDX files", **kwargs
    )
