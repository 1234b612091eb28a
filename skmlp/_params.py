"""The estimators' parameters, one row each: the one table skmlp is built from.

Each ``Parameter`` row holds everything skmlp says about one parameter of
``MLPKerasClassifier`` / ``MLPKerasRegressor``: what it accepts (checked by
``fit``), its numpydoc entry (both estimators' docstrings, in signature
order), where it goes in Keras (the user guide's table of every parameter,
written by ``tools/make_api_reference.py``) and, where the command line
offers it, its ``Flag`` (``skmlp train`` and ``skmlp grid`` build their
options and their mapping to parameters from it). ``tests/test_params.py``
checks the rows against both estimators' signatures.

Adding a parameter: a row here, the argument in both estimators' signatures
(explicit, as scikit-learn's ``get_params`` requires), and its use where the
network or the fit is built.

This module imports neither Keras nor scikit-learn (the ``skmlp`` command
reads it before either loads): Keras classes are named by dotted path.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._constraints import (
    Boolean,
    Constraint,
    Infinity,
    InstanceOf,
    Interval,
    LayerSizes,
    NoneValue,
    Options,
    PathLike,
    PerLayer,
)

# The names the string-valued parameters accept (``_network`` maps them to Keras).
ACTIVATIONS = (
    "relu",
    "sigmoid",
    "tanh",
    "elu",
    "selu",
    "leaky_relu",
    "gelu",
    "swish",
    "silu",
    "softplus",
    "softsign",
    "relu6",
    "hard_sigmoid",
    "mish",
    "linear",
)

INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "orthogonal",
    "zeros",
    "ones",
    # The labs call Glorot initialisation by its other name, Xavier.
    "xavier_uniform",
    "xavier_normal",
)

OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adamw": "AdamW",
    "nadam": "Nadam",
    "adamax": "Adamax",
    "adadelta": "Adadelta",
    "ftrl": "Ftrl",
    "lion": "Lion",
}


class Continued(enum.Enum):
    """What a continued fit does with a spec parameter changed since the build."""

    REFUSED = "refused"  # the network's structure and optimizer
    ENGINE = "engine"  # honoured by skmlp's engine; refused where Keras' fit trains
    ASSIGNED = "assigned"  # set on the optimizer
    IGNORED = "ignored"  # initialisers: nothing left to initialise


class Compiled(enum.Enum):
    """Where the engine reads a parameter (see ``Parameter.compiled``)."""

    STRUCTURE = "compiled in"
    INPUT = "an input"
    OUTSIDE = "outside the compiled program"


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


@dataclass(frozen=True)
class Parameter:
    """One parameter: what it accepts, its documentation, its Keras meaning."""

    name: str
    accepts: tuple[Constraint, ...]
    doc: str  # numpydoc: the type line, then the description
    keras: str  # where it goes in Keras
    flag: Flag | None = None
    classifier_only: bool = False
    # Part of the network's spec (read when it is built): what a continued
    # fit (warm_start, partial_fit) does with a value changed since. None:
    # read at every fit, not part of the spec.
    continued: Continued | None = None
    # Where the engine reads it: compiled into the program (a new value
    # compiles), an input of the compiled step (a new value compiles
    # nothing), or outside the compiled program.
    compiled: Compiled = Compiled.OUTSIDE
    # Whether networks of one batched group may differ in it (_batch).
    per_member: bool = False
    # The Keras argument the estimator passes from it ("compile:loss"): a
    # routed compile__/fit__ argument of that name is refused.
    passes: str | None = None


_NON_NEGATIVE = (Interval(numbers.Real, 0, None),)
_INITIALIZER = (
    Options(*INITIALIZERS),
    InstanceOf("keras.initializers.Initializer"),
)


# How Keras' activity penalty changed, for the activity rows' docs.
_ACTIVITY_BATCH = (
    ", summed over a batch's rows and divided by their number, as Keras does "
    "since keras-team/keras#22021 (January 2026). Earlier Keras releases, "
    "which the 2025 labs ran on, did not divide: for their strength multiply "
    "by ``batch_size`` (a lab's ``activity_regularizer=L2(1e-4)`` with batch "
    "128 is ``activity_l2=0.0128``)"
)


def _penalty(kind: str, norm: str, where: str) -> Parameter:
    return Parameter(
        f"{kind}_{norm}",
        _NON_NEGATIVE,
        f"float, default=0.0\n{norm.upper()} penalty on {where}.",
        f"`{kind}_regularizer=L1L2(...)` on "
        + (
            "every `Dense`"
            if kind != "activity"
            else "each hidden layer, divided by the batch's rows (Keras before "
            "keras-team/keras#22021, January 2026, summed it: multiply by "
            "`batch_size` for that strength)"
        ),
        Flag(f"--{kind}-{norm}", f"{norm.upper()} penalty on {where}", 0.0, "number")
        if kind == "kernel"
        else None,
        continued=Continued.ENGINE,
        compiled=Compiled.INPUT,
        per_member=True,
    )


PARAMETERS = (
    Parameter(
        "hidden_layer_sizes",
        (LayerSizes(),),
        """tuple of int, default=(256, 256)
        Units of each hidden ``Dense`` layer (the labs' ``N_HIDDEN``). ``()``
        gives the simple perceptron (logistic / linear regression).""",
        "one `Dense(units)` per entry",
        Flag("--hidden", "units per hidden layer: 128,128", "128,128"),
        continued=Continued.REFUSED,
        compiled=Compiled.STRUCTURE,
    ),
    Parameter(
        "activation",
        (PerLayer(Options(*ACTIVATIONS)),),
        """str or list of str, default="relu"
        Hidden activation, one name or one per layer: 'relu', 'sigmoid',
        'tanh', 'elu', 'selu', 'leaky_relu', 'gelu', 'swish', 'linear', ...""",
        "`Activation(name)` after each hidden `Dense`",
        Flag("--activation", "relu, elu, sigmoid, tanh, ...", "relu"),
        continued=Continued.REFUSED,
        compiled=Compiled.STRUCTURE,
    ),
    Parameter(
        "kernel_initializer",
        _INITIALIZER,
        """str or keras Initializer, default="glorot_uniform"
        Initialiser of every ``Dense`` layer's weights (Keras' default).
        'he_normal' suits ReLU; 'xavier_normal' is an alias of
        'glorot_normal'. Keras' built-in initialisers are drawn with NumPy
        from their formulas (the same weights on every backend).""",
        "`Dense(kernel_initializer=...)`",
        Flag("--initializer", "kernel initializer", "glorot_uniform"),
        continued=Continued.IGNORED,
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "bias_initializer",
        _INITIALIZER,
        """str or keras Initializer, default="zeros"
        Initialiser of every ``Dense`` layer's biases (Keras' default).""",
        "`Dense(bias_initializer=...)`",
        continued=Continued.IGNORED,
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "dropout",
        (PerLayer(Interval(numbers.Real, 0, 1, closed="left")),),
        """float or list of float, default=0.2
        Rate of the ``Dropout`` layer after each hidden activation, in [0, 1).""",
        "`Dropout(rate)` after each hidden activation",
        Flag("--dropout", "dropout rate after each hidden layer", 0.0, "number"),
        continued=Continued.ENGINE,
        compiled=Compiled.INPUT,
        per_member=True,
    ),
    Parameter(
        "batch_normalization",
        (Boolean(),),
        """bool, default=False
        Insert ``BatchNormalization`` between each hidden ``Dense`` layer and
        its activation.""",
        "`Dense -> BatchNormalization -> Activation`",
        Flag(
            "--batch-norm",
            "batch normalisation before each activation",
            kind="switch",
            several=False,  # a switch: grid cannot take several values of it
        ),
        continued=Continued.REFUSED,
        compiled=Compiled.STRUCTURE,
    ),
    _penalty("kernel", "l1", "the weights of every ``Dense`` layer"),
    _penalty("kernel", "l2", "the weights of every ``Dense`` layer"),
    _penalty("bias", "l1", "the biases of every ``Dense`` layer"),
    _penalty("bias", "l2", "the biases of every ``Dense`` layer"),
    _penalty("activity", "l1", "the hidden layers' outputs" + _ACTIVITY_BATCH),
    _penalty("activity", "l2", "the hidden layers' outputs" + _ACTIVITY_BATCH),
    Parameter(
        "optimizer",
        (
            Options(*OPTIMIZERS),
            InstanceOf("keras.optimizers.Optimizer"),
            InstanceOf(type, description="a keras.optimizers.Optimizer class"),
        ),
        """str, keras Optimizer or Optimizer class, default="adam"
        'sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam', 'adamax',
        'adadelta', 'ftrl' or 'lion'. A new optimizer is made at each fit.
        Its other arguments are set with ``optimizer__<name>``, e.g.
        ``optimizer__nesterov=True`` or ``optimizer__beta_1=0.95``.""",
        "a new optimizer at each fit; `optimizer__<arg>` to its constructor",
        Flag("--optimizer", "adam, sgd, rmsprop, ...", "adam"),
        continued=Continued.REFUSED,
        compiled=Compiled.STRUCTURE,
        passes="compile:optimizer",
    ),
    Parameter(
        "learning_rate",
        (NoneValue(), Interval(numbers.Real, 0, None, closed="neither")),
        """float, default=None
        None keeps the optimizer's Keras default (SGD 0.01, Adam 0.001).""",
        "the optimizer's `learning_rate`",
        Flag("--learning-rate", "default: the optimizer's own", kind="number"),
        continued=Continued.ASSIGNED,
        compiled=Compiled.INPUT,
        per_member=True,
    ),
    Parameter(
        "momentum",
        (Interval(numbers.Real, 0, 1, closed="left"),),
        """float, default=0.0
        Momentum of 'sgd' and 'rmsprop'.""",
        "`SGD(momentum=...)`, `RMSprop(momentum=...)`",
        Flag("--momentum", "for sgd and rmsprop", 0.0, "number", several=False),
        continued=Continued.REFUSED,
        compiled=Compiled.INPUT,
        per_member=True,
    ),
    Parameter(
        "loss",
        (NoneValue(), InstanceOf(str, "keras.losses.Loss")),
        """str or keras Loss, default=None
        None chooses from the target (see the class description).""",
        "`compile(loss=...)`",
        continued=Continued.REFUSED,
        compiled=Compiled.STRUCTURE,
        passes="compile:loss",
    ),
    Parameter(
        "metrics",
        (NoneValue(), InstanceOf(list, tuple)),
        """list, default=None
        Keras metrics recorded in ``history_``; None means ['accuracy'] for
        the classifier and none for the regressor.""",
        "`compile(metrics=...)`",
        continued=Continued.ENGINE,
        compiled=Compiled.OUTSIDE,
        passes="compile:metrics",
    ),
    Parameter(
        "batch_size",
        (Interval(numbers.Integral, 1, None),),
        """int, default=128
        Rows per gradient step.""",
        "`fit(batch_size=...)`",
        Flag("--batch-size", "rows per gradient step", 128, "count"),
        compiled=Compiled.STRUCTURE,
        passes="fit:batch_size",
    ),
    Parameter(
        "epochs",
        (Interval(numbers.Integral, 1, None),),
        """int, default=12
        Passes over the training data per ``fit``.""",
        "`fit(epochs=...)`",
        Flag("--epochs", "passes over the data", 10, "count", several=False),
        compiled=Compiled.OUTSIDE,
        per_member=True,
        passes="fit:epochs",
    ),
    Parameter(
        "validation_split",
        (Interval(numbers.Real, 0, 1, closed="left"),),
        """float, default=0.0
        Fraction of rows held out for ``val_*`` scores in ``history_``. As in
        Keras, these are the *last* rows, taken before shuffling.""",
        "`fit(validation_split=...)` (the last rows)",
        Flag(
            "--validation-split",
            "share of training rows held out for val_* curves",
            0.1,
            "number",
            several=False,
        ),
        compiled=Compiled.OUTSIDE,
        per_member=True,
        passes="fit:validation_split",
    ),
    Parameter(
        "validation_strategy",
        (Options("last", "stratified"),),
        """{"last", "stratified"}, default="last"
        Which rows ``validation_split`` holds out: "last" is Keras' rule (the
        labs'); "stratified" draws them at random, in each class's share for
        the classifier (a plain random draw for the regressor), so that data
        sorted by class still validates on every class.""",
        'Keras\' `validation_split` ("last"), or rows drawn beforehand',
        compiled=Compiled.OUTSIDE,
        per_member=True,
    ),
    Parameter(
        "shuffle",
        (Boolean(),),
        """bool, default=True
        Shuffle the training rows before each epoch.""",
        "`fit(shuffle=...)`",
        compiled=Compiled.STRUCTURE,
        passes="fit:shuffle",
    ),
    Parameter(
        "class_weight",
        (NoneValue(), Options("balanced"), InstanceOf(dict)),
        """dict, "balanced" or None, default=None
        Weights by class label, multiplied into the sample weights.""",
        "multiplied into the sample weights",
        classifier_only=True,
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "callbacks",
        (NoneValue(), InstanceOf(list, tuple)),
        """list of keras Callback, default=None
        Extra Keras callbacks; copied at each fit, so the originals stay
        unused and the estimator stays clonable.""",
        "`fit(callbacks=...)`",
        compiled=Compiled.OUTSIDE,
        passes="fit:callbacks",
    ),
    Parameter(
        "verbose",
        (Boolean(), Interval(numbers.Integral, 0, 2)),
        """int, default=0
        Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.""",
        "`fit(verbose=...)`",
        compiled=Compiled.OUTSIDE,
        per_member=True,
        passes="fit:verbose",
    ),
    Parameter(
        "random_state",
        (
            NoneValue(),
            Interval(numbers.Integral, 0, None),
            InstanceOf(np.random.RandomState),
        ),
        """int, RandomState or None, default=None
        Seeds weights, dropout and shuffling; the same int gives the same
        model on the same machine. Python's, NumPy's and Keras' global
        random states are left as they were.""",
        "the estimator's own seeds (nothing global)",
        compiled=Compiled.INPUT,
        per_member=True,
    ),
    Parameter(
        "run_eagerly",
        (Boolean(),),
        """bool, default=False
        Run Keras step by step in Python (for debugging; much slower).""",
        "`compile(run_eagerly=...)`",
        continued=Continued.ENGINE,
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "warm_start",
        (Boolean(),),
        """bool, default=False
        Let ``fit`` continue training the current network instead of
        starting afresh. A continued fit (and ``partial_fit``) keeps the
        network as built: after a change to ``hidden_layer_sizes``,
        ``activation``, ``batch_normalization``, ``optimizer`` or its
        arguments, ``momentum``, ``loss`` or ``dtype`` it raises; a new
        ``learning_rate``, ``dropout`` or L1/L2 strength applies to it.""",
        "keep the weights and optimizer state between fits",
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "early_stopping",
        (Boolean(),),
        """bool, default=False
        Stop when the validation loss has not improved by ``min_delta`` for
        ``patience`` epochs, and restore the best weights. Uses
        ``validation_split`` (the last rows), or, when that is 0, a random
        10% of the rows, stratified by class.""",
        "`EarlyStopping(restore_best_weights=True)`",
        Flag(
            "--early-stopping",
            "stop when the validation loss stops improving",
            kind="switch",
            several=False,
        ),
        compiled=Compiled.OUTSIDE,
        per_member=True,
    ),
    Parameter(
        "patience",
        (Interval(numbers.Integral, 1, None), Infinity()),
        """int or np.inf, default=5
        Epochs without improvement before early stopping stops.""",
        "`EarlyStopping(patience=...)`",
        compiled=Compiled.OUTSIDE,
        per_member=True,
    ),
    Parameter(
        "min_delta",
        _NON_NEGATIVE,
        """float, default=0.0
        The least decrease of the validation loss that counts as improving.""",
        "`EarlyStopping(min_delta=...)`",
        compiled=Compiled.OUTSIDE,
        per_member=True,
    ),
    Parameter(
        "tensorboard_dir",
        (NoneValue(), PathLike()),
        """str or path, default=None
        Write TensorBoard logs (scalars and weight histograms) to a new
        sub-folder of this folder at every fit.""",
        "`TensorBoard(log_dir=...)`",
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "steps_per_execution",
        (Options("auto"), Interval(numbers.Integral, 1, None)),
        """int or "auto", default="auto"
        Gradient steps per call into Keras' compiled training function, for
        ``engine="keras"`` only. "auto" takes up to 256 (32 on JAX and with
        ``verbose=1``; always 1 on torch, which allows no more).""",
        '`compile(steps_per_execution=...)` (`engine="keras"`)',
        continued=Continued.ENGINE,
        compiled=Compiled.OUTSIDE,
    ),
    Parameter(
        "jit_compile",
        (Options("auto"), Boolean()),
        """bool or "auto", default="auto"
        XLA compilation of the TensorFlow engine's training step (each step
        ``batch_size`` rows, the last batch of an epoch filled up and masked
        out): compiled once per network structure (about a second on a CPU),
        then about 1.5x faster per epoch on large data. True: always; False:
        never (TensorFlow's graph loop, which any row count shares); "auto":
        when an epoch's training rows times the network's weights reach
        1e9 (full MNIST with 784-128-128-10: 7e9; digits with (64,): 1e7),
        decided by the first fit, kept by continued ones. Dropout draws
        other random numbers with XLA than without. JAX compiles with XLA
        always, torch never. With ``engine="keras"``, Keras'
        ``compile(jit_compile=...)``.""",
        '`compile(jit_compile=...)`; the TensorFlow engine: its step by XLA (`"auto"`: large epochs)',
        continued=Continued.ENGINE,
        compiled=Compiled.STRUCTURE,
    ),
    Parameter(
        "dtype",
        (NoneValue(), Options("float32", "float64", "input")),
        """{"float32", "float64", "input"} or None, default=None
        The floating-point type of the weights, the training and the
        regressor's predictions. None is Keras' ``floatx`` (float32 unless
        changed with ``keras.config.set_floatx``): the fast choice, on a CPU
        and far more on a GPU. "input" follows ``X`` as scikit-learn's
        ``MLPClassifier`` does: float32 for float32 data, float64 for any
        other. JAX trains in float64 only with 64-bit mode on
        (``jax.config.update("jax_enable_x64", True)``): without it "float64"
        is refused and "input" trains in float32.""",
        "every layer's `dtype=` (a dtype policy)",
        continued=Continued.REFUSED,
        compiled=Compiled.STRUCTURE,
    ),
    Parameter(
        "engine",
        (Options("auto", "keras"),),
        """{"auto", "keras"}, default="auto"
        "auto" trains with skmlp's compiled engine: one compiled call per
        epoch, reused by every later fit of the same network structure (a
        second fit, a CV fold, a grid candidate with another learning rate,
        dropout rate, L1/L2 strength or seed compiles nothing). It falls back
        to Keras' ``model.fit`` for what it does not cover: ``run_eagerly``,
        metrics other than accuracy, callbacks that override batch-level
        hooks, and routed ``compile__*``/``fit__*`` arguments. "keras"
        always uses ``model.fit`` (for debugging; slower, and it reseeds
        Keras' global random generators during the fit).""",
        "skmlp's compiled loop, or Keras' `model.fit`",
        compiled=Compiled.OUTSIDE,
    ),
)

_ROUTED_DOC = """    **routed_params
        ``optimizer__*``, ``compile__*`` and ``fit__*`` arguments passed on to
        the optimizer, ``Model.compile`` and ``Model.fit``.
"""


def _entry(parameter: Parameter) -> str:
    kind, _, text = parameter.doc.partition("\n")
    lines = [f"    {parameter.name} : {kind.strip()}"]
    lines += ["        " + line.strip() for line in text.strip().splitlines()]
    return "\n".join(lines) + "\n"


def parameters_doc(classifier: bool) -> str:
    """The numpydoc Parameters section of one estimator, in signature order."""
    rows = [p for p in PARAMETERS if classifier or not p.classifier_only]
    return (
        "\n    Parameters\n    ----------\n" + "".join(map(_entry, rows)) + _ROUTED_DOC
    )


CONSTRAINTS = {p.name: list(p.accepts) for p in PARAMETERS if not p.classifier_only}
CLASSIFIER_CONSTRAINTS = {
    p.name: list(p.accepts) for p in PARAMETERS if p.classifier_only
}
KERAS = {p.name: p.keras for p in PARAMETERS}
FLAGS = {p.name: p.flag for p in PARAMETERS if p.flag is not None}
# What a continued fit does with each spec parameter (_base._continue).
CONTINUED = {p.name: p.continued for p in PARAMETERS if p.continued is not None}
# Parameters networks of one batched group may differ in (_batch).
PER_MEMBER = frozenset(p.name for p in PARAMETERS if p.per_member)
# The L1/L2 strengths: inputs of the compiled step, in the engine's order.
PENALTIES = tuple(p.name for p in PARAMETERS if p.name.endswith(("_l1", "_l2")))
# Keras arguments the estimator passes itself, by method: a routed
# ``compile__<name>``/``fit__<name>`` of these is refused, naming the parameter.
PASSED = {
    method: {
        p.passes.split(":")[1]: f"the parameter {p.name}"
        for p in PARAMETERS
        if p.passes and p.passes.startswith(method + ":")
    }
    for method in ("compile", "fit")
}
PASSED["fit"].update(
    x="fit's X", y="fit's y", sample_weight="fit's sample_weight",
    class_weight="the parameter class_weight",
)  # fmt: skip


ATTRIBUTES_DOC = """
    model_ : keras.Model
        The trained Keras network.
    history_ : dict of list of float
        Per-epoch ``loss`` (and ``accuracy``, ``val_loss``, ``val_accuracy``
        where they apply), growing across ``warm_start`` fits and
        ``partial_fit`` calls.
    n_iter_ : int
        Epochs trained by the last ``fit`` or ``partial_fit`` call (fewer
        than ``epochs`` after early stopping), as in ``MLPClassifier``.
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
