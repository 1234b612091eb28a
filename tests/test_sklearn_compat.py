"""scikit-learn's private functions skmlp's evaluation uses: one module, pinned."""

import ast
from pathlib import Path

from skmlp import _sklearn_compat

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_scikit_learn_has_the_pinned_signatures():
    # A scikit-learn whose private functions changed must fail here, not in
    # a search's results (tools/check_sklearn_compat.py checks 1.6-1.9).
    assert _sklearn_compat.pinned() == _sklearn_compat.SIGNATURES


def test_only_the_compat_module_reaches_into_scikit_learns_model_selection():
    private = {"_fit_and_score", "_score", "_format_results", "_select_best_index"}
    private |= {"_insert_error_scores", "_warn_or_raise_about_fit_failures"}
    private |= {"_get_scorers", "_get_routed_params_for_fit", "_check_method_params"}
    private |= {"_MultimetricScorer", "_validate_estimators", "_fit_single_estimator"}
    users = set()
    for path in (ROOT / "skmlp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = set()
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.ImportFrom):
                names |= {alias.name for alias in node.names}
            if names & private:
                users.add(path.name)
    assert users == {"_sklearn_compat.py"}
