"""One table of parameters: signatures, constraints, docs, guide and CLI agree."""

import importlib.util
import inspect
import re

import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor, _params
from skmlp._base import FITTED, _BaseMLP
from skmlp.cli import NETWORK_FLAGS, build_parser

from .conftest import ROOT


def signature(cls):
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind is not p.VAR_KEYWORD
    }


def test_the_estimators_signatures_agree():
    base = signature(_BaseMLP)
    assert signature(MLPKerasRegressor) == base
    classifier = signature(MLPKerasClassifier)
    assert {k: v for k, v in classifier.items() if k != "class_weight"} == base
    assert list(classifier) == [*base][: list(classifier).index("class_weight")] + [
        "class_weight",
        *[*base][list(classifier).index("class_weight") :],
    ]


@pytest.mark.parametrize("cls", [MLPKerasClassifier, MLPKerasRegressor])
def test_the_table_has_one_row_per_parameter_in_signature_order(cls):
    classifier = cls is MLPKerasClassifier
    rows = [p.name for p in _params.PARAMETERS if classifier or not p.classifier_only]
    assert rows == list(signature(cls))
    # Every row's documentation states the signature's default.
    for row in _params.PARAMETERS:
        if row.name in signature(cls):
            stated = re.search(r"default=(.+)$", row.doc.splitlines()[0])
            assert stated, row.name
            default = signature(cls)[row.name]
            assert stated.group(1) == repr(default).replace("'", '"'), row.name


@pytest.mark.parametrize("cls", [MLPKerasClassifier, MLPKerasRegressor])
def test_every_parameter_has_constraints_its_default_meets(cls):
    params = signature(cls)
    constraints = cls._skmlp_constraints
    assert set(constraints) == set(params)
    for name, default in params.items():
        assert any(c.is_satisfied_by(default) for c in constraints[name]), name


@pytest.mark.parametrize("cls", [MLPKerasClassifier, MLPKerasRegressor])
def test_every_parameter_is_documented_with_its_default(cls):
    section = cls.__doc__.split("Parameters\n    ----------")[1].split("Attributes")[0]
    entries = re.findall(r"^    (\w[\w, ]*?) : (.*)$", section, re.M)
    documented = {}
    for names, spec in entries:
        for name in names.split(", "):
            documented[name] = spec
    for name, default in signature(cls).items():
        assert name in documented, f"{name} missing from {cls.__name__}'s docstring"
        stated = re.search(r"default=(.+)$", documented[name])
        if stated:
            assert stated.group(1) == repr(default).replace("'", '"'), name


def test_every_parameter_is_in_the_user_guide():
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    section = guide.split("## Every parameter and its Keras meaning")[1].split("\n## ")[
        0
    ]
    for name in signature(MLPKerasClassifier):
        assert re.search(rf"\b{name}\b", section), f"{name} missing from the guide"
    # The table of every parameter is the one generated from skmlp._params.
    spec = importlib.util.spec_from_file_location(
        "make_api_reference", ROOT / "tools" / "make_api_reference.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.render_guide(guide) == guide, "run python tools/make_api_reference.py"
    assert _params.KERAS.keys() == signature(MLPKerasClassifier).keys()


def test_the_command_line_flags_map_to_parameters():
    params = signature(MLPKerasClassifier)
    assert set(NETWORK_FLAGS.values()) <= set(params)
    assert {f.dest: name for name, f in _params.FLAGS.items()} == NETWORK_FLAGS
    for command in ("train", "grid"):
        parser = build_parser()
        args = parser.parse_args([command])
        for flag in NETWORK_FLAGS:
            assert hasattr(args, flag), (command, flag)
    assert _params.CONSTRAINTS.keys() <= params.keys()


@pytest.mark.parametrize("cls", [MLPKerasClassifier, MLPKerasRegressor])
def test_save_knows_every_attribute_a_fit_sets(cls, digits, tmp_path):
    import pandas as pd

    X, y = digits
    X = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
    est = cls((8,), epochs=1, random_state=0, tensorboard_dir=tmp_path)
    est.fit(X, y if cls is MLPKerasClassifier else y.astype(float))
    # The network is its spec, targets and arrays; the rest is _base.FITTED.
    params = set(est.get_params()) | {"_routed_params"}
    known = {"model_", "_predictor", "_spec", "_targets", *FITTED}
    assert set(vars(est)) - params <= known, set(vars(est)) - params - known
    state = est._fitted_state()
    assert set(state["attributes"]) == set(vars(est)) & set(FITTED)


def test_parameter_errors_are_scikit_learns_and_names_are_skmlps():
    from sklearn.base import BaseEstimator
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="Did you mean 'epochs'"):
        MLPKerasClassifier(epoch=3)
    with pytest.raises(InvalidParameterError, match="epochs"):
        MLPKerasRegressor(epochs=0)._check_params()
    # scikit-learn's own validation protocol is left as scikit-learn's.
    for cls in (MLPKerasClassifier, MLPKerasRegressor):
        assert "_parameter_constraints" not in vars(cls)
        assert cls._validate_params is BaseEstimator._validate_params


# A value other than the default for each parameter the spec holds.
_OTHER = {
    "hidden_layer_sizes": (9,),
    "activation": "tanh",
    "kernel_initializer": "he_normal",
    "bias_initializer": "ones",
    "dropout": 0.3,
    "batch_normalization": True,
    "kernel_l1": 0.1,
    "kernel_l2": 0.1,
    "bias_l1": 0.1,
    "bias_l2": 0.1,
    "activity_l1": 0.1,
    "activity_l2": 0.1,
    "optimizer": "sgd",
    "learning_rate": 0.5,
    "momentum": 0.5,
    "loss": "categorical_crossentropy",
    "metrics": ["accuracy"],
    "run_eagerly": True,
    "steps_per_execution": 3,
    "jit_compile": False,
}


def test_the_spec_records_every_parameter_the_table_says_it_holds():
    # Pickle, skmlp.load and continued fits know a network by its spec: each
    # parameter the table gives a continued-fit rule must be recorded there,
    # so that a change of it is seen (and nothing else is).
    from skmlp._targets import ClassTargets

    assert set(_OTHER) == set(_params.CONTINUED) - {"dtype"}
    targets = ClassTargets.fit(np.arange(3), loss=None)
    defaults = {"hidden_layer_sizes": (4,), "optimizer": "rmsprop"}
    base = MLPKerasClassifier(**defaults)._make_spec(targets, 5, "float32", 10)
    for name, value in _OTHER.items():
        other = MLPKerasClassifier(**{**defaults, name: value})
        assert base.changes(other._make_spec(targets, 5, "float32", 10)) == [name]
    assert base.changes(base.replace(dtype="float64")) == ["dtype"]
