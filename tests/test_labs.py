"""The labs' experiments: configurations as the labs ran them, the page from results."""

import json

import numpy as np
import pytest

from skmlp import labs
from skmlp.cli import main

from .conftest import ROOT

# shared/spec/labs.md, section 2 (corrected 2026-11-22).
PUBLISHED = {
    "C1": 0.1135, "C2": 0.4219, "C3": 0.9188, "C4": 0.9516, "C5": 0.9643, "C6": 0.9309,
    "E1": 0.1135, "E2": 0.8625, "E3": 0.9488, "E4": 0.9465, "E5": 0.9480, "E6": 0.4227,
    "E7": 0.9002, "A1": 0.9257, "A2": 0.9766, "A3": 0.9771, "B1": 0.9671, "D1": 0.9762,
    "D2": 0.9766, "D3": 0.9786, "D4": None, "S1": (0.73, 0.79), "S2": (0.44, 0.67),
}  # fmt: skip


def test_every_row_of_the_spec_with_its_published_figure():
    assert {e.key: e.published for e in labs.EXPERIMENTS} == PUBLISHED


def test_groups_c_and_e_follow_the_labs_code():
    for e in labs.EXPERIMENTS:
        if e.key[0] in "CE":
            p = e.params
            assert p["hidden_layer_sizes"] == (50, 50, 50, 50) and p["epochs"] == 100
            assert p["learning_rate"] == 0.001 and p["dropout"] in (0.0, 0.2)
            assert e.data == ("subset-raw" if e.key[0] == "C" else "mnist-raw")
    get = labs.get_experiment
    assert get("C1").params["batch_size"] == 256 == get("E1").params["batch_size"]
    assert get("C2").params["kernel_initializer"] == "he_normal"
    assert (
        get("C4").params["activation"] == "elu"
        and get("C4").params["optimizer"] == "adam"
    )
    assert (
        get("C5").params["batch_normalization"]
        and get("C5").params["activation"] == "elu"
    )
    assert (
        get("E4").params["activation"] == "sigmoid"
        and get("E4").params["optimizer"] == "adam"
    )
    assert (
        get("E5").params["batch_normalization"]
        and get("E5").params["optimizer"] == "sgd"
    )
    e7 = labs.make_estimator(get("E7"), random_state=2)
    members = [m for _, m in e7.estimators]
    assert len(members) == 3 and e7.voting == "soft"
    for m in members:
        assert (m.batch_size, m.validation_split, m.epochs) == (32, 0.0, 100)
        assert m.kernel_initializer == "glorot_uniform" and m.activation == "sigmoid"
    # Members of different seeds never share a seed.
    seeds = {
        m.random_state
        for s in (0, 1, 2)
        for _, m in labs.make_estimator(get("E7"), random_state=s).estimators
    }
    assert len(seeds) == 9  # fmt: skip


def test_data_as_each_lab_prepares_it():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 300)
    mnist = ((images, labels), (images[:50], labels[:50]))
    X, y, _, _ = labs.prepare_data(labs.get_experiment("A2"), mnist)
    assert X.dtype == np.float32 and X.max() <= 1.0 and len(X) == 300
    X, y, X_test, _ = labs.prepare_data(labs.get_experiment("E3"), mnist)
    assert X.max() == 255 and X_test.max() == 255 and len(X) == 300  # raw pixels
    X, y, _, _ = labs.prepare_data(labs.get_experiment("C3"), mnist)
    assert X.max() == 255 and len(X) == 99  # the 33% subset
    # The cosine data: class 0 then class 1, unshuffled, so that the last 20%
    # (Keras' validation rows) are all class 1.
    X, y, X_test, _ = labs.prepare_data(labs.get_experiment("S1"), None, seed=3)
    assert X_test is None and (y[:1000] == 0).all() and (y[1000:] == 1).all()


def test_summaries_and_verdicts():
    get = labs.get_experiment
    runs = [
        {"seed": s, "accuracy": a, "seconds": 1.0}
        for s, a in enumerate([0.40, 0.80, 0.90])
    ]
    assert labs.summarize(get("E2"), runs)["verdict"] == "in range"
    near = [{"seed": 0, "accuracy": a, "seconds": 1.0} for a in (0.93, 0.935)]
    assert labs.summarize(get("C3"), near)["verdict"] == "near median"
    far = [{"seed": 0, "accuracy": a, "seconds": 1.0} for a in (0.5, 0.6)]
    summary = labs.summarize(get("C3"), far)
    assert summary["verdict"] == "differs" and summary["median"] == pytest.approx(0.55)
    assert labs.summarize(get("S2"), runs)["verdict"] == "in range"  # ranges overlap
    assert labs.summarize(get("D4"), runs)["verdict"] == "-"  # fmt: skip


def test_quick_run_writes_the_page_and_its_results_and_rewrites_it(
    offline, tmp_path, capsys
):
    page = tmp_path / "labs.md"
    keys = ["A2", "C3", "E7", "S1"]
    status = main(
        ["labs", "--quick", "--dataset", "sample", "--seeds", "2", "--only", *keys,
         "--markdown", str(page)]
    )  # fmt: skip
    assert status == 0
    results = json.loads(page.with_suffix(".json").read_text())
    assert [row["key"] for row in results["rows"]] == keys
    assert all([r["seed"] for r in row["runs"]] == [0, 1] for row in results["rows"])
    assert all(0 <= r["accuracy"] <= 1 for row in results["rows"] for r in row["runs"])
    text = page.read_text()
    for key in keys:
        assert f"| {key} | {labs.get_experiment(key).lab} |" in text
    assert "skmlp labs --quick --seeds 2" in text and "**Summary**" in text
    assert "**E7**: " in text  # every row with a rationale gets a note
    before = text
    page.unlink()
    assert main(["labs", "--from-results", str(page.with_suffix(".json")),
                 "--markdown", str(page)]) == 0  # fmt: skip
    assert page.read_text() == before


def test_the_labs_page_is_written_from_its_stored_results():
    results = json.loads((ROOT / "docs" / "labs.json").read_text())
    assert (ROOT / "docs" / "labs.md").read_text() == labs.render_page(results), (
        "docs/labs.md differs from its results: skmlp labs --from-results "
        "docs/labs.json --markdown docs/labs.md"
    )
    assert {row["key"] for row in results["rows"]} == set(PUBLISHED)
    assert not results["quick"] and len(results["seeds"]) >= 3


def test_an_interrupted_run_resumes_from_its_results_file(offline, tmp_path, capsys):
    page = tmp_path / "labs.md"
    common = ["labs", "--quick", "--seeds", "2", "--markdown", str(page)]
    assert main([*common, "--only", "S1"]) == 0
    first = json.loads(page.with_suffix(".json").read_text())["rows"][0]
    capsys.readouterr()
    assert main([*common, "--only", "S1", "S2", "--resume"]) == 0
    assert "resuming: S1 already in" in capsys.readouterr().out
    rows = json.loads(page.with_suffix(".json").read_text())["rows"]
    assert [r["key"] for r in rows] == ["S1", "S2"] and rows[0] == first


def test_b1_penalises_the_activity_as_the_labs_keras_did():
    # The lab (early 2025) ran on a Keras that added the activity penalty
    # summed over a batch's rows; Keras divides it by the batch size since
    # keras-team/keras#22021, so the lab's strength is 1e-4 times 128.
    b1 = labs.get_experiment("B1")
    p = b1.params
    assert p["activity_l2"] == pytest.approx(1e-4 * p["batch_size"]) == 0.0128
    assert (p["kernel_l1"], p["kernel_l2"], p["bias_l1"]) == (1e-5, 1e-4, 1e-5)
    assert "keras-team/keras#22021" in b1.rationale
    results = json.loads((ROOT / "docs" / "labs.json").read_text())
    (runs,) = [row["runs"] for row in results["rows"] if row["key"] == "B1"]
    # The stored re-run agrees with the published figure (with today's
    # semantics five seeds scored 0.9765-0.9789).
    assert abs(labs.summarize(b1, runs)["median"] - 0.9671) <= 0.01
    assert "keras-team/keras#22021" in (ROOT / "docs" / "labs.md").read_text()
