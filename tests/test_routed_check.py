"""check_routed: compile__* and fit__* names against Keras' own signatures."""

import inspect

import keras
import pytest

from skmlp._validation import (
    _SET_BY_THE_ESTIMATOR,
    InvalidParameterError,
    check_routed,
)


def test_arguments_keras_takes_pass():
    check_routed(
        {
            "compile__auto_scale_loss": False,
            "compile__weighted_metrics": ["accuracy"],
            "fit__validation_freq": 2,
            "fit__initial_epoch": 1,
            "optimizer__beta_1": 0.8,  # not compile's or fit's: left to its own check
        }
    )
    check_routed({})


@pytest.mark.parametrize(
    ("routed", "message"),
    [
        (
            {"compile__jit_compil": True},
            "compile__jit_compil: keras.Model.compile has no argument 'jit_compil' "
            "that can be routed (Keras {version}). Did you mean 'jit_compile'?",
        ),
        (
            {"fit__validation_frequency": 2},
            "fit__validation_frequency: keras.Model.fit has no argument "
            "'validation_frequency' that can be routed (Keras {version}). Did you "
            "mean 'validation_freq'?",
        ),
        (
            {"fit__xyz": 1},
            "fit__xyz: keras.Model.fit has no argument 'xyz' that can be routed "
            "(Keras {version}). Routable: fit__validation_data, ",
        ),
        (
            {"fit__epoch": 3},
            "Did you mean 'epochs'? The estimator passes it itself, from the "
            "parameter epochs.",
        ),
        (
            {"fit__epochs": 3},
            "fit__epochs: the estimator passes 'epochs' to keras.Model.fit itself, "
            "from the parameter epochs; set that instead.",
        ),
        (
            {"compile__loss": "mse"},
            "compile__loss: the estimator passes 'loss' to keras.Model.compile "
            "itself, from the parameter loss; set that instead.",
        ),
    ],
)
def test_unknown_or_doubled_arguments_are_named(routed, message):
    with pytest.raises(InvalidParameterError) as info:
        check_routed(routed)
    assert message.format(version=keras.__version__) in str(info.value)
    assert isinstance(info.value, ValueError)  # as every bad parameter


def test_the_routable_names_are_keras_own():
    with pytest.raises(InvalidParameterError) as info:
        check_routed({"compile__nope": 1})
    listed = str(info.value).split("Routable: ")[1].rstrip(".").split(", ")
    signature = inspect.signature(keras.Model.compile).parameters
    passed = _SET_BY_THE_ESTIMATOR["compile"]
    assert {"optimizer", "loss", "metrics"} <= set(passed)
    assert listed == [
        f"compile__{name}"
        for name in signature
        if name != "self" and name not in passed
    ]
