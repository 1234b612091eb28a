"""Searches, cross-validation and ensembles that train networks together.

Marked ``backends``: on JAX the fits are batched (the "[skmlp] training N
networks" lines say so), elsewhere scikit-learn fits them one by one; either
way the results must be scikit-learn's own. Each test takes the ``training``
fixture, which says how its fits must have run: "batched" on JAX (only
there, ``only_backend("jax")``), "one by one" on TensorFlow and torch, where
every fit must be the estimator's own training, none served from a batch.
"""

import contextlib
import io
import warnings

import joblib
import numpy as np
import pytest
from sklearn import ensemble as sk_ensemble
from sklearn import model_selection as sk
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPKerasClassifier, MLPKerasRegressor, _batch
from skmlp._keras import keras
from skmlp.ensemble import VotingClassifier
from skmlp.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
)

pytestmark = pytest.mark.backends

BATCHED = _batch.available()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:540] / 16.0, y[:540]


def small(**params):
    defaults = dict(
        hidden_layer_sizes=(16,), epochs=3, dropout=0.0, random_state=0, batch_size=32
    )
    return MLPKerasClassifier(**{**defaults, **params})


def run(function, *args, **kwargs):
    """Call ``function``; return its result and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = function(*args, **kwargs)
    return result, out.getvalue()


def networks_trained_together(printed: str) -> list[int]:
    return [
        int(line.split()[2])
        for line in printed.splitlines()
        if line.startswith("[skmlp] training")
    ]


class Training:
    """How many networks the code under test trained, and how.

    Counts every training: ``_engine.train`` and Keras' ``model.fit`` (one
    network each, a fit on its own) and ``_many.train_many`` (a group
    trained together), so that no network is trained twice or left unused.
    """

    def __init__(self, batched: bool, monkeypatch):
        from skmlp import _engine
        from skmlp._base import _BaseMLP
        from skmlp._engine import _many

        self.batched = batched
        self.alone = 0
        self.groups: list[int] = []

        def counted(function, count):
            def call(*args, **kwargs):
                count(*args)
                return function(*args, **kwargs)

            return call

        def alone(*args):
            self.alone += 1

        def together(models, *args):
            self.groups.append(len(models))

        monkeypatch.setattr(_engine, "train", counted(_engine.train, alone))
        monkeypatch.setattr(_BaseMLP, "_fit_keras", counted(_BaseMLP._fit_keras, alone))
        monkeypatch.setattr(_many, "train_many", counted(_many.train_many, together))

    def reset(self):
        self.alone, self.groups = 0, []

    def check(self, printed: str, *, fits: int, together: list[int]):
        """``fits`` networks were trained (scikit-learn's count of fits), each
        once; on JAX the groups trained together were ``together``,
        elsewhere each network trained alone."""
        assert self.alone + sum(self.groups) == fits
        if self.batched:
            assert networks_trained_together(printed) == together
            assert self.groups == together
        else:
            assert networks_trained_together(printed) == []
            assert self.groups == []
        self.reset()


@pytest.fixture(
    params=[
        pytest.param(True, id="batched", marks=pytest.mark.only_backend("jax")),
        pytest.param(
            False,
            id="one-by-one",
            marks=pytest.mark.only_backend("tensorflow", "torch"),
        ),
    ]
)
def training(request, monkeypatch):
    assert request.param is BATCHED
    return Training(request.param, monkeypatch)


def assert_same_results(ours, theirs, atol=1e-4):
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if "time" in key:
            continue
        if key == "params":
            assert ours[key] == value
        elif np.asarray(value).dtype.kind in "fc":
            np.testing.assert_allclose(ours[key], value, atol=atol)
        else:
            assert [repr(v) for v in ours[key]] == [repr(v) for v in value]


def test_grid_search_matches_scikit_learn(digits, training):
    X, y = digits
    grid = {
        "learning_rate": [1e-3, 1e-2],
        "hidden_layer_sizes": [(16,), (16, 8)],
        "dropout": [0.0, 0.2],
    }
    ours, printed = run(GridSearchCV(small(), grid, cv=3, verbose=1).fit, X, y)
    # 8 candidates x 3 folds and the refit. Two structures; with and without
    # dropout share a program: 2 x 12 fits together.
    training.check(printed, fits=25, together=[12, 12])
    theirs = sk.GridSearchCV(small(), grid, cv=3).fit(X, y)
    # Same structure, and per-candidate scores within float noise.
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-4)
    assert isinstance(ours.best_estimator_, MLPKerasClassifier)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4
    )
    assert np.all(ours.cv_results_["mean_fit_time"] > 0)


def test_randomized_search_multimetric_refit_and_train_scores(digits, training):
    X, y = digits
    distributions = {"learning_rate": [1e-3, 3e-3, 1e-2], "dropout": [0.0, 0.1]}
    kwargs = dict(
        n_iter=4,
        cv=2,
        scoring={"acc": "accuracy", "nll": "neg_log_loss"},
        refit="nll",
        return_train_score=True,
    )
    ours, printed = run(
        RandomizedSearchCV(
            small(),
            distributions,
            random_state=np.random.RandomState(3),
            verbose=1,
            **kwargs,
        ).fit,
        X,
        y,
    )
    training.check(printed, fits=9, together=[8])  # one program: 4 x 2 folds
    theirs = sk.RandomizedSearchCV(
        small(), distributions, random_state=np.random.RandomState(3), **kwargs
    ).fit(X, y)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.best_index_ == theirs.best_index_
    assert "max_batch" in ours.get_params() and clone(ours).max_batch is None


def test_pipeline_search_with_preprocessing_parameters(digits, training):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), small())
    grid = {
        "standardscaler__with_mean": [True, False],
        "mlpkerasclassifier__learning_rate": [1e-3, 1e-2],
    }
    ours, printed = run(GridSearchCV(pipe, grid, cv=2, verbose=1).fit, X, y)
    training.check(printed, fits=9, together=[8])
    theirs = sk.GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert_same_results(ours.cv_results_, theirs.cv_results_)


def test_cross_validate_and_cross_val_score_match_scikit_learn(digits, training):
    X, y = digits
    weights = np.linspace(0.5, 1.5, len(y))
    model = small(early_stopping=True, patience=1, epochs=4)
    kwargs = dict(cv=4, return_train_score=True, params={"sample_weight": weights})
    ours, printed = run(cross_validate, model, X, y, verbose=1, **kwargs)
    training.check(printed, fits=4, together=[4])
    theirs = sk.cross_validate(model, X, y, **kwargs)
    assert_same_results(ours, theirs)
    training.reset()  # scikit-learn's own fits, one by one everywhere
    scores, printed = run(cross_val_score, model, X, y, cv=4, verbose=1)
    training.check(printed, fits=4, together=[4])
    np.testing.assert_allclose(scores, sk.cross_val_score(model, X, y, cv=4), atol=1e-4)


def test_voting_ensemble_matches_scikit_learn(digits, training):
    X, y = digits
    members = [(f"net{i}", small(random_state=i)) for i in range(4)]
    ours, printed = run(
        VotingClassifier(members, voting="soft", verbose=True).fit, X, y
    )
    training.check(printed, fits=4, together=[4])
    theirs = sk_ensemble.VotingClassifier(members, voting="soft").fit(X, y)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4
    )
    # Fewer than four networks of one structure gain nothing together on a
    # CPU: they train one after another there (always together on a GPU).
    training.reset()  # scikit-learn's own fits, one by one everywhere
    three = VotingClassifier(members[:3], voting="soft", verbose=True)
    _, printed = run(three.fit, X, y)
    training.check(printed, fits=3, together=[3] if _batch.on_accelerator() else [])


def members_train_exactly_as_alone(digits, training):
    """Same initial weights, shuffles, dropout and early stopping as one fit."""
    X, y = digits
    configs = [
        dict(learning_rate=1e-2, dropout=0.3, random_state=1),
        dict(learning_rate=3e-2, dropout=0.1, random_state=2, validation_split=0.2),
        dict(early_stopping=True, patience=1, epochs=8, learning_rate=0.05),
        dict(early_stopping=True, patience=3, epochs=8, learning_rate=0.05),
    ]
    models = [small(hidden_layer_sizes=(16, 16), **c) for c in configs]
    alone = [clone(m).fit(X, y) for m in models]
    training.reset()
    search = GridSearchCV(
        small(hidden_layer_sizes=(16, 16)),
        [{k: [v] for k, v in c.items()} for c in configs],
        cv=[(np.arange(len(y)), np.arange(10))],
        refit=False,
        verbose=1,
    )
    keys = []

    def keep(estimator, X, y):
        keys.append(estimator)
        return 0.0

    _, printed = run(search.set_params(scoring=keep).fit, X, y)
    training.check(printed, fits=4, together=[4])
    for model, fitted in zip(alone, keys, strict=True):
        assert fitted.history_.keys() == model.history_.keys()
        assert fitted.n_iter_ == model.n_iter_
        for a, b in zip(
            fitted.model_.get_weights(), model.model_.get_weights(), strict=True
        ):
            np.testing.assert_allclose(a, b, atol=1e-5)
    assert alone[2].n_iter_ < 8  # early stopping did stop it


def test_members_train_exactly_as_alone(digits, training):
    members_train_exactly_as_alone(digits, training)


@pytest.mark.only_backend("jax")
def test_members_train_exactly_as_alone_where_stopped_members_are_selected(
    digits, monkeypatch
):
    # The accelerator's way of leaving a stopped member's weights alone (a
    # select at every step, where a CPU branches), run on this CPU.
    from skmlp._engine import _jax

    monkeypatch.setattr(_jax, "_branches", lambda: False)
    monkeypatch.setattr(_jax, "_trainers", type(_jax._trainers)())  # compile anew
    members_train_exactly_as_alone(digits, Training(True, monkeypatch))


def test_a_diverging_member_gets_error_score_and_the_others_go_on(digits, training):
    X, y = digits
    y = y.astype(float)
    model = MLPKerasRegressor(
        hidden_layer_sizes=(8,), epochs=2, optimizer="sgd", random_state=0
    )
    grid = {"learning_rate": [1e-3, 1e6]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, printed = run(GridSearchCV(model, grid, cv=2, verbose=1).fit, X, y)
        # 2 x 2 folds together (the diverged members get the error score),
        # and the refit.
        training.check(printed, fits=5, together=[4])
        theirs = sk.GridSearchCV(model, grid, cv=2).fit(X, y)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert np.isnan(ours.cv_results_["mean_test_score"][1])
    assert np.isfinite(ours.cv_results_["mean_test_score"][0])


def test_max_batch_and_parallel_workers(digits, training):
    X, y = digits
    grid = {"learning_rate": [1e-3, 2e-3, 3e-3, 4e-3, 5e-3]}
    ours, printed = run(
        GridSearchCV(small(), grid, cv=2, max_batch=4, verbose=1).fit, X, y
    )
    training.check(printed, fits=11, together=[4, 4, 2])
    with joblib.parallel_config(backend="threading"):
        parallel = GridSearchCV(small(), grid, cv=2, n_jobs=2).fit(X, y)
    assert_same_results(parallel.cv_results_, ours.cv_results_)


def test_what_cannot_batch_is_fitted_by_scikit_learn(digits, monkeypatch):
    training = Training(BATCHED, monkeypatch)
    # Two networks would batch (were these batchable), so two fits show it.
    monkeypatch.setattr(_batch, "CPU_BATCH_MIN_MEMBERS", 1)
    X, y = digits[0][:300], digits[1][:300]  # Keras' own fit, 8 times
    batch_hook = keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs=None: None
    )
    grid = {"learning_rate": [1e-2]}
    for model in (small(callbacks=[batch_hook]), small(engine="keras")):
        search = GridSearchCV(model, grid, cv=2, verbose=1, refit=False)
        ours, printed = run(search.fit, X, y)
        # On every backend: 2 fits, each trained by itself.
        assert networks_trained_together(printed) == []
        assert (training.alone, training.groups) == (2, [])
        theirs = sk.GridSearchCV(model, grid, cv=2, refit=False).fit(X, y)
        assert_same_results(ours.cv_results_, theirs.cv_results_)
        training.reset()


class CountedScaler(StandardScaler):
    """A StandardScaler that counts its fits (in this process)."""

    fits = 0

    def fit(self, X, y=None, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


def test_steps_before_the_network_are_fitted_once_per_split(digits, training):
    # An unseeded randomized PCA gives other components at each fit: each
    # split's PCA is fitted once for all candidates, and every network
    # trained once and used (none trained again because its data changed).
    X, y = digits
    pipe = make_pipeline(CountedScaler(), PCA(16, svd_solver="randomized"), small())
    grid = {"mlpkerasclassifier__learning_rate": [1e-3, 2e-3, 3e-3, 4e-3]}
    CountedScaler.fits = 0
    search = GridSearchCV(pipe, grid, cv=2, verbose=1)
    ours, printed = run(search.fit, X, y)
    training.check(printed, fits=9, together=[8])
    # Batched: once per split and once for the refit; one by one: every fit.
    assert CountedScaler.fits == (3 if training.batched else 9)
    assert np.isfinite(ours.cv_results_["mean_test_score"]).all()


def test_a_validation_set_of_ones_own_trains_batched_too(digits, training):
    # X_val/y_val (the same rows for every fold) keep the batched path, as a
    # fit parameter and under metadata routing through a pipeline that
    # passes X_val through its fitted scaler (transform_input).
    import sklearn
    from sklearn.pipeline import Pipeline

    X, y = digits
    X_val, y_val = X[-100:], y[-100:]
    X, y = X[:-100], y[:-100]
    model = small(early_stopping=True, patience=1, epochs=4)
    grid = {"learning_rate": [1e-2, 2e-2]}
    ours, printed = run(
        GridSearchCV(model, grid, cv=2, verbose=1).fit, X, y, X_val=X_val, y_val=y_val
    )
    training.check(printed, fits=5, together=[4])
    theirs = sk.GridSearchCV(model, grid, cv=2).fit(X, y, X_val=X_val, y_val=y_val)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert "val_loss" in ours.best_estimator_.history_
    training.reset()  # scikit-learn's own fits, one by one everywhere
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [("scale", StandardScaler()), ("net", clone(model))],
            transform_input=["X_val"],
        )
        pipe["net"].set_fit_request(X_val=True, y_val=True)
        grid = {"net__learning_rate": [1e-2, 2e-2]}
        ours, printed = run(
            GridSearchCV(pipe, grid, cv=2, verbose=1).fit,
            X,
            y,
            X_val=X_val,
            y_val=y_val,
        )
        training.check(printed, fits=5, together=[4])
        theirs = sk.GridSearchCV(pipe, grid, cv=2).fit(X, y, X_val=X_val, y_val=y_val)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
