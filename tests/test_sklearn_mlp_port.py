"""scikit-learn's own MLP tests (sklearn/neural_network/tests/test_mlp.py), ported.

Each keeps scikit-learn's name and what it checks; the estimator is skmlp's,
with Keras' names for the same settings (``activation="sigmoid"`` for
"logistic", ``optimizer`` for ``solver``, ``epochs`` for ``max_iter``,
``patience`` for ``n_iter_no_change``). Where a setting cannot carry over
(scikit-learn's L-BFGS solver, a convergence tolerance), the comment says
what stands in for it.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_almost_equal, assert_array_equal
from scipy.sparse import csr_matrix, issparse
from sklearn.datasets import (
    load_digits,
    make_multilabel_classification,
    make_regression,
)
from sklearn.metrics import roc_auc_score

from skmlp import MLPKerasClassifier, MLPKerasRegressor

X_digits, y_digits = load_digits(n_class=3, return_X_y=True)
X_digits = X_digits[:200] / 16
y_digits = y_digits[:200]
X_digits_multi, y_digits_multi = X_digits, y_digits
X_digits_binary = X_digits[y_digits < 2]
y_digits_binary = y_digits[y_digits < 2]


def test_multilabel_classification():
    # Test that multi-label classification works as expected.
    X, y = make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )
    # test fit method (Adam stands in for scikit-learn's L-BFGS solver)
    mlp = MLPKerasClassifier(
        50, activation="sigmoid", dropout=0.0, kernel_l2=1e-5, learning_rate=0.01,
        epochs=300, batch_size=50, random_state=0,
    )  # fmt: skip
    mlp.fit(X, y)
    assert mlp.score(X, y) > 0.97
    proba = mlp.predict_proba(X)
    assert proba.shape == y.shape  # one probability per label
    assert_array_equal(mlp.predict(X), (proba > 0.5).astype(int))

    # test partial fit method (scikit-learn's SGD: momentum 0.9, Nesterov)
    mlp = MLPKerasClassifier(
        50, activation="sigmoid", dropout=0.0, optimizer="sgd", momentum=0.9,
        optimizer__nesterov=True, kernel_l2=1e-5, learning_rate=0.2,
        batch_size=50, random_state=0,
    )  # fmt: skip
    for _ in range(150):  # scikit-learn: 100 calls of its own SGD
        mlp.partial_fit(X, y, classes=[0, 1, 2, 3, 4])
    assert mlp.score(X, y) > 0.9

    # Make sure early stopping still works (the split is not stratified for
    # multilabel targets)
    mlp = MLPKerasClassifier(early_stopping=True, epochs=3)
    mlp.fit(X, y).predict(X)

    # A sparse indicator matrix trains the same network; predictions are
    # sparse, as scikit-learn's are (skmlp: it raised an IndexError).
    dense = MLPKerasClassifier(50, epochs=2, random_state=0).fit(X, y)
    sparse = MLPKerasClassifier(50, epochs=2, random_state=0).fit(X, csr_matrix(y))
    predicted = sparse.predict(X)
    assert issparse(predicted) and predicted.shape == y.shape
    assert_array_equal(predicted.toarray(), dense.predict(X))
    assert_array_equal(sparse.classes_, dense.classes_)
    assert not issparse(pickle.loads(pickle.dumps(dense)).predict(X))
    assert issparse(pickle.loads(pickle.dumps(sparse)).predict(X))


def test_predict_proba_binary():
    # Test that predict_proba works as expected for binary class.
    X = X_digits_binary[:50]
    y = y_digits_binary[:50]

    clf = MLPKerasClassifier(
        hidden_layer_sizes=5, activation="sigmoid", learning_rate=0.05,
        epochs=50, random_state=1,
    )  # fmt: skip
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    y_log_proba = clf.predict_log_proba(X)

    (n_samples, n_classes) = y.shape[0], 2

    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(proba_max, proba_log_max)
    assert_allclose(y_log_proba, np.log(y_proba))

    assert roc_auc_score(y, y_proba[:, 1]) == 1.0


def test_predict_proba_multiclass():
    # Test that predict_proba works as expected for multi class.
    X = X_digits_multi[:10]
    y = y_digits_multi[:10]

    clf = MLPKerasClassifier(hidden_layer_sizes=5, epochs=5, random_state=0)
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    y_log_proba = clf.predict_log_proba(X)

    (n_samples, n_classes) = y.shape[0], np.unique(y).size

    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(proba_max, proba_log_max)
    assert_allclose(y_log_proba, np.log(y_proba))


def test_sparse_matrices():
    # Test that sparse and dense input matrices output the same results.
    X = X_digits_binary[:50]
    y = y_digits_binary[:50]
    X_sparse = csr_matrix(X)
    mlp = MLPKerasClassifier(hidden_layer_sizes=15, epochs=10, random_state=1)
    mlp.fit(X, y)
    pred1 = mlp.predict(X)
    mlp.fit(X_sparse, y)
    pred2 = mlp.predict(X_sparse)
    assert_almost_equal(pred1, pred2)
    pred1 = mlp.predict(X)
    pred2 = mlp.predict(X_sparse)
    assert_array_equal(pred1, pred2)


def test_early_stopping_stratified(spy):
    # Make sure data splitting for early stopping is stratified. scikit-learn
    # raises where a class has one member; skmlp then falls back to a plain
    # random split. What both promise: on class-sorted data, the held-out rows
    # hold every class in proportion (Keras' rule would hold out the last
    # rows, all of one class).
    from skmlp import _base

    X = np.arange(40, dtype=float).reshape(20, 2) / 40
    y = np.array([0] * 10 + [1] * 10)
    orders = spy(_base, "random_rows_last")  # _base calls it by that name
    MLPKerasClassifier((4,), early_stopping=True, epochs=2, random_state=0).fit(X, y)
    ((_, y_ordered, _),) = orders
    assert sorted(y_ordered[-2:].ravel()) == [0, 1]  # the 10% held out


def test_n_iter_no_change_inf():
    # test n_iter_no_change (patience) using binary data set: the fitting
    # process should go to max_iter (epochs) iterations
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]

    # a patience that never runs out (scikit-learn's tol=1e9 makes every
    # epoch a non-improvement; skmlp's min_delta does the same)
    max_iter = 30
    clf = MLPKerasClassifier(
        (8,), optimizer="sgd", epochs=max_iter, early_stopping=True,
        patience=np.inf, min_delta=1e9, random_state=0,
    )  # fmt: skip
    clf.fit(X, y)

    # validate n_iter_no_change doesn't cause early stopping
    assert clf.n_iter_ == max_iter


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Estimator", [MLPKerasClassifier, MLPKerasRegressor])
def test_mlp_param_dtypes(dtype, Estimator):
    # Checks if input dtype is used for network parameters
    # and predictions. A Keras network trains in Keras' float32 unless asked
    # otherwise (the fast choice, on a GPU by far); dtype="input" asks for
    # scikit-learn's rule. (On JAX, float64 needs JAX's 64-bit mode:
    # tests/test_engine.py.)
    X, y = X_digits.astype(dtype), y_digits
    mlp = Estimator(
        kernel_l2=1e-5, hidden_layer_sizes=(5, 3), random_state=1, epochs=50,
        dtype="input",
    )  # fmt: skip
    mlp.fit(X[:150], y[:150])
    pred = mlp.predict(X[150:])

    assert all([intercept.dtype == dtype for intercept in mlp.intercepts_])

    assert all([coef.dtype == dtype for coef in mlp.coefs_])

    if Estimator == MLPKerasRegressor:
        assert pred.dtype == dtype


def test_minimum_input_sample_size():
    """Check error message when the validation set is too small."""
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    model = MLPKerasRegressor(early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        model.fit(X, y)
