"""The estimators' parameters: what each accepts and what it means, in one place.

For every parameter of ``MLPKerasClassifier`` and ``MLPKerasRegressor``:
``CONSTRAINTS`` (checked by ``fit``; ``CLASSIFIER_CONSTRAINTS`` the
classifier's own), ``PARAMETERS_DOC`` (the numpydoc section of both
estimators' docstrings), ``KERAS`` (where it goes in Keras) and, for those
the command line offers, ``FLAGS`` (``skmlp train`` and ``skmlp grid`` build
their options and their mapping to parameters from it). The user guide's
table of every parameter is generated from this module
(``tools/make_api_reference.py``). ``tests/test_params.py`` checks all of it
against the estimators' signatures, so that none of them can drift.

Adding a parameter: a row in each table here, the argument in both
estimators' signatures, and its use where the network is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where each parameter goes in Keras (the user guide's table).
KERAS = {
    "hidden_layer_sizes": "one `Dense(units)` per entry",
    "activation": "`Activation(name)` after each hidden `Dense`",
    "kernel_initializer": "`Dense(kernel_initializer=...)`",
    "bias_initializer": "`Dense(bias_initializer=...)`",
    "dropout": "`Dropout(rate)` after each hidden activation",
    "batch_normalization": "`Dense -> BatchNormalization -> Activation`",
    **{
        f"{kind}_{norm}": f"`{kind}_regularizer=L1L2(...)` on every "
        + ("`Dense`" if kind != "activity" else "hidden layer")
        for kind in ("kernel", "bias", "activity")
        for norm in ("l1", "l2")
    },
    "optimizer": "a new optimizer at each fit; `optimizer__<arg>` to its constructor",
    "learning_rate": "the optimizer's `learning_rate`",
    "momentum": "`SGD(momentum=...)`, `RMSprop(momentum=...)`",
    "loss": "`compile(loss=...)`",
    "metrics": "`compile(metrics=...)`",
    "batch_size": "`fit(batch_size=...)`",
    "epochs": "`fit(epochs=...)`",
    "validation_split": "`fit(validation_split=...)` (the last rows)",
    "shuffle": "`fit(shuffle=...)`",
    "callbacks": "`fit(callbacks=...)`",
    "verbose": "`fit(verbose=...)`",
    "random_state": "the estimator's own seeds (nothing global)",
    "run_eagerly": "`compile(run_eagerly=...)`",
    "warm_start": "keep the weights and optimizer state between fits",
    "early_stopping": "`EarlyStopping(restore_best_weights=True)`",
    "patience": "`EarlyStopping(patience=...)`",
    "min_delta": "`EarlyStopping(min_delta=...)`",
    "tensorboard_dir": "`TensorBoard(log_dir=...)`",
    "steps_per_execution": '`compile(steps_per_execution=...)` (`engine="keras"`)',
    "jit_compile": '`compile(jit_compile=...)` (`engine="keras"`)',
    "engine": "skmlp's compiled loop, or Keras' `model.fit`",
    "class_weight": "multiplied into the sample weights",
}


@dataclass(frozen=True)
class Flag:
    """The command-line option of one parameter (``skmlp train`` and ``grid``).

    ``default`` is the commands' own (the labs' networks), not the
    estimator's. ``kind``: "text", "number", "count" (a positive integer) or
    "switch" (on when given). ``several``: ``grid`` takes several values,
    one candidate each.
    """

    option: str
    help: str
    default: Any = None
    kind: str = "text"
    several: bool = True

    @property
    def dest(self) -> str:
        return self.option[2:].replace("-", "_")


FLAGS = {
    "hidden_layer_sizes": Flag(
        "--hidden",
        "units per hidden layer: 128,128",
        default="128,128",
    ),
    "activation": Flag("--activation", "relu, elu, sigmoid, tanh, ...", "relu"),
    "dropout": Flag(
        "--dropout", "dropout rate after each hidden layer", 0.0, kind="number"
    ),
    "kernel_initializer": Flag("--initializer", "kernel initializer", "glorot_uniform"),
    "batch_normalization": Flag(
        "--batch-norm", "batch normalisation before each activation", kind="switch"
    ),
    "kernel_l1": Flag("--kernel-l1", "L1 penalty on the kernels", 0.0, kind="number"),
    "kernel_l2": Flag("--kernel-l2", "L2 penalty on the kernels", 0.0, kind="number"),
    "optimizer": Flag("--optimizer", "adam, sgd, rmsprop, ...", "adam"),
    "learning_rate": Flag(
        "--learning-rate", "default: the optimizer's own", kind="number"
    ),
    "momentum": Flag(
        "--momentum", "for sgd and rmsprop", 0.0, kind="number", several=False
    ),
    "batch_size": Flag("--batch-size", "rows per gradient step", 128, kind="count"),
    "epochs": Flag("--epochs", "passes over the data", 10, kind="count", several=False),
    "validation_split": Flag(
        "--validation-split",
        "share of training rows held out for val_* curves",
        0.1,
        kind="number",
        several=False,
    ),
    "early_stopping": Flag(
        "--early-stopping",
        "stop when the validation loss stops improving",
        kind="switch",
        several=False,
    ),
}


# numpydoc docstrings, shared where the two estimators share parameters.
PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Units of each hidden ``Dense`` layer (the labs' ``N_HIDDEN``). ``()``
        gives the simple perceptron (logistic / linear regression).
    activation : str or list of str, default="relu"
        Hidden activation, one name or one per layer: 'relu', 'sigmoid',
        'tanh', 'elu', 'selu', 'leaky_relu', 'gelu', 'swish', 'linear', ...
    kernel_initializer : str or keras Initializer, default="glorot_uniform"
        Initialiser of every ``Dense`` layer's weights (Keras' default).
        'he_normal' suits ReLU; 'xavier_normal' is an alias of
        'glorot_normal'.
    bias_initializer : str or keras Initializer, default="zeros"
        Initialiser of every ``Dense`` layer's biases (Keras' default).
    dropout : float or list of float, default=0.2
        Rate of the ``Dropout`` layer after each hidden activation, in [0, 1).
    batch_normalization : bool, default=False
        Insert ``BatchNormalization`` between each hidden ``Dense`` layer and
        its activation.
    kernel_l1, kernel_l2, bias_l1, bias_l2 : float, default=0.0
        L1/L2 penalties on the weights and biases of every ``Dense`` layer.
    activity_l1, activity_l2 : float, default=0.0
        L1/L2 penalties on the hidden layers' outputs.
    optimizer : str, keras Optimizer or Optimizer class, default="adam"
        'sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam', 'adamax',
        'adadelta', 'ftrl' or 'lion'. A new optimizer is made at each fit.
        Its other arguments are set with ``optimizer__<name>``, e.g.
        ``optimizer__nesterov=True`` or ``optimizer__beta_1=0.95``.
    learning_rate : float, default=None
        None keeps the optimizer's Keras default (SGD 0.01, Adam 0.001).
    momentum : float, default=0.0
        Momentum of 'sgd' and 'rmsprop'.
    loss : str or keras Loss, default=None
        None chooses from the target (see the class description).
    metrics : list, default=None
        Keras metrics recorded in ``history_``; None means ['accuracy'] for
        the classifier and none for the regressor.
    batch_size : int, default=128
        Rows per gradient step.
    epochs : int, default=12
        Passes over the training data per ``fit``.
    validation_split : float, default=0.0
        Fraction of rows held out for ``val_*`` scores in ``history_``. As in
        Keras, these are the *last* rows, taken before shuffling.
    shuffle : bool, default=True
        Shuffle the training rows before each epoch.
    callbacks : list of keras Callback, default=None
        Extra Keras callbacks; copied at each fit, so the originals stay
        unused and the estimator stays clonable.
    verbose : int, default=0
        Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    random_state : int, RandomState or None, default=None
        Seeds weights, dropout and shuffling; the same int gives the same
        model on the same machine. The global Python and NumPy random states
        are restored after each fit.
    run_eagerly : bool, default=False
        Run Keras step by step in Python (for debugging; much slower).
    warm_start : bool, default=False
        Let ``fit`` continue training the current network instead of
        starting afresh.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``min_delta`` for
        ``patience`` epochs, and restore the best weights. Uses
        ``validation_split`` (the last rows), or, when that is 0, a random
        10% of the rows, stratified by class.
    patience : int or np.inf, default=5
    min_delta : float, default=0.0
    tensorboard_dir : str or path, default=None
        Write TensorBoard logs (scalars and weight histograms) to a new
        sub-folder of this folder at every fit.
    steps_per_execution : int or "auto", default="auto"
        Gradient steps per call into Keras' compiled training function, for
        ``engine="keras"`` only. "auto" takes up to 256 (32 on JAX and with
        ``verbose=1``; always 1 on torch, which allows no more).
    jit_compile : bool or "auto", default="auto"
        XLA compilation, as Keras' ``compile(jit_compile=...)``, for
        ``engine="keras"`` only.
    engine : {"auto", "keras"}, default="auto"
        "auto" trains with skmlp's compiled engine: one compiled call per
        epoch, reused by every later fit of the same network structure (a
        second fit, a CV fold, a grid candidate with another learning rate,
        dropout rate, L1/L2 strength or seed compiles nothing). It falls back
        to Keras' ``model.fit`` for what it does not cover: ``run_eagerly``,
        metrics other than accuracy, callbacks that override batch-level
        hooks, and routed ``compile__*``/``fit__*`` arguments. "keras"
        always uses ``model.fit`` (for debugging; slower, and it reseeds
        Keras' global random generators during the fit).
    **routed_params
        ``optimizer__*``, ``compile__*`` and ``fit__*`` arguments passed on to
        the optimizer, ``Model.compile`` and ``Model.fit``.
"""

ATTRIBUTES_DOC = """
    model_ : keras.Model
        The trained Keras network.
    history_ : dict of list of float
        Per-epoch ``loss`` (and ``accuracy``, ``val_loss``, ``val_accuracy``
        where they apply), growing across ``warm_start`` fits and
        ``partial_fit`` calls.
    n_iter_ : int
        Epochs trained (fewer than ``epochs`` after early stopping).
    coefs_, intercepts_ : list of ndarray
        Copies of each ``Dense`` layer's kernel and bias, input to output, as
        in scikit-learn's ``MLPClassifier``.
    loss_curve_ : list of float
        The training loss per epoch (``history_["loss"]``).
    best_loss_ : float
        The lowest training loss reached.
    n_features_in_ : int
        Number of input features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when ``X`` was a DataFrame with string columns.
    tensorboard_log_dir_ : str
        The TensorBoard run folder of the last fit, when ``tensorboard_dir``
        is set.
"""


def _make_constraints() -> dict[str, dict]:
    """``CONSTRAINTS`` and ``CLASSIFIER_CONSTRAINTS``, made on first use.

    They name Keras' classes; the ``skmlp`` command reads ``FLAGS`` from
    this module without waiting for Keras to load.
    """
    import numbers

    import numpy as np

    from . import _network
    from ._engine._program import HYPER_NAMES
    from ._keras import keras
    from ._validation import (
        Boolean,
        Infinity,
        InstanceOf,
        Interval,
        LayerSizes,
        NoneValue,
        Options,
        PathLike,
        PerLayer,
    )

    CONSTRAINTS = {
        "hidden_layer_sizes": [LayerSizes()],
        "activation": [PerLayer(Options(*_network.ACTIVATIONS))],
        "kernel_initializer": [
            Options(*_network.INITIALIZERS),
            InstanceOf(keras.initializers.Initializer),
        ],
        "bias_initializer": [
            Options(*_network.INITIALIZERS),
            InstanceOf(keras.initializers.Initializer),
        ],
        "dropout": [PerLayer(Interval(numbers.Real, 0, 1, closed="left"))],
        "batch_normalization": [Boolean()],
        **{name: [Interval(numbers.Real, 0, None)] for name in HYPER_NAMES},
        "optimizer": [
            Options(*_network.OPTIMIZERS),
            InstanceOf(keras.optimizers.Optimizer),
            InstanceOf(type, description="a keras.optimizers.Optimizer class"),
        ],
        "learning_rate": [
            NoneValue(),
            Interval(numbers.Real, 0, None, closed="neither"),
        ],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "loss": [NoneValue(), InstanceOf(str, keras.losses.Loss)],
        "metrics": [NoneValue(), InstanceOf(list, tuple)],
        "batch_size": [Interval(numbers.Integral, 1, None)],
        "epochs": [Interval(numbers.Integral, 1, None)],
        "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
        "shuffle": [Boolean()],
        "callbacks": [NoneValue(), InstanceOf(list, tuple)],
        "verbose": [Boolean(), Interval(numbers.Integral, 0, 2)],
        "random_state": [
            NoneValue(),
            Interval(numbers.Integral, 0, None),
            InstanceOf(np.random.RandomState),
        ],
        "run_eagerly": [Boolean()],
        "warm_start": [Boolean()],
        "early_stopping": [Boolean()],
        "patience": [Interval(numbers.Integral, 1, None), Infinity()],
        "min_delta": [Interval(numbers.Real, 0, None)],
        "tensorboard_dir": [NoneValue(), PathLike()],
        "steps_per_execution": [Options("auto"), Interval(numbers.Integral, 1, None)],
        "jit_compile": [Options("auto"), Boolean()],
        "engine": [Options("auto", "keras")],
    }

    CLASSIFIER_CONSTRAINTS = {
        "class_weight": [NoneValue(), Options("balanced"), InstanceOf(dict)],
    }
    return {
        "CONSTRAINTS": CONSTRAINTS,
        "CLASSIFIER_CONSTRAINTS": CLASSIFIER_CONSTRAINTS,
    }


def __getattr__(name: str):
    if name in ("CONSTRAINTS", "CLASSIFIER_CONSTRAINTS"):
        globals().update(_make_constraints())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
