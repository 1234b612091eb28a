"""scikit-learn's callbacks (sklearn.callback, experimental) reach each epoch."""

import numpy as np
import pytest

pytest.importorskip("sklearn.callback", reason="scikit-learn 1.9's callbacks")

from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.model_selection import cross_validate  # noqa: E402

from skmlp import MLPKerasClassifier  # noqa: E402
from skmlp.model_selection import GridSearchCV  # noqa: E402


class Recorder:
    """An auto-propagated callback that notes every task that ends."""

    max_propagation_depth = None

    def __init__(self):
        self.ended = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        self.ended.append((type(estimator).__name__, context.task_name))


def test_scoring_monitor_scores_every_epoch_with_the_network_of_that_epoch(digits):
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPKerasClassifier((16,), epochs=4, dropout=0.0, random_state=0)
    clf.set_callbacks(monitor).fit(X / 16, y)
    rows = monitor.get_logs().data_as_pandas
    epochs = rows[rows["task_name"] == "epoch"]
    assert len(epochs) == 4
    # The last epoch's network is the fitted one; earlier ones differ.
    assert epochs["accuracy"].iloc[-1] == pytest.approx(clf.score(X / 16, y))
    assert epochs["accuracy"].nunique() > 1
    assert not hasattr(clf, "_callback_fit_ctx")  # torn down


def test_callbacks_propagate_from_a_search_to_each_epoch(digits):
    X, y = digits
    X = X / 16
    grid = {"learning_rate": [0.01, 0.02]}
    network = MLPKerasClassifier((8,), epochs=2, random_state=0)
    plain = GridSearchCV(network, grid, cv=2).fit(X, y)
    recorder = Recorder()
    watched = GridSearchCV(network, grid, cv=2).set_callbacks(recorder, ProgressBar())
    watched.fit(X, y)
    epochs = [e for e in recorder.ended if e == ("MLPKerasClassifier", "epoch")]
    assert len(epochs) == (2 * 2 + 1) * 2  # (candidates x folds + refit) x epochs
    assert ("GridSearchCV", "search") in recorder.ended
    np.testing.assert_array_equal(
        watched.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


def test_callbacks_set_on_a_network_travel_with_clone(digits):
    X, y = digits
    recorder = Recorder()
    network = MLPKerasClassifier((8,), epochs=3, random_state=0).set_callbacks(recorder)
    cross_validate(network, X / 16, y, cv=2)
    assert recorder.ended.count(("MLPKerasClassifier", "epoch")) == 2 * 3


@pytest.mark.backends
@pytest.mark.only_backend("jax")
def test_callbacks_reach_each_epoch_of_networks_trained_batched(digits, capsys):
    # On JAX the search's 4 fits train as one batch; each network still
    # reports its fit and each of its epochs, as when it trains alone.
    X, y = digits
    grid = {"learning_rate": [0.01, 0.02]}
    network = MLPKerasClassifier((8,), epochs=2, random_state=0)
    plain = GridSearchCV(network, grid, cv=2).fit(X, y)
    recorder = Recorder()
    watched = GridSearchCV(network, grid, cv=2, verbose=1)
    watched.set_callbacks(recorder, ProgressBar()).fit(X, y)
    assert "[skmlp] training 4 networks" in capsys.readouterr().out
    assert recorder.ended.count(("MLPKerasClassifier", "epoch")) == (4 + 1) * 2
    assert recorder.ended.count(("MLPKerasClassifier", "fit")) == 4 + 1
    assert ("GridSearchCV", "search") in recorder.ended
    np.testing.assert_array_equal(
        watched.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )


@pytest.mark.backends
@pytest.mark.only_backend("tensorflow", "jax")
def test_a_voting_ensemble_passes_its_callbacks_to_each_members_epochs(digits):
    from skmlp.ensemble import VotingClassifier

    X, y = digits
    members = [
        (f"net{i}", MLPKerasClassifier((8,), epochs=2, random_state=i))
        for i in range(4)
    ]
    plain = VotingClassifier(members, voting="soft").fit(X, y)
    recorder = Recorder()
    vote = VotingClassifier(members, voting="soft").set_callbacks(recorder)
    vote.fit(X, y)
    assert recorder.ended.count(("MLPKerasClassifier", "epoch")) == 4 * 2
    assert recorder.ended.count(("MLPKerasClassifier", "fit")) == 4
    assert recorder.ended[-1] == ("VotingClassifier", "fit")
    np.testing.assert_allclose(vote.predict_proba(X), plain.predict_proba(X))
