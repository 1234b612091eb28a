"""The lab notebooks run top to bottom in a real Jupyter kernel.

Each notebook's cell tagged ``parameters`` holds its settings; as papermill
does, a cell tagged ``injected-parameters`` is inserted after it to set them
to a quick run (fewer epochs and rows). The kernel is the one nbclient starts
(ipykernel, this Python), offline: the notebooks train on the bundled sample.
A cell that raises fails the test, and each notebook must draw a picture.
"""

import ast

import nbclient  # pip install ".[notebooks]" (part of ".[dev]")
import nbformat
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

NOTEBOOKS = ROOT / "notebooks"
# A quick setting of each notebook's parameters: one or two epochs on a few
# hundred rows, so that the five run in about 90 s on two cores.
QUICK = {
    "lab_a_perceptron_vs_mlp.ipynb": {
        "train_rows": 600, "epochs_perceptron": 2, "epochs_mlp": 1,
    },
    "lab_b_l1_l2_regularization.ipynb": {"train_rows": 600, "epochs": 1},
    "lab_c_tuning_on_a_subset.ipynb": {
        "train_rows": 1500, "epochs": 1, "grid_epochs": 1, "grid_cv": 2,
    },
    "lab_e_mlp_full_set_soft_vote.ipynb": {"train_rows": 600, "epochs": 1},
    "lab_sd_keras_intro_depth.ipynb": {
        "train_rows": 600, "epochs_cosine": 2, "epochs_mnist": 1, "epochs_deep": 1,
    },
}  # fmt: skip


def parameters_cell(notebook) -> int:
    tagged = [
        i
        for i, cell in enumerate(notebook.cells)
        if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, "one cell tagged 'parameters'"
    assert notebook.cells[tagged[0]].cell_type == "code"
    return tagged[0]


def assigned_names(source: str) -> dict:
    return {
        target.id: node.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_every_notebook_is_listed_with_a_quick_setting():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(QUICK)
    readme = (NOTEBOOKS / "README.md").read_text()
    for name in QUICK:
        assert name in readme, f"notebooks/README.md does not list {name}"


@pytest.mark.parametrize("name", sorted(QUICK))
def test_notebook_is_stored_without_outputs_and_full_mnist_is_one_line(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{name}: outputs stored; strip them (jupyter nbconvert "
                "--clear-output --inplace notebooks/*.ipynb)"
            )
    parameters = assigned_names(notebook.cells[parameters_cell(notebook)].source)
    # Its own settings: the sample, the lab's epochs, every row.
    assert ast.literal_eval(parameters["use_full_mnist"]) is False
    assert ast.literal_eval(parameters["mnist_folder"]) is None
    assert ast.literal_eval(parameters["train_rows"]) is None
    assert set(QUICK[name]) <= set(parameters), "a quick setting names no parameter"


@pytest.mark.parametrize("name", sorted(QUICK))
def test_notebook_runs_in_a_kernel_and_draws(name, tmp_path, monkeypatch):
    # The kernel inherits this environment: offline, an empty data cache.
    monkeypatch.setenv("SKMLP_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("SKMLP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    where = parameters_cell(notebook)
    quick = nbformat.v4.new_code_cell(
        "\n".join(f"{key} = {value!r}" for key, value in QUICK[name].items())
    )
    quick.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(where + 1, quick)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{name}: a cell failed:\n{str(error)[-3000:]}")
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    pictures = [out for out in outputs if "image/png" in out.get("data", {})]
    assert pictures, f"{name} drew no picture"
    text = "".join(out.get("text", "") for out in outputs)
    assert "Data: the bundled 10% MNIST sample" in text
