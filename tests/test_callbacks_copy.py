"""copy_callbacks: one deep copy of each callback per fit, or an error naming it."""

import threading

import keras
import pytest

from skmlp._callbacks import copy_callbacks


class Locked(keras.callbacks.Callback):
    """Holds a lock, which copy.deepcopy cannot copy."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()


def test_each_callback_is_a_deep_copy_in_order():
    stop = keras.callbacks.EarlyStopping(patience=3)
    log = keras.callbacks.History()
    copies = copy_callbacks([stop, log])
    assert [type(c) for c in copies] == [
        keras.callbacks.EarlyStopping,
        keras.callbacks.History,
    ]
    assert copies[0] is not stop and copies[0].patience == 3
    assert copies[1] is not log
    assert copy_callbacks(None) == [] and copy_callbacks(()) == []


def test_a_callback_that_cannot_be_copied_is_named_with_the_fix():
    with pytest.raises(TypeError) as info:
        copy_callbacks([keras.callbacks.History(), Locked()])
    message = str(info.value)
    assert message.startswith(
        f"callbacks[1], a {__name__}.Locked, cannot be copied (TypeError: "
    )
    assert "_thread.lock" in message  # what could not be copied
    assert "in on_train_begin rather than in __init__" in message  # the fix
    assert isinstance(info.value.__cause__, TypeError)  # deepcopy's own error
    assert "_thread.lock" in str(info.value.__cause__)


def test_a_fit_with_such_a_callback_names_it_and_leaves_no_network(digits):
    from skmlp import MLPKerasClassifier

    X, y = digits
    clf = MLPKerasClassifier((4,), epochs=1, callbacks=[Locked()])
    with pytest.raises(
        TypeError, match=r"callbacks\[0\], a .*Locked, cannot be copied"
    ):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
