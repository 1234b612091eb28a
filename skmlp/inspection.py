"""Look inside an estimator's network: the layer table and parameter count."""

from __future__ import annotations

from .estimators import MLPKerasClassifier, _BaseMLP


def summary(
    estimator: _BaseMLP, n_features: int | None = None, n_outputs: int | None = None
) -> str:
    """Keras' layer table of an estimator's network, as text.

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
    str
        The table, ending with the total parameter count; print it.

    Examples
    --------
    >>> from skmlp import MLPKerasClassifier, summary
    >>> text = summary(MLPKerasClassifier((128, 128)), n_features=784, n_outputs=10)
    >>> "118,282" in text
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
        if isinstance(estimator, MLPKerasClassifier):
            from ._network import output_layer_for

            units, activation = output_layer_for(n_outputs, estimator.loss)
        else:
            units, activation = n_outputs, "linear"
        model = estimator._build_network(n_features, units, activation)
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line), line_length=80)
    return "\n".join(lines)
