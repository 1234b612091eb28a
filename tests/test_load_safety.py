"""skmlp.load treats a file as untrusted: no code, no modules, no bombs."""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import skmlp
from skmlp import MLPKerasClassifier


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])[y]  # fmt: skip
    return MLPKerasClassifier((8,), epochs=1, random_state=0).fit(X, labels)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, fitted):
    """A file in an earlier release's format 1: the network as a .keras file.

    skmlp.load still reads them, checking the network's Keras configuration
    before Keras does; the tests below tamper with both parts.
    """
    folder = tmp_path_factory.mktemp("saved")
    fitted.save(folder / "current.skmlp")
    with zipfile.ZipFile(folder / "current.skmlp") as archive:
        meta = json.loads(archive.read("estimator.json"))
    # What 0.1.0 wrote: parameters and its private fitted attributes.
    meta["format"] = 1
    del meta["spec"], meta["targets"]
    meta["fitted"].update(
        _dtype="float32", _y_one_hot=False, _y_sparse=False, _multilabel=False
    )
    fitted.model_.save(folder / "model.keras")
    path = folder / "clf.skmlp"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("estimator.json", json.dumps(meta))
        archive.write(folder / "model.keras", "model.keras")
    return path


def edited(source, target, edit):
    """A copy of a current-format file with its estimator.json edited."""
    with zipfile.ZipFile(source) as archive:
        meta = json.loads(archive.read("estimator.json"))
        network = archive.read("network.npz")
    edit(meta)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("estimator.json", json.dumps(meta))
        archive.writestr("network.npz", network)
    return target


def test_the_current_format_holds_no_keras_configuration(fitted, digits, tmp_path):
    fitted.save(tmp_path / "clf.skmlp")
    with zipfile.ZipFile(tmp_path / "clf.skmlp") as archive:
        assert sorted(archive.namelist()) == ["estimator.json", "network.npz"]
    loaded = skmlp.load(tmp_path / "clf.skmlp")
    np.testing.assert_array_equal(
        loaded.predict_proba(digits[0]), fitted.predict_proba(digits[0])
    )


def test_a_spec_edited_to_ask_for_huge_layers_is_refused(fitted, tmp_path, spy):
    from skmlp import _network

    fitted.save(tmp_path / "clf.skmlp")
    built = spy(_network, "build_mlp")
    # The network is the spec's: its entries are checked like parameters and
    # against the saved arrays before anything is built.
    for name, value, message in [
        ("hidden_layer_sizes", [4_000_000_000], "weights' shapes .* are not those"),
        ("n_features", 4_000_000_000, "n_features_in_ does not match"),
        ("activation", ["__import__"], "'activation' parameter"),
        ("loss", "os.system", "is not a Keras loss"),
        ("output_activation", "linear", "output does not match its targets"),
        ("dtype", "complex128", "unknown network dtype 'complex128'"),
        ("no_such_field", 1, "unknown network fields"),
    ]:
        target = tmp_path / f"spec-{name}.skmlp"
        edit = {name: value}
        bad = edited(tmp_path / "clf.skmlp", target, lambda m, e=edit: m["spec"].update(e))  # fmt: skip
        with pytest.raises(ValueError, match=message):
            skmlp.load(bad)
    assert built == []
    # The parameters are a refit's: not the saved network's.
    edit = {"hidden_layer_sizes": {"tuple": [4_000_000_000]}}
    other = edited(tmp_path / "clf.skmlp", tmp_path / "p.skmlp", lambda m: m["params"].update(edit))  # fmt: skip
    assert skmlp.load(other).coefs_[0].shape == (64, 8)


@pytest.mark.parametrize(
    "name", ["classifier-0.1.0.skmlp", "regressor-0.1.0.skmlp", "classifier-0.1.0.pkl"]
)
def test_files_and_pickles_of_0_1_0_load_and_predict_as_they_did(name):
    # Written by skmlp 0.1.0 (format 2: parameters and private attributes; a
    # pickle of the estimator), with its predictions beside them.
    import pickle

    from .conftest import ROOT

    folder = ROOT / "tests" / "data"
    expected = np.load(folder / "predictions-0.1.0.npz")
    if name.endswith(".pkl"):
        with open(folder / name, "rb") as f:
            loaded = pickle.load(f)
    else:
        loaded = skmlp.load(folder / name)
    if "regressor" in name:
        np.testing.assert_array_equal(loaded.predict(expected["X"]), expected["reg"])
    else:
        np.testing.assert_array_equal(
            loaded.predict_proba(expected["X"]), expected["proba"]
        )
        # It continues as the network it was (SGD with momentum 0.9, BN).
        assert loaded._spec.batch_normalization and loaded._spec.momentum == 0.9
        loaded.set_params(warm_start=True).fit(expected["X"], np.arange(20) % 10)


def test_an_old_format_file_still_loads(saved, fitted, digits):
    loaded = skmlp.load(saved)
    np.testing.assert_array_equal(
        loaded.predict_proba(digits[0]), fitted.predict_proba(digits[0])
    )


def rewrite(source, target, *, estimator=None, config=None, extra=None):
    """A copy of a saved file with its estimator.json or network config changed."""
    with zipfile.ZipFile(source) as archive:
        meta = json.loads(archive.read("estimator.json"))
        network = archive.read("model.keras")
    if estimator is not None:
        estimator(meta)
    if config is not None:
        inner_in = zipfile.ZipFile(io.BytesIO(network))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as inner_out:
            for name in inner_in.namelist():
                data = inner_in.read(name)
                if name == "config.json":
                    data = json.dumps(config(json.loads(data))).encode()
                inner_out.writestr(name, data)
        network = buffer.getvalue()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("estimator.json", json.dumps(meta))
        archive.writestr("model.keras", network)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


def test_a_saved_estimator_loads_with_its_string_classes(saved, digits):
    clf = skmlp.load(saved)
    assert clf.classes_.tolist()[:2] == ["eight", "five"]
    assert clf.predict(digits[0][:3]).dtype.kind == "U"


def first_layer(config):
    return config["config"]["layers"][1]


def test_a_config_naming_another_module_is_refused(saved, tmp_path):
    def evil(config):
        first_layer(config).update({"module": "this", "class_name": "s"})
        return config

    bad = rewrite(saved, tmp_path / "bad.skmlp", config=evil)
    with pytest.raises(
        ValueError, match="refusing to load a network that names this.s"
    ):
        skmlp.load(bad)


def test_a_tampered_network_is_refused_before_keras_reads_it(saved, tmp_path, spy):
    # So the refusal holds on any Keras release, however its own loader
    # treats such a config (tools/check_lowest_keras.py runs this file on
    # the lowest release pyproject.toml allows, and on an unsafe 3.8.0).
    import keras

    def evil(config):
        first_layer(config).update({"module": "this", "class_name": "s"})
        return config

    loads = spy(keras.saving, "load_model")
    with pytest.raises(ValueError, match="refusing to load"):
        skmlp.load(rewrite(saved, tmp_path / "bad.skmlp", config=evil))
    assert loads == []
    skmlp.load(saved)  # the untampered file does go through Keras' loader
    assert len(loads) == 1


def test_a_lambda_layer_is_refused_even_with_unsafe_deserialization_on(saved, tmp_path):
    def evil(config):
        layer = first_layer(config)
        layer.update({"class_name": "Lambda", "module": "keras.layers"})
        layer["config"]["function"] = {
            "class_name": "__lambda__",
            "config": {"code": "print('pwned')", "defaults": None, "closure": None},
        }
        return config

    bad = rewrite(saved, tmp_path / "lambda.skmlp", config=evil)
    script = (
        "import keras, skmlp\n"
        "keras.config.enable_unsafe_deserialization()\n"
        f"try:\n    skmlp.load({str(bad)!r})\n"
        "except ValueError as e:\n    print('refused:', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert "refused: " in out.stdout and "refusing to load" in out.stdout, out.stderr[
        -2000:
    ]
    assert "pwned" not in out.stdout


def test_an_oversized_estimator_json_is_refused_before_it_is_read(saved, tmp_path):
    def huge(meta):
        meta["padding"] = " " * (65 << 20)  # compresses to almost nothing

    bad = rewrite(saved, tmp_path / "bomb.skmlp", estimator=huge)
    assert bad.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match="larger than an skmlp file can hold"):
        skmlp.load(bad)


def test_a_dtype_edit_cannot_allocate_gigabytes(saved, tmp_path):
    def wide(meta):
        meta["arrays"]["classes_"]["dtype"] = "<U250000000"

    clf = skmlp.load(rewrite(saved, tmp_path / "wide.skmlp", estimator=wide))
    assert clf.classes_.dtype.itemsize <= 4 * len("eight")

    def code(meta):
        meta["arrays"]["classes_"]["dtype"] = "|V8"

    with pytest.raises(ValueError, match="unsupported array type"):
        skmlp.load(rewrite(saved, tmp_path / "void.skmlp", estimator=code))


def test_relabelled_classes_and_bad_parameters_are_refused(saved, fitted, tmp_path):
    current = tmp_path / "current.skmlp"
    fitted.save(current)

    def relabel(meta):
        meta["arrays"]["classes_"]["values"] = ["a", "b", "c"]

    with pytest.raises(ValueError, match="3 classes_ do not match the network's 10"):
        skmlp.load(rewrite(saved, tmp_path / "relabel.skmlp", estimator=relabel))

    def bad_dtype(meta):
        meta["fitted"]["_dtype"] = "complex128"

    with pytest.raises(ValueError, match="unknown network dtype 'complex128'"):
        skmlp.load(rewrite(saved, tmp_path / "dtype.skmlp", estimator=bad_dtype))

    def bad_param(meta):
        meta["params"]["batch_size"] = -5

    with pytest.raises(ValueError, match="batch_size"):
        skmlp.load(rewrite(saved, tmp_path / "param.skmlp", estimator=bad_param))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda meta: meta.__setitem__("fitted", {"predict": 1}), "unknown fitted"),
        (lambda meta: meta.pop("params"), "malformed or invalid"),
        (lambda meta: meta["params"].__setitem__("hiden", 1), "malformed or invalid"),
        (lambda meta: meta.__setitem__("format", 99), "unsupported skmlp file"),
    ],
)
def test_malformed_estimator_json_is_a_value_error_naming_the_file(
    saved, tmp_path, edit, message
):
    bad = rewrite(saved, tmp_path / "malformed.skmlp", estimator=edit)
    with pytest.raises(ValueError, match=f"malformed.skmlp.*{message}"):
        skmlp.load(bad)


def test_invalid_json_is_a_value_error_naming_the_file(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        network = archive.read("model.keras")
    bad = tmp_path / "json.skmlp"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("estimator.json", b"{not json\xff")
        archive.writestr("model.keras", network)
    with pytest.raises(
        ValueError, match="json.skmlp: estimator.json is not valid JSON"
    ):
        skmlp.load(bad)


def test_a_regressor_file_relabelled_as_a_classifier_is_refused(digits, tmp_path):
    from skmlp import MLPKerasRegressor

    X, y = digits
    MLPKerasRegressor((4,), epochs=1).fit(X, y.astype(float)).save(tmp_path / "r.skmlp")
    relabelled = edited(
        tmp_path / "r.skmlp",
        tmp_path / "c.skmlp",
        lambda meta: meta.__setitem__("class", "MLPKerasClassifier"),
    )
    with pytest.raises(ValueError, match="MLPKerasClassifier with a regressor's"):
        skmlp.load(relabelled)


def test_a_saved_parameter_naming_another_module_is_refused(fitted, tmp_path):
    fitted.save(tmp_path / "clf.skmlp")

    def evil(meta):
        meta["params"]["loss"] = {
            "keras": {
                "module": "os",
                "class_name": "system",
                "config": {"command": "x"},
            }
        }

    bad = edited(tmp_path / "clf.skmlp", tmp_path / "evil.skmlp", evil)
    with pytest.raises(ValueError, match="refusing a saved parameter that names os"):
        skmlp.load(bad)


def test_a_parameter_of_a_class_of_your_own_is_refused_at_save(digits, tmp_path):
    import keras

    class MyLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.losses.categorical_crossentropy(y_true, y_pred)

    X, y = digits
    clf = MLPKerasClassifier((4,), epochs=1, loss=MyLoss()).fit(X, y)
    with pytest.raises(ValueError, match="cannot save loss=.*refuses an object"):
        clf.save(tmp_path / "mine.skmlp")
    assert not (tmp_path / "mine.skmlp").exists()
