"""Write docs/api.md from the docstrings of skmlp's public API.

python tools/make_api_reference.py
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import skmlp
import skmlp.datasets
import skmlp.ensemble
import skmlp.labs
import skmlp.model_selection
import skmlp.plotting

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = {
    "skmlp": [getattr(skmlp, name) for name in skmlp.__all__ if name != "__version__"],
    "skmlp.datasets": [
        getattr(skmlp.datasets, name)
        for name in skmlp.datasets.__all__
        if name != "MNIST_MIRRORS"
    ],
    "skmlp.model_selection": [
        getattr(skmlp.model_selection, name) for name in skmlp.model_selection.__all__
    ],
    "skmlp.ensemble": [skmlp.ensemble.VotingClassifier],
    "skmlp.labs": [
        skmlp.labs.Experiment,
        skmlp.labs.get_experiment,
        skmlp.labs.make_estimator,
        skmlp.labs.prepare_data,
        skmlp.labs.run_experiment,
        skmlp.labs.run_experiments,
        skmlp.labs.summarize,
        skmlp.labs.render_page,
    ],
    "skmlp.plotting": [
        skmlp.plotting.plot_history,
        skmlp.plotting.plot_digits,
        skmlp.plotting.plot_confusion_matrix,
        skmlp.plotting.plot_decision_regions,
        skmlp.plotting.plot_search_results,
    ],
}
PUBLIC_METHODS = ("fit", "partial_fit", "predict", "predict_proba", "score", "save", "transform", "fit_resample",
                  "split", "get_feature_names_out")  # fmt: skip


def _entry(obj, module: str) -> list[str]:
    name = obj.__name__
    lines = [f"### `{module}.{name}`", ""]
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = "(...)"
    lines += [
        "```python",
        f"{name}{signature}",
        "```",
        "",
        inspect.cleandoc(obj.__doc__ or "(no docstring)"),
        "",
    ]
    if inspect.isclass(obj):
        for method in PUBLIC_METHODS:
            member = getattr(obj, method, None)
            if member is None or not (member.__doc__ or "").strip():
                continue
            lines += [
                f"#### `{name}.{method}{inspect.signature(member)}`",
                "",
                inspect.cleandoc(member.__doc__),
                "",
            ]
    return lines


def render() -> str:
    """The whole reference as Markdown."""
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python tools/make_api_reference.py`.",
        "",
    ]
    for module, objects in SECTIONS.items():
        lines += [f"## `{module}`", ""]
        for obj in objects:
            lines += _entry(obj, module)
    return "\n".join(lines) + "\n"


def main() -> int:
    (ROOT / "docs" / "api.md").write_text(render())
    print(f"wrote {ROOT / 'docs' / 'api.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
