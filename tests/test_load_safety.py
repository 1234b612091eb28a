"""skmlp.load treats a file as untrusted: no code, no modules, no bombs."""

import io
import json
import zipfile

import keras
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


def test_a_lambda_layer_is_refused_even_with_unsafe_deserialization_on(
    saved, tmp_path, capsys
):
    def evil(config):
        layer = first_layer(config)
        layer.update({"class_name": "Lambda", "module": "keras.layers"})
        layer["config"]["function"] = {
            "class_name": "__lambda__",
            "config": {"code": "print('pwned')", "defaults": None, "closure": None},
        }
        return config

    bad = rewrite(saved, tmp_path / "lambda.skmlp", config=evil)
    # The user's global switch, in this process; Keras' own scope puts the
    # setting back as it was afterwards.
    from keras.src.saving.serialization_lib import SafeModeScope, in_safe_mode

    with SafeModeScope(safe_mode=in_safe_mode()):
        keras.config.enable_unsafe_deserialization()
        assert in_safe_mode() is False
        with pytest.raises(ValueError, match="refusing to load"):
            skmlp.load(bad)
    assert "pwned" not in capsys.readouterr().out


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


# -- damaged and hostile files: a ValueError naming the file, nothing allocated --


def members(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path, contents: dict, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return path


def with_member(npz: bytes, name: str, data: bytes | None) -> bytes:
    """network.npz with member ``name`` replaced (or removed: None)."""
    contents = members(io.BytesIO(npz))
    contents[name] = data
    buffer = io.BytesIO()
    write(buffer, {k: v for k, v in contents.items() if v is not None})
    return buffer.getvalue()


def npy(descr: str, shape: tuple, data: bytes = b"") -> bytes:
    """A .npy member whose header declares ``descr`` and ``shape``."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def array(values) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(values))
    return buffer.getvalue()


def central_field(data: bytes, name: str, offset: int, value: int) -> bytes:
    """The archive with a 2-byte field of ``name``'s central-directory entry set."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(out[at + 28 : at + 30], "little")
        if out[at + 46 : at + 46 + length] == name.encode():
            out[at + offset : at + offset + 2] = value.to_bytes(2, "little")
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 1)
    raise AssertionError(f"no {name} in the archive")


def refused(path, match, *, cause=None, peak=8 << 20):
    """skmlp.load(path) raises a ValueError naming it, within ``peak`` bytes."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as info:
            skmlp.load(path)
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    if cause is not None:
        assert isinstance(info.value.__cause__, cause), repr(info.value.__cause__)
    assert used < peak, f"{used} bytes allocated to refuse {path.name}"
    return info.value


@pytest.mark.parametrize(
    ("member", "offset", "value", "cause", "message"),
    [
        ("estimator.json", 8, 1, RuntimeError, "is encrypted"),  # flag bit 0
        ("network.npz", 10, 13, NotImplementedError, "compression method"),
    ],
    ids=["encrypted", "unknown-compression"],
)
def test_members_zipfile_cannot_read_are_value_errors_with_the_cause(
    fitted, tmp_path, member, offset, value, cause, message
):
    fitted.save(tmp_path / "clf.skmlp")
    bad = tmp_path / "bad.skmlp"
    bad.write_bytes(
        central_field((tmp_path / "clf.skmlp").read_bytes(), member, offset, value)
    )
    refused(bad, f"{member} cannot be read .*{message}", cause=cause)


def test_json_nested_thousands_deep_is_refused_without_recursion(
    fitted, saved, tmp_path
):
    fitted.save(tmp_path / "clf.skmlp")
    contents = members(tmp_path / "clf.skmlp")
    deep = b"[" * 5000 + b"]" * 5000
    bad = write(tmp_path / "deep.skmlp", {**contents, "estimator.json": deep})
    refused(bad, "estimator.json is nested 5000 levels deep")
    # A parameter's tuples nested thousands deep (each level two).
    meta = json.loads(contents["estimator.json"])
    meta["params"]["hidden_layer_sizes"] = "DEEP"
    tuples = '{"tuple": [' * 3000 + "4" + "]}" * 3000
    text = json.dumps(meta).replace('"DEEP"', tuples)
    bad = write(tmp_path / "tuples.skmlp", {**contents, "estimator.json": text})
    refused(bad, "estimator.json is nested 6002 levels deep")
    # A format-1 network's Keras config.
    network = members(saved)["model.keras"]
    inner = members(io.BytesIO(network))
    inner["config.json"] = deep
    buffer = io.BytesIO()
    write(buffer, inner, zipfile.ZIP_STORED)
    bad = write(
        tmp_path / "config.skmlp", {**members(saved), "model.keras": buffer.getvalue()}
    )
    refused(bad, "model.keras cannot be read .*config is nested 5000 levels deep")


@pytest.mark.parametrize(
    ("member", "data", "message"),
    [
        # 3.6 TiB of strings, as a weight: refused for its type, not allocated.
        ("weights_0.npy", npy("<U250000000", (64, 8)), "declares <U250000000 values"),
        ("weights_0.npy", npy("|O", (64, 8)), "declares object values"),
        ("weights_0.npy", npy("<f4", (64, 15_000_000_000)), "weights' shapes"),
        # An optimizer array larger than any weight (4 TiB).
        ("optimizer_2.npy", npy("<f4", (1 << 40,)), "more than any weight"),
        # The header's size disagrees with the member's.
        ("weights_0.npy", npy("<f4", (64, 8), b"\0" * 100), "but holds 100 bytes"),
        ("weights_0.npy", npy("<f4", (64, 8), b"\0" * 4096), "but holds 4096 bytes"),
        ("weights_9.npy", array([1.0]), "has 4 weights"),
        ("evil.npy", array([1.0]), "unexpected array 'evil.npy'"),
        ("weights_1.npy", None, "weights arrays are not numbered"),
        # Consistent headers, values that are not: refused before anything is built.
        ("weights_0.npy", array(np.full((64, 8), np.nan, np.float32)), "NaN or inf"),
        ("optimizer_3.npy", array(np.full((64, 8), np.inf, np.float32)), "NaN or inf"),
    ],
    ids=[
        "unicode", "object", "huge-weight", "huge-slot", "short", "long",
        "extra-weight", "unknown-name", "missing", "nan", "inf",
    ],
)  # fmt: skip
def test_npy_headers_are_checked_before_anything_is_allocated(
    fitted, tmp_path, spy, member, data, message
):
    from skmlp import _network

    fitted.save(tmp_path / "clf.skmlp")
    contents = members(tmp_path / "clf.skmlp")
    contents["network.npz"] = with_member(contents["network.npz"], member, data)
    built = spy(_network, "build_mlp")
    refused(write(tmp_path / "bad.skmlp", contents), message)
    assert built == []


def test_inconsistent_attributes_are_refused_naming_the_entry(fitted, tmp_path):
    fitted.save(tmp_path / "clf.skmlp")
    for name, edit, message in [
        ("classes", lambda m: m["arrays"]["classes_"]["values"].__setitem__(1, "eight"), "distinct"),
        ("names", lambda m: m["arrays"].__setitem__("feature_names_in_", {"dtype": "<U2", "values": ["a", "b"]}), "feature_names_in_ does not match"),
        ("multilabel", lambda m: m["targets"].__setitem__("form", "multilabel"), "output|classes_"),
    ]:  # fmt: skip
        bad = edited(tmp_path / "clf.skmlp", tmp_path / f"{name}.skmlp", edit)
        refused(bad, message)


def test_a_network_npz_bomb_is_refused_before_it_is_inflated(fitted, tmp_path):
    fitted.save(tmp_path / "clf.skmlp")
    contents = members(tmp_path / "clf.skmlp")
    # 32 MiB of zeros, 32 KB in the file: far more than (64, 8, 10) weights and
    # their optimizer's state can take (the bound comes from the spec).
    bomb = write(tmp_path / "bomb.skmlp", {**contents, "network.npz": bytes(32 << 20)})
    assert bomb.stat().st_size < 1 << 20
    refused(bomb, "network.npz declares 33554432 bytes, more than the network it describes takes", peak=4 << 20)  # fmt: skip


def test_a_format_1_network_is_bounded_before_it_is_opened(saved, tmp_path, spy):
    import keras

    loads = spy(keras.saving, "load_model")
    contents = members(saved)
    inner = members(io.BytesIO(contents["model.keras"]))
    inner["model.weights.h5"] = bytes(32 << 20)
    for compression, message in [
        # Its members inflate past what the network's layers take...
        (zipfile.ZIP_DEFLATED, "model.keras would inflate to 33"),
        # ...or model.keras itself does.
        (zipfile.ZIP_STORED, "model.keras declares 33"),
    ]:
        buffer = io.BytesIO()
        write(buffer, inner, compression)
        bomb = write(
            tmp_path / "bomb.skmlp", {**contents, "model.keras": buffer.getvalue()}
        )
        assert bomb.stat().st_size < 1 << 20
        refused(bomb, message, peak=4 << 20)
    assert loads == []


def test_a_format_1_network_damaged_inside_is_refused(saved, fitted, tmp_path, spy):
    import keras

    contents = members(saved)
    network = contents["model.keras"]
    kernel = fitted.model_.weights[0].numpy().tobytes()
    at = network.find(kernel[:64])
    assert at > 0
    # One bit of a weight (model.keras stores its members): its CRC no longer
    # matches, which is checked before Keras, which reads by seeking, sees it.
    damaged = bytearray(network)
    damaged[at + 10] ^= 4
    bad = write(tmp_path / "bit.skmlp", {**contents, "model.keras": bytes(damaged)})
    loads = spy(keras.saving, "load_model")
    refused(bad, "model.keras's model.weights.h5 is damaged")
    assert loads == []
    # Not HDF5 at all, its CRC valid: what h5py raises is named the same way.
    inner = members(io.BytesIO(network))
    inner["model.weights.h5"] = b"not hdf5" * 100
    buffer = io.BytesIO()
    write(buffer, inner, zipfile.ZIP_STORED)
    bad = write(tmp_path / "h5.skmlp", {**contents, "model.keras": buffer.getvalue()})
    refused(bad, "model.keras cannot be read")


def test_the_same_estimator_saves_to_the_same_bytes(fitted, tmp_path, monkeypatch):
    import pickle
    import time

    fitted.save(tmp_path / "a.skmlp")
    # Later (zip dates have a 2-second step): the bytes do not change.
    later = time.localtime(time.time() + 86_400)
    monkeypatch.setattr(time, "localtime", lambda *args: later)
    fitted.save(tmp_path / "b.skmlp")
    skmlp.load(tmp_path / "a.skmlp").save(tmp_path / "c.skmlp")
    pickle.loads(pickle.dumps(fitted)).save(tmp_path / "d.skmlp")
    first = (tmp_path / "a.skmlp").read_bytes()
    for name in "bcd":
        assert (tmp_path / f"{name}.skmlp").read_bytes() == first, name
