"""Look inside an estimator's network: the layer table and parameter count."""

from __future__ import annotations

import html

import numpy as np

from ._base import _BaseMLP
from ._network import build_mlp, network_dtype
from ._targets import ClassTargets, RegressionTargets
from .estimators import MLPKerasClassifier

__all__ = ["NetworkSummary", "network_summary", "summary"]


class NetworkSummary(str):
    """Keras' layer table of a network: text that shows itself as a table.

    A ``str`` (print it, search it, write it to a file) whose ``repr`` is the
    table itself, so a notebook cell that ends in ``network_summary(clf)``
    shows the table rather than a quoted string full of ``\\n``; in a
    notebook it renders as an HTML table. ``n_params`` is the parameter
    count; ``layers`` holds a ``(name, output shape, parameters)`` row per
    layer.
    """

    n_params: int
    layers: list[tuple[str, tuple, int]]

    def __new__(cls, text: str, n_params: int, layers: list) -> NetworkSummary:
        self = super().__new__(cls, text)
        self.n_params, self.layers = n_params, layers
        return self

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(shape))}</td>"
            f"<td style='text-align:right'>{count:,}</td></tr>"
            for name, shape, count in self.layers
        )
        return (
            "<table><thead><tr><th>layer</th><th>output shape</th>"
            f"<th>parameters</th></tr></thead><tbody>{rows}</tbody>"
            f"<tfoot><tr><td colspan='2'>total</td>"
            f"<td style='text-align:right'>{self.n_params:,}</td></tr></tfoot></table>"
        )


def network_summary(
    estimator: _BaseMLP, n_features: int | None = None, n_outputs: int | None = None
) -> NetworkSummary:
    """Keras' layer table of an estimator's network, and its parameter count.

    A fitted estimator shows its trained network. An unfitted one is built
    for ``n_features`` inputs and ``n_outputs`` classes (classifier) or
    targets (regressor), so the size of a configuration can be read before
    training: the labs' 784-128-128-10 network has 118,282 parameters.

    Parameters
    ----------
    estimator : MLPKerasClassifier or MLPKerasRegressor
    n_features, n_outputs : int, default=None
        Needed only when ``estimator`` is not fitted.

    Returns
    -------
    NetworkSummary
        The table as text (a ``str``), ending with the total parameter
        count, with ``n_params`` and ``layers``; a notebook shows it as a
        table.

    Examples
    --------
    >>> from skmlp import MLPKerasClassifier, network_summary
    >>> table = network_summary(MLPKerasClassifier((128, 128)), n_features=784, n_outputs=10)
    >>> table.n_params
    118282
    >>> "118,282" in table
    True
    """
    if hasattr(estimator, "model_"):
        model = estimator.model_
    else:
        if n_features is None or n_outputs is None:
            raise ValueError(
                "the estimator is not fitted: give n_features and n_outputs to build its network"
            )
        estimator._check_params()
        targets = (
            ClassTargets.fit(np.arange(n_outputs), loss=estimator._loss)
            if isinstance(estimator, MLPKerasClassifier)
            else RegressionTargets.fit(
                np.zeros((1, n_outputs)), loss=estimator._loss, dtype="float32"
            )
        )
        dtype = network_dtype(estimator.dtype, np.zeros(1, np.float32))
        model = build_mlp(estimator._make_spec(targets, n_features, dtype, 0))
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line), line_length=80)
    layers = [
        (layer.name, tuple(layer.output.shape), layer.count_params())
        for layer in model.layers
    ]
    return NetworkSummary("\n".join(lines), model.count_params(), layers)


# The name of earlier releases (kept: it is what older notebooks import).
summary = network_summary
