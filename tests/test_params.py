"""One table of parameters: signatures, constraints, docs, guide and CLI agree."""

import importlib.util
import inspect

import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor, _params
from skmlp._base import FITTED, _BaseMLP
from skmlp.cli import build_parser

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
    # The defaults the docs state: test_estimators.py reads both the
    # docstrings and the user guide's table.


@pytest.mark.parametrize("cls", [MLPKerasClassifier, MLPKerasRegressor])
def test_every_parameter_has_constraints_its_default_meets(cls):
    params = signature(cls)
    constraints = cls._skmlp_constraints
    assert set(constraints) == set(params)
    for name, default in params.items():
        assert any(c.is_satisfied_by(default) for c in constraints[name]), name


def test_the_user_guides_table_of_every_parameter_is_generated():
    # The table of every parameter is the one generated from skmlp._params
    # (test_estimators.py checks the defaults it states).
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    spec = importlib.util.spec_from_file_location(
        "make_api_reference", ROOT / "tools" / "make_api_reference.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.render_guide(guide) == guide, "run python tools/make_api_reference.py"
    assert _params.KERAS.keys() == signature(MLPKerasClassifier).keys()


# For each parameter with a command-line flag: two values other than both the
# command's default and the estimator's (``grid`` takes the second where the
# flag takes several values).
_FLAG_VALUES = {
    "hidden_layer_sizes": ((7, 5), (9,)),
    "activation": ("tanh", "elu"),
    "kernel_initializer": ("he_normal", "lecun_uniform"),
    "dropout": (0.3, 0.1),
    "batch_normalization": (True, False),
    "kernel_l1": (0.01, 0.001),
    "kernel_l2": (0.02, 0.002),
    "optimizer": ("sgd", "rmsprop"),
    "learning_rate": (0.05, 0.2),
    "momentum": (0.5, 0.9),
    "batch_size": (32, 64),
    "epochs": (3, 4),
    "validation_split": (0.25, 0.3),
    "early_stopping": (True, False),
}


class _Built(Exception):
    """Raised where the command would start training: it built what it needed."""


def _command_line(name, values):
    flag = _params.FLAGS[name]
    if flag.kind == "switch":
        return [flag.option] if values == (True,) else [flag.option, "true", "false"]
    texts = [",".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in values]
    return [flag.option, *texts]


def _command_default(name):
    """The value a parameter gets from the command when its flag is not given."""
    flag = _params.FLAGS[name]
    if name == "hidden_layer_sizes":
        return tuple(int(units) for units in flag.default.split(","))
    return False if flag.kind == "switch" else flag.default


@pytest.fixture
def commands(monkeypatch, tmp_path):
    """``commands(argv)``: the estimator ``skmlp train`` builds, or for ``grid``
    the estimator and the parameter grid its search gets; nothing trains."""
    from skmlp import cli, model_selection

    data = np.zeros((20, 4), np.float32), np.arange(20) % 2
    monkeypatch.setattr(cli, "_prepared", lambda args: (*data, *data))

    def fit_noting_interrupt(clf, X, y):
        raise _Built(clf)

    class Search:
        def __init__(self, estimator, grid, **kwargs):
            self.estimator, self.grid = estimator, grid

        def fit(self, X, y):
            raise _Built(self.estimator, self.grid)

    monkeypatch.setattr(cli, "_fit_noting_interrupt", fit_noting_interrupt)
    monkeypatch.setattr(model_selection, "GridSearchCV", Search)

    def run(argv):
        command, *options = argv
        where = ["--output", str(tmp_path / "out")]
        if command == "grid":
            where = ["--csv", str(tmp_path / "grid.csv")]
        args = build_parser().parse_args([command, *where, *options])
        with pytest.raises(_Built) as built:
            {"train": cli._train, "grid": cli._grid}[command](args)
        return built.value.args

    return run


def test_every_flag_has_values_other_than_both_defaults():
    assert _FLAG_VALUES.keys() == _params.FLAGS.keys()
    defaults = signature(MLPKerasClassifier)
    for name, values in _FLAG_VALUES.items():
        assert values[0] not in (defaults[name], _command_default(name)), name


@pytest.mark.parametrize("name", list(_params.FLAGS))
def test_skmlp_train_builds_the_estimator_its_flags_say(name, commands):
    value = _FLAG_VALUES[name][0]
    (clf,) = commands(["train", *_command_line(name, (value,))])
    assert isinstance(clf, MLPKerasClassifier)
    params = clf.get_params()
    assert params[name] == value and type(params[name]) is type(value)
    # The other flags' parameters keep the command's defaults.
    for other in _params.FLAGS.keys() - {name}:
        assert params[other] == _command_default(other), other


@pytest.mark.parametrize("name", list(_params.FLAGS))
def test_skmlp_grid_searches_the_flags_that_take_several_values(name, commands):
    flag = _params.FLAGS[name]
    several = {n for n, f in _params.FLAGS.items() if f.several}
    if flag.several:
        values = _FLAG_VALUES[name]
        clf, grid = commands(["grid", *_command_line(name, values)])
        assert grid[name] == list(values)
    else:
        value = _FLAG_VALUES[name][0]
        with pytest.raises(SystemExit):  # one value only
            commands(["grid", *_command_line(name, _FLAG_VALUES[name])])
        clf, grid = commands(["grid", *_command_line(name, (value,))])
        assert clf.get_params()[name] == value and name not in grid
    # Only flags that take several values are dimensions of the grid; the
    # flags not given keep the command's defaults, in the grid or not.
    assert grid.keys() <= several
    params = clf.get_params()
    for other in _params.FLAGS.keys() - {name}:
        assert grid.get(other, [params[other]]) == [_command_default(other)], other


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
