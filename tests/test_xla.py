"""The TensorFlow engine's XLA step (``jit_compile``): parity and behaviour.

``tests/test_engine.py`` checks the engine on its default path for digits,
the graph loop (``jit_compile="auto"`` picks XLA only for large epochs, see
``_program.uses_xla``); these check the same promises with each step
compiled by XLA. Each configuration is a network structure XLA compiles
(about a second on 2 cores): they are few, small, and shared between tests.
"""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor
from skmlp._engine import _program

from .test_engine import (
    SGD_ONE_EPOCH,
    _max_weight_difference,
    assert_same_optimizer_state,
)

pytestmark = pytest.mark.only_backend("tensorflow")

# SGD_ONE_EPOCH: 17 steps of 100 rows, the last of 17 rows: padded to 100
# and masked.


def _assert_same_fit(ours, theirs, weights=1e-5, history=1e-5):
    assert _max_weight_difference(ours, theirs) < weights
    assert ours.history_.keys() == theirs.history_.keys()
    for key, values in theirs.history_.items():
        np.testing.assert_allclose(ours.history_[key], values, rtol=history)


@pytest.mark.parametrize(
    "extra",
    [
        # Activity penalties and batch statistics leave the padding out.
        {
            "kernel_l2": 1e-3,
            "bias_l1": 1e-3,
            "activity_l2": 1e-3,
            "batch_normalization": True,
        },
        {"loss": "categorical_crossentropy"},
    ],
    ids=["penalties-batch-norm", "one-hot"],
)
def test_xla_steps_equal_keras_fit(digits, extra):
    X, y = digits
    xla = MLPKerasClassifier(**SGD_ONE_EPOCH, **extra, jit_compile=True).fit(X, y)
    assert _program.uses_xla(xla._spec)
    keras_fit = MLPKerasClassifier(engine="keras", **SGD_ONE_EPOCH, **extra).fit(X, y)
    _assert_same_fit(xla, keras_fit)


@pytest.mark.parametrize(
    "optimizer",
    [{"optimizer": "adam"}, {"optimizer": "adagrad"}],
    ids=["adam-skmlp-update", "adagrad-keras-update"],
)
def test_xla_optimizer_updates_equal_keras_fit(digits, optimizer):
    # Adam: skmlp's update with its settings as inputs; Adagrad: Keras' own
    # optimizer.apply, compiled inside the XLA step. Two epochs: the step
    # count carries over.
    X, y = digits
    params = {**SGD_ONE_EPOCH, "epochs": 2, "learning_rate": 0.01, **optimizer}
    xla = MLPKerasClassifier(**params, jit_compile=True).fit(X, y)
    keras_fit = MLPKerasClassifier(engine="keras", **params).fit(X, y)
    _assert_same_fit(xla, keras_fit)
    assert_same_optimizer_state(xla, keras_fit)


# Shuffling, batch normalisation, sample and class weights, a validation set
# of the user's own and early stopping, against the graph loop (which
# test_engine checks against Keras' fit). SGD: with Adam, the bias of a Dense
# layer before batch normalisation, whose gradient is rounding noise, is
# Adam's normalised noise, different wherever the sums are ordered otherwise.
EVERYTHING = dict(
    hidden_layer_sizes=(24,),
    optimizer="sgd",
    learning_rate=0.05,
    momentum=0.9,
    batch_size=64,
    epochs=4,
    dropout=0.0,
    batch_normalization=True,
    early_stopping=True,
    patience=1,
    class_weight={0: 3.0},
    random_state=5,
)


@pytest.fixture(scope="module")
def xla_and_graph(digits):
    X, y = digits
    X_val, y_val = X[1500:], y[1500:]
    weights = np.linspace(0.5, 1.5, 1500)
    fits = {
        jit: MLPKerasClassifier(**EVERYTHING, jit_compile=jit).fit(
            X[:1500], y[:1500], weights, X_val=X_val, y_val=y_val
        )
        for jit in (True, False)
    }
    return fits[True], fits[False]


def test_the_xla_step_equals_the_graph_loop(xla_and_graph):
    xla, graph = xla_and_graph
    assert _program.uses_xla(xla._spec) and not _program.uses_xla(graph._spec)
    assert "val_loss" in xla.history_
    _assert_same_fit(xla, graph)


def test_xla_fits_of_any_size_compile_nothing_and_see_epoch_callbacks(
    digits, xla_and_graph
):
    # The step has batch_size rows whatever the data's size: a fit of the
    # same structure on other rows traces and compiles nothing; callbacks
    # run between epochs and may change the learning rate (a step input).
    X, y = digits
    traces = dict(_program.TRACES)
    shrink = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=10.0
    )
    params = {**EVERYTHING, "early_stopping": False, "epochs": 3}
    clf = MLPKerasClassifier(**params, jit_compile=True, callbacks=[shrink])
    clf.fit(X[:1234], y[:1234])
    assert dict(_program.TRACES) == traces
    assert clf.n_iter_ == 3
    learning_rate = keras.ops.convert_to_numpy(clf.model_.optimizer.learning_rate)
    assert float(learning_rate) == pytest.approx(0.05 * 0.5**2)


def test_xla_dropout_is_seeded(digits, xla_and_graph):
    # XLA draws its own random numbers (not the graph's for the same seed):
    # a fit with dropout is reproducible, and dropout changes it.
    X, y = digits
    xla, _ = xla_and_graph
    params = {**EVERYTHING, "dropout": 0.3, "early_stopping": False}
    first, second = (
        MLPKerasClassifier(**params, jit_compile=True).fit(X[:1500], y[:1500])
        for _ in range(2)
    )
    assert _max_weight_difference(first, second) == 0
    no_dropout = MLPKerasClassifier(**{**params, "dropout": 0.0}, jit_compile=True).fit(
        X[:1500], y[:1500]
    )
    assert _max_weight_difference(first, no_dropout) > 1e-3


def test_xla_trains_in_float64(digits):
    X, y = digits[0].astype(np.float64), digits[1].astype(np.float64)
    params = {**SGD_ONE_EPOCH, "learning_rate": 0.001, "dtype": "float64"}
    xla = MLPKerasRegressor(**params, jit_compile=True).fit(X, y)
    keras_fit = MLPKerasRegressor(engine="keras", **params).fit(X, y)
    assert _max_weight_difference(xla, keras_fit) < 1e-4
    kernel = xla.coefs_[0]
    assert kernel.dtype == np.float64
    assert np.mean(kernel != kernel.astype(np.float32)) > 0.9


def _spec(jit_compile, n_train, widths):
    return SimpleNamespace(
        jit_compile=jit_compile, n_train=n_train, widths=lambda: widths
    )


def test_the_rule_for_xla():
    # "auto": XLA for epochs of at least XLA_MIN_WORK multiply-adds (training
    # rows x weights); True and False decide alone.
    digits = (1617, (64, 64, 10))  # 1e7: the graph
    mnist = (60000, (784, 128, 128, 10))  # 7e9: XLA
    assert not _program.uses_xla(_spec("auto", *digits))
    assert _program.uses_xla(_spec("auto", *mnist))
    assert not _program.uses_xla(_spec("auto", 5000, mnist[1]))  # 6e8
    assert _program.uses_xla(_spec(True, *digits))
    assert not _program.uses_xla(_spec(False, *mnist))
