"""skmlp: scikit-learn compatible Keras multi-layer perceptrons.

Every knob of the classic MNIST/Keras MLP labs is a constructor parameter, so
the networks plug into ``Pipeline``, ``GridSearchCV``, cross-validation and
soft-voting ensembles.
"""

from importlib.metadata import PackageNotFoundError, version

from ._saving import load
from .estimators import MLPKerasClassifier, MLPKerasRegressor
from .preprocessing import IDXLoader, SubsetSplitter

try:
    __version__ = version("skmlp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "IDXLoader",
    "SubsetSplitter",
    "MLPKerasClassifier",
    "MLPKerasRegressor",
    "__version__",
    "load",
]
