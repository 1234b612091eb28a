"""The project holds its own line: README commands, CI script, lint, docs, doctests."""

import doctest
import importlib
import importlib.util
import os
import subprocess
import sys

import pytest

from .conftest import ROOT


def test_readme_begins_with_install_and_test_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert block == ['pip install -e ".[dev]"', "pytest"]
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == block


def test_ruff_keeps_the_code_clean():
    # ruff from this interpreter's environment, activated on PATH or not.
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is in the dev extras: pip install -e '.[dev]'")
    ruff = [sys.executable, "-m", "ruff"]
    paths = [
        str(ROOT / p)
        for p in ("skmlp", "tests", "examples", "benchmarks", "tools", "notebooks")
    ]
    check = subprocess.run([*ruff, "check", *paths], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [*ruff, "format", "--check", *paths], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout


def test_api_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location(
        "make_api_reference", ROOT / "tools" / "make_api_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "api.md").read_text() == module.render(), (
        "run python tools/make_api_reference.py"
    )


@pytest.mark.parametrize(
    "module",
    [
        "skmlp.estimators",
        "skmlp.inspection",
        "skmlp.preprocessing",
        "skmlp.datasets._idx",
        "skmlp.datasets._mnist",
        "skmlp.datasets._synthetic",
    ],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.ELLIPSIS
    )
    assert result.attempted > 0 and result.failed == 0


def test_importing_skmlp_does_not_load_tensorflow_or_touch_keras():
    code = (
        "import sys, skmlp; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_skmlp_leaves_keras_unpatched(digits):
    # skmlp pickles and copies its networks without patching Keras' Model:
    # once skmlp's estimators and files are imported and a network fitted,
    # pickled and copied, no attribute of Model or its bases is skmlp's.
    # (Checked in this process: a new one re-imported TensorFlow for it.)
    import copy
    import pickle

    import keras

    import skmlp._saving  # noqa: F401
    from skmlp.estimators import MLPKerasClassifier

    X, y = digits
    clf = MLPKerasClassifier((4,), epochs=1).fit(X[:200], y[:200])
    copy.deepcopy(pickle.loads(pickle.dumps(clf)))
    patched = [
        f"{cls.__qualname__}.{name}"
        for cls in keras.Model.__mro__
        for name, value in vars(cls).items()
        if str(
            getattr(value, "__module__", None)
            or getattr(getattr(value, "__func__", None), "__module__", "")
        ).startswith("skmlp")
    ]
    assert patched == []
    # What pickle and copy call on a Model is Keras' own, Python's or (torch's
    # Model is a torch.nn.Module) the backend's.
    backend = keras.backend.backend()
    for name in ("__reduce__", "__reduce_ex__", "__deepcopy__", "__getstate__"):
        owner = next((c for c in keras.Model.__mro__ if name in vars(c)), object)
        package = owner.__module__.split(".")[0]
        assert package in ("keras", "builtins", backend), (name, owner)


def test_importing_skmlp_estimators_changes_no_process_state():
    code = (
        "import os, sys\n"
        "import keras  # which sets TF_* variables of its own\n"
        "env = dict(os.environ)\n"
        "import skmlp.estimators, skmlp.model_selection\n"
        "assert dict(os.environ) == env, set(os.environ.items()) ^ set(env.items())\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow imported under JAX'\n"
        "import numpy as np\n"
        "X = np.random.default_rng(0).random((40, 3)); y = np.arange(40) % 2\n"
        "skmlp.estimators.MLPKerasClassifier((4,), epochs=1).fit(X, y).predict(X)\n"
        "assert 'tensorflow' not in sys.modules, 'a JAX fit imported TensorFlow'\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    env["KERAS_BACKEND"] = "jax"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("name", ["plotting", "preprocessing", "inspection", "labs"])
def test_public_modules_export_their_own_names_only(name):
    # __all__ lists what the module defines for users: a star import must not
    # hand out NumPy, math or typing names.
    module = importlib.import_module(f"skmlp.{name}")
    defined = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and getattr(value, "__module__", None) == module.__name__
    }
    assert set(module.__all__) == defined


def _skmlp_imports() -> dict[str, set[str]]:
    """Each skmlp module's imports of other skmlp modules, at any depth.

    Imports inside functions count too: a cycle through a deferred import is
    still a cycle (and a sign of two modules doing one job).
    """
    import ast

    package = ROOT / "skmlp"
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        here = name if parts[-1] == "__init__" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("skmlp")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if not base.startswith("skmlp"):
                    continue
                for alias in node.names:  # "from . import _engine" names modules
                    candidate = f"{base}.{alias.name}"
                    module = candidate.replace(".", "/")
                    is_module = (ROOT / f"{module}.py").exists() or (
                        ROOT / module / "__init__.py"
                    ).exists()
                    found.add(candidate if is_module else base)
        # A package's own __init__ imports nothing at import time (lazy names);
        # its submodules importing it are not a cycle through it.
        graph[name] = {m for m in found if m != name}
    return graph


def test_no_import_cycle_among_skmlps_modules():
    graph = _skmlp_imports()
    # Imports inside functions are seen (_base imports _legacy in __setstate__).
    assert {"skmlp._legacy", "skmlp._spec"} <= graph["skmlp._base"]
    # Depth-first search for a back edge; the package itself ("skmlp") only
    # names its public objects lazily, so an edge to it ends there.
    state: dict[str, int] = {}

    def visit(module, path):
        state[module] = 1
        for other in sorted(graph.get(module, ())):
            if other == "skmlp" or other not in graph:
                continue
            if state.get(other) == 1:
                cycle = path[path.index(other) :] + [other]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_module_is_over_a_thousand_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "skmlp").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 1000
    }
    assert not long, long
