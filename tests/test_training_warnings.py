"""A fit that went wrong says so, once, naming the fix (skmlp._diagnostics)."""

import re
import warnings

from skmlp import MLPKerasClassifier, MLPKerasRegressor

# Plain SGD with momentum, no dropout: steps large enough to go wrong on digits.
SGD = dict(optimizer="sgd", momentum=0.9, epochs=4, random_state=0, dropout=0.0)


def training_warnings(fit, *args, **kwargs) -> list[str]:
    """The messages of the warnings about training that ``fit(...)`` gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(*args, **kwargs)
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, UserWarning) and str(w.message).startswith("train")
    ]


def test_a_loss_that_rose_a_hundredfold_warns_naming_the_fix(digits):
    X, y = digits
    # Absolute error grows slowly enough to stay finite: no DivergenceError.
    reg = MLPKerasRegressor(
        (16,), activation="linear", loss="mean_absolute_error", learning_rate=1.0, **SGD
    )
    [message] = training_warnings(reg.fit, X[:500], y[:500].astype(float))
    assert re.fullmatch(
        r"training went wrong: the loss rose from \S+ in the first epoch to \S+ in "
        r"the last\. Lower the learning rate \(learning_rate=1\.0; try a tenth\), "
        r"or scale the inputs \(sklearn's StandardScaler\)\.",
        message,
    ), message
    assert reg.history_["loss"][-1] > 100 * reg.history_["loss"][0]


def test_one_class_for_every_row_warns_once_with_the_loss(digits):
    X, y = digits
    # Dead ReLUs: the loss falls from where the first steps threw it, and every
    # row gets one class.
    clf = MLPKerasClassifier((16,), activation="relu", learning_rate=10.0, **SGD)
    [message] = training_warnings(clf.fit, X[:500], y[:500])
    assert re.match(
        r"training went wrong: it predicts the class \d for every one of the 500 "
        r"training rows\. Lower the learning rate \(learning_rate=10\.0",
        message,
    ), message
    assert len(set(clf.predict(X[:500]))) == 1
    # Both at once (a linear network blowing up): one warning names both.
    clf = MLPKerasClassifier((16,), activation="linear", learning_rate=2.0, **SGD)
    [message] = training_warnings(clf.fit, X[:500], y[:500])
    assert re.match(
        r"training went wrong: the loss rose from .* and it predicts the class \d "
        r"for every one of the 500 training rows\. Lower the learning rate",
        message,
    ), message


def test_unscaled_inputs_at_chance_give_one_warning_naming_scaling(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        (16,), optimizer="sgd", learning_rate=5.0, epochs=2, random_state=0,
        activation="sigmoid",
    )  # fmt: skip
    messages = training_warnings(clf.fit, X * 255.0, y)
    # The labs silence it by its start; what else went wrong is in the same one.
    assert len(messages) == 1, messages
    assert re.match(
        r"training accuracy stayed at chance level \(0\.\d+\), it predicts the "
        r"class \d for every one of the 1797 training rows, and the inputs reach "
        r"255: unscaled inputs .* Scale them",
        messages[0],
    ), messages[0]


def test_fits_that_went_right_do_not_warn(digits):
    X, y = digits
    assert training_warnings(MLPKerasClassifier((16,), epochs=3).fit, X, y) == []
    # A partial_fit batch of one class, predicted as one class: nothing wrong.
    clf = MLPKerasClassifier((16,), random_state=0)
    threes = X[y == 3][:50]
    assert training_warnings(clf.partial_fit, threes, [3] * 50, classes=range(10)) == []
    assert len(set(clf.predict(threes))) == 1
