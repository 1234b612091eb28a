"""The skmlp command: train, grid and labs, and its one-line errors."""

import subprocess
import sys

import pytest

from skmlp.cli import main
from skmlp.datasets._mnist import SAMPLE_FALLBACK


def test_train_on_real_mnist_saves_model_and_pictures(mnist_dir, tmp_path, capsys):
    import numpy as np

    import skmlp
    from skmlp.datasets import load_mnist, to_features

    out = tmp_path / "out"
    status = main(
        [
            "train",
            "--data",
            str(mnist_dir),
            "--epochs",
            "1",
            "--subset",
            "0.1",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    text = capsys.readouterr().out
    assert status == 0
    accuracy = float(text.split("test accuracy:")[1].split()[0])
    assert accuracy > 0.85
    assert "precision" in text and "recall" in text  # the per-class report
    for name in ("model.skmlp", "history.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 1000
    model = skmlp.load(out / "model.skmlp")
    _, (X_test, y_test) = load_mnist(mnist_dir)
    assert np.isclose(model.score(to_features(X_test), y_test), accuracy, atol=1e-4)


def test_train_falls_back_to_the_sample_offline(offline, tmp_path, capsys):
    status = main(
        [
            "train",
            "--epochs",
            "1",
            "--hidden",
            "32",
            "--output",
            str(tmp_path / "o"),
            "--quiet",
        ]
    )
    text = capsys.readouterr().out
    assert status == 0
    assert SAMPLE_FALLBACK in text
    assert "training on 6000 images, testing on 1000" in text


def test_dataset_choice_is_explicit(offline, tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--dataset",
                "sample",
                "--epochs",
                "1",
                "--hidden",
                "8",
                "--quiet",
                "--output",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert SAMPLE_FALLBACK not in capsys.readouterr().out
    assert main(["train", "--dataset", "mnist", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skmlp train: error: MNIST file") and err.count("\n") == 1


def test_grid_prints_ranked_table_and_saves_csv(offline, tmp_path, capsys):
    import pandas as pd

    csv = tmp_path / "grid.csv"
    status = main(
        ["grid", "--dataset", "sample", "--subset", "0.2", "--hidden", "16", "32,16", "--activation", "relu", "tanh",
         "--learning-rate", "0.01", "--epochs", "2", "--cv", "2", "--csv", str(csv)]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert status == 0
    assert "4 candidates x 2 folds" in text and "rank_test_score" in text
    table = pd.read_csv(csv)
    assert len(table) == 4 and table["rank_test_score"].tolist() == sorted(
        table["rank_test_score"]
    )
    assert {"param_hidden_layer_sizes", "param_activation"} <= set(table.columns)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--epochs", "0"],
            "argument --epochs: must be a positive integer, got 0",
        ),
        (
            ["train", "--epochs", "many"],
            "argument --epochs: must be a positive integer, got 'many'",
        ),
        (
            ["train", "--subset", "1.5"],
            "argument --subset: must be between 0 and 1, got 1.5",
        ),
        (
            ["train", "--data", "/no/such/folder"],
            "--data /no/such/folder: no such folder",
        ),
        (
            ["train", "--dataset", "sample", "--activation", "rellu"],
            "Did you mean 'relu'?",
        ),
        (
            [
                "train",
                "--dataset",
                "sample",
                "--optimizer",
                "sgd",
                "--learning-rate",
                "-1",
            ],
            "'learning_rate' parameter",
        ),
        (
            ["grid", "--dataset", "sample", "--hidden", "12,x"],
            "--hidden '12,x': use comma-separated layer sizes",
        ),
        (["labs", "--only", "Z9"], "no lab experiment 'Z9'"),
        (
            ["train", "--dataset", "sample", "--hidden", "12,x"],
            "--hidden 12,x: use layer sizes such as 128,128",
        ),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_get_one_line_and_nonzero_status(
    offline, tmp_path, monkeypatch, capsys, argv, message
):
    # In this process (a fresh one per case cost 5 s of TensorFlow start-up);
    # the command as a process is tested just below.
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    out, err = capsys.readouterr()
    assert status == 2
    assert message in err
    if "--hidden" in argv:  # refused before any data is loaded
        assert "data:" not in out, out
    assert err.count("\n") == 1, err  # one line, no traceback
    assert "Traceback" not in err


def test_a_bad_argument_is_one_line_from_the_command_itself(offline, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skmlp", "train", "--dataset", "sample",
         "--activation", "rellu"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(
        "skmlp train: error: The 'activation' parameter of MLPKerasClassifier must "
    )
    assert "Did you mean 'relu'?" in result.stderr and result.stderr.count("\n") == 1


def test_missing_data_files_are_one_line(tmp_path, capsys):
    (tmp_path / "mnist").mkdir()
    assert main(["train", "--data", str(tmp_path / "mnist")]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"skmlp train: error: MNIST file train-images-idx3-ubyte (or train-images-idx3-ubyte.gz) not found in {tmp_path / 'mnist'}.\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--output", "{blocker}/out"],
            "--output {blocker}/out: cannot create",
        ),
        (["grid", "--csv", "{blocker}/r.csv"], "--csv {blocker}/r.csv: cannot create"),
        (["grid", "--csv", "{folder}"], "is a folder; give a file name"),
        (
            ["labs", "--only", "S1", "--markdown", "{blocker}/x/labs.md"],
            "cannot create",
        ),
    ],
)
def test_unwritable_outputs_fail_before_any_training(
    offline, tmp_path, capsys, argv, message
):
    blocker = tmp_path / "file"
    blocker.write_text("")
    (tmp_path / "folder").mkdir()
    fill = {"blocker": blocker, "folder": tmp_path / "folder"}
    argv = [a.format(**fill) for a in argv] + ["--dataset", "sample"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message.format(**fill) in captured.err
    assert "data:" not in captured.out  # stopped before loading anything


def test_hidden_layers_are_written_the_same_way_in_train_and_grid(offline, capsys):
    from skmlp.cli import _hidden_candidates, _hidden_layers

    assert _hidden_layers(["128,64"]) == _hidden_layers(["128", "64"]) == (128, 64)
    assert _hidden_layers([]) == _hidden_layers(["none"]) == ()
    assert _hidden_candidates(["128,64", "32"]) == [(128, 64), (32,)]


def test_grid_refuses_duplicate_candidates_before_loading_data(offline, capsys):
    from skmlp.cli import main

    assert main(["grid", "--dataset", "sample", "--hidden", "128", "128"]) == 2
    captured = capsys.readouterr()
    assert "same network trained twice" in captured.err
    assert "--hidden 128,128" in captured.err  # the fix for one 2-layer network
    assert "data:" not in captured.out
    assert main(["grid", "--dataset", "sample", "--dropout", "0.1", "0.1"]) == 2
    assert "--dropout gives 0.1 more than once" in capsys.readouterr().err


def test_every_option_has_help_text():
    import argparse

    from skmlp.cli import build_parser

    parser = build_parser()
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name, command in commands.choices.items():
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"skmlp {name} {action.option_strings[0]}: no help"


def test_labs_refuses_subset_and_grid_uses_validation_split(offline, capsys, spy):
    assert main(["labs", "--only", "A1", "--subset", "0.5"]) == 2
    assert "--subset does not apply to labs" in capsys.readouterr().err
    from sklearn.base import BaseEstimator

    from skmlp import model_selection

    searches = spy(model_selection.GridSearchCV, "fit")
    status = main(
        ["grid", "--dataset", "sample", "--subset", "0.1", "--hidden", "8",
         "--epochs", "1", "--cv", "2", "--validation-split", "0.25"]
    )  # fmt: skip
    assert status == 0
    (search,) = searches
    assert isinstance(search.best_estimator_, BaseEstimator)
    assert search.best_estimator_.validation_split == 0.25
    assert len(search.best_estimator_.history_["val_loss"]) == 1  # it held rows out


def test_progress_in_a_log_file_is_plain_lines(digits, capsys, monkeypatch):
    from skmlp import MLPKerasClassifier

    # A log: no terminal, and no Jupyter kernel in the process (the notebook
    # tests' client imports ipykernel into the worker that ran them).
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    X, y = digits
    MLPKerasClassifier((8,), epochs=3, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out  # not a terminal: no bar redrawn in place
    lines = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert [line.split(" - ")[0] for line in lines] == [
        "Epoch 1/3", "Epoch 2/3", "Epoch 3/3"
    ]  # fmt: skip
    assert not any(c in out for c in "\r\b\x1b")


# -- Ctrl-C during training ----------------------------------------------------


@pytest.fixture
def ctrl_c_at_epoch(monkeypatch):
    """``ctrl_c_at_epoch(n)``: the next fits get a real SIGINT, what Ctrl-C
    sends, as epoch ``n`` begins (after ``n`` complete epochs), through the
    command's own code path, in this process (a fresh one costs 10 s of
    TensorFlow start-up)."""
    import os
    import signal
    import time

    import keras

    from skmlp import MLPKerasClassifier

    class CtrlC(keras.callbacks.Callback):
        def __init__(self, at):
            super().__init__()
            self.at = at

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == self.at:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):  # Python raises KeyboardInterrupt in here
                    time.sleep(0.001)
                raise AssertionError("SIGINT was not delivered")

    original = MLPKerasClassifier._fit_callbacks

    def install(at):
        monkeypatch.setattr(
            MLPKerasClassifier,
            "_fit_callbacks",
            lambda self: [*original(self), CtrlC(at)],
        )

    # Python's own handler, as in the command (a test runner may set another).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield install
    signal.signal(signal.SIGINT, previous)


_SMALL_TRAIN = ["train", "--dataset", "sample", "--subset", "0.1", "--hidden", "8",
                "--epochs", "20", "--quiet"]  # fmt: skip


def test_an_interrupted_training_saves_nothing_and_exits_130(
    offline, tmp_path, capsys, ctrl_c_at_epoch
):
    ctrl_c_at_epoch(3)
    out = tmp_path / "out"
    assert main([*_SMALL_TRAIN, "--output", str(out)]) == 130
    captured = capsys.readouterr()
    assert captured.err == (
        "skmlp train: interrupted after 3 of 20 epochs; nothing saved "
        "(--save-partial keeps the network of the epochs completed)\n"
    )
    assert "trained" not in captured.out and "saved:" not in captured.out
    assert not out.exists()  # not even the empty folder the command made
    (tmp_path / "mine").mkdir()  # a folder the user had stays, as it was
    assert main([*_SMALL_TRAIN, "--output", str(tmp_path / "mine")]) == 130
    assert list((tmp_path / "mine").iterdir()) == []


def test_save_partial_saves_the_epochs_completed_and_still_exits_130(
    offline, tmp_path, capsys, ctrl_c_at_epoch
):
    import skmlp

    ctrl_c_at_epoch(3)
    out = tmp_path / "out"
    assert main([*_SMALL_TRAIN, "--output", str(out), "--save-partial"]) == 130
    captured = capsys.readouterr()
    assert "trained 3 of 20 epochs in" in captured.out
    assert "interrupted (--save-partial)" in captured.out
    assert "test accuracy:" in captured.out
    assert captured.err == (
        "skmlp train: interrupted after 3 of 20 epochs; saved the network of those "
        "epochs (--save-partial)\n"
    )
    assert skmlp.load(out / "model.skmlp").n_iter_ == 3
    # Ctrl-C before the first epoch ends: nothing to save, even when asked.
    ctrl_c_at_epoch(0)
    empty = tmp_path / "empty"
    assert main([*_SMALL_TRAIN, "--output", str(empty), "--save-partial"]) == 130
    assert "nothing saved (no epoch was completed)" in capsys.readouterr().err
    assert not empty.exists()


def test_other_warnings_of_the_fit_still_reach_the_user(offline, tmp_path, capsys):
    from skmlp.cli import _fit_noting_interrupt

    class Warns:
        def fit(self, X, y):
            import warnings

            warnings.warn("something else", RuntimeWarning, stacklevel=1)

    with pytest.warns(RuntimeWarning, match="something else"):
        assert _fit_noting_interrupt(Warns(), None, None) is False

    class WarnsThenFails:
        def fit(self, X, y):
            import warnings

            warnings.warn("before the error", RuntimeWarning, stacklevel=1)
            raise ValueError("diverged")

    with (
        pytest.warns(RuntimeWarning, match="before the error"),
        pytest.raises(ValueError, match="diverged"),
    ):
        _fit_noting_interrupt(WarnsThenFails(), None, None)


def test_folders_and_files_given_for_one_another_are_named(offline, tmp_path, capsys):
    data = tmp_path / "mnist"
    unpacked = data / "train-images-idx3-ubyte"  # as some MNIST archives unpack
    unpacked.mkdir(parents=True)
    (unpacked / "train-images-idx3-ubyte").write_bytes(b"")
    a_file = tmp_path / "file"
    a_file.write_text("")
    cases = [
        (
            ["train", "--data", str(data)],
            f"MNIST file train-images-idx3-ubyte: {unpacked} is a folder, where the "
            f"IDX file itself should be; the file inside it "
            f"({unpacked / 'train-images-idx3-ubyte'}) can take its place.",
        ),
        (
            ["train", "--data", str(a_file)],
            f"--data {a_file}: is a file; give the folder that holds the four MNIST "
            f"IDX files",
        ),
        (
            ["train", "--dataset", "sample", "--output", str(a_file)],
            f"--output {a_file}: is a file; give a folder",
        ),
        (
            ["labs", "--from-results", str(tmp_path)],
            f"--from-results {tmp_path}: is a folder; give the results file (.json) "
            f"an earlier run saved beside its --markdown page",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        command = argv[0]
        assert captured.err == f"skmlp {command}: error: {message}\n"
        assert "data:" not in captured.out  # nothing loaded, nothing trained


def test_ctrl_c_in_a_fit_ends_grid_and_labs_with_nothing_saved(
    offline, tmp_path, capsys, monkeypatch, ctrl_c_at_epoch
):
    from skmlp import MLPKerasClassifier

    fits = []
    original = MLPKerasClassifier.fit

    def counted(self, *args, **kwargs):
        fits.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MLPKerasClassifier, "fit", counted)
    ctrl_c_at_epoch(1)
    csv = tmp_path / "grid.csv"
    status = main(
        ["grid", "--dataset", "sample", "--subset", "0.1", "--hidden", "8", "16",
         "--epochs", "5", "--cv", "2", "--csv", str(csv)]
    )  # fmt: skip
    assert status == 130
    assert capsys.readouterr().err == "skmlp grid: interrupted\n"
    assert len(fits) == 1  # no other candidate trained after Ctrl-C
    assert not csv.exists()
    page = tmp_path / "labs.md"
    status = main(["labs", "--only", "S1", "--seeds", "1", "--markdown", str(page)])
    assert status == 130
    assert capsys.readouterr().err == "skmlp labs: interrupted\n"
    assert not page.exists()  # and no half-trained row among the results
    assert not page.with_suffix(".json").exists()
