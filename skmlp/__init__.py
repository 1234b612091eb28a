"""skmlp: scikit-learn compatible Keras multi-layer perceptrons.

Every knob of the classic MNIST/Keras MLP labs is a constructor parameter, so
the networks plug into ``Pipeline``, ``GridSearchCV``, cross-validation and
soft-voting ensembles.

The names below load on first use, so that ``import skmlp`` and the ``skmlp``
command start without waiting for TensorFlow.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("skmlp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

# Public name -> module that defines it.
_PUBLIC = {
    "MLPKerasClassifier": "estimators",
    "MLPKerasRegressor": "estimators",
    "IDXLoader": "preprocessing",
    "SubsetSplitter": "preprocessing",
    "load": "_saving",
    "save": "_saving",
    "network_summary": "inspection",
    "summary": "inspection",  # network_summary's earlier name
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'skmlp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
