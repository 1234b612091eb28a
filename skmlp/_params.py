"""The estimators' parameters: what each accepts and what it means, in one place.

``CONSTRAINTS`` (checked by ``fit``) and ``PARAMETERS_DOC`` (the numpydoc
section of both estimators' docstrings) cover every parameter of
``MLPKerasClassifier`` and ``MLPKerasRegressor``; ``CLASSIFIER_CONSTRAINTS``
the classifier's own. ``tests/test_params.py`` checks them against the
estimators' signatures, the user guide's table and the command line's flags,
so that none of them can drift from the others.
"""

from __future__ import annotations

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
    "learning_rate": [NoneValue(), Interval(numbers.Real, 0, None, closed="neither")],
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
    kernel_initializer, bias_initializer : str or keras Initializer
        Weight and bias initialisers, default 'glorot_uniform' and 'zeros'
        (Keras' defaults). 'he_normal' suits ReLU; 'xavier_normal' is an
        alias of 'glorot_normal'.
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
