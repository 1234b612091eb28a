"""What the benchmark scripts share: where real MNIST is read from."""

from __future__ import annotations

import argparse
import json
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


def apply_xla_options() -> None:
    """``SKMLP_BENCH_XLA`` (JSON): the engine's XLA options on a GPU, to compare."""
    if os.environ.get("SKMLP_BENCH_XLA"):
        from skmlp._engine import _jax

        _jax.COMPILER_OPTIONS["gpu"] = json.loads(os.environ["SKMLP_BENCH_XLA"])
