"""A fit that fails leaves the estimator exactly as it was (issue: reliability)."""

import keras
import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor

FAST = dict(hidden_layer_sizes=(16,), epochs=2, learning_rate=0.01, random_state=0)


class Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("boom")


def _state(est, X):
    return (
        est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X),
        {k: list(v) for k, v in est.history_.items()},
        est.n_iter_,
        est.n_features_in_,
    )


def _assert_same(before, after):
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


@pytest.mark.backends
@pytest.mark.parametrize(
    "change, refit_args",
    [
        ({}, "one_class"),
        ({}, "one_row"),
        ({"optimizer__xyz": 1}, None),
        ({"momentum": 0.9}, None),  # Adam has no momentum
        ({"callbacks": [Boom()], "epochs": 3}, None),
        ({"warm_start": True, "callbacks": [Boom()], "epochs": 3}, None),
    ],
    ids=[
        "single-class",
        "one-row",
        "bad-routed",
        "momentum-adam",
        "callback",
        "warm-callback",
    ],
)
def test_failed_refit_leaves_the_classifier_as_it_was(digits, change, refit_args):
    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    before = _state(clf, X)
    weights = [w.copy() for w in clf.model_.get_weights()]
    clf.set_params(**change)
    X_bad, y_bad = X, y
    if refit_args == "one_class":
        X_bad, y_bad = X[y == 3], y[y == 3]
    elif refit_args == "one_row":
        X_bad, y_bad = X[:1], y[:1]
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        clf.fit(X_bad, y_bad)
    _assert_same(before, _state(clf, X))
    for old, new in zip(weights, clf.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_failed_first_fit_leaves_the_estimator_unfitted(digits):
    X, y = digits
    reg = MLPKerasRegressor(
        (8,), optimizer="sgd", learning_rate=1e9, epochs=2, random_state=0
    )
    with pytest.raises(ValueError, match="diverged"):
        reg.fit(X * 1e3, y.astype(float))
    assert not [name for name in vars(reg) if name.endswith("_")]


@pytest.mark.backends
def test_diverging_warm_start_keeps_the_regressor(digits):
    X, y = digits
    reg = MLPKerasRegressor(warm_start=True, **FAST).fit(X, y.astype(float))
    before = reg.predict(X)
    with pytest.raises(ValueError, match="diverged"):
        reg.fit(X, y.astype(float) * 1e30)
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.n_iter_ == 2


def test_class_changes_are_refused_as_in_mlpclassifier(digits):
    X, y = digits
    clf = MLPKerasClassifier(**FAST).partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="cannot change"):
        clf.partial_fit(X, y, classes=np.arange(11))
    clf.partial_fit(X[y < 5], y[y < 5])  # a batch with some classes is fine
    warm = MLPKerasClassifier(warm_start=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only continue"):
        warm.fit(X[y < 5], y[y < 5])
    assert warm.n_iter_ == 2


@pytest.mark.parametrize("estimator", [MLPKerasClassifier, MLPKerasRegressor])
def test_partial_fit_refuses_early_stopping(digits, estimator):
    X, y = digits
    est = estimator(early_stopping=True, **FAST)
    with pytest.raises(ValueError, match="early_stopping"):
        est.partial_fit(
            X,
            y,
            **({"classes": np.arange(10)} if estimator is MLPKerasClassifier else {}),
        )
    assert not hasattr(est, "model_")
