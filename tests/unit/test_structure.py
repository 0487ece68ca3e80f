"""The dependencies that keep each rule in one home: the claim below travel and documents,
never the reverse; the domain free of Flask and of the database; templates free of rules."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "imagin"


def imports_of(module: str) -> set[str]:
    tree = ast.parse((ROOT / module).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # The claim's own modules know nothing of travel, documents or the back office.
        ("claims/editing.py", ("imagin.travel", "imagin.documents", "imagin.manage")),
        ("claims/pay.py", ("imagin.travel", "imagin.documents", "imagin.manage")),
        ("claims/workflow.py", ("imagin.travel", "imagin.documents", "imagin.manage")),
        ("claims/rates.py", ("imagin.travel", "imagin.documents", "imagin.manage")),
        # Travel builds on the claim, never on documents or validation.
        ("travel/service.py", ("imagin.documents", "imagin.claims.validation")),
        # Documents build on travel and the claim, never on validation.
        ("documents/receipts.py", ("imagin.claims.validation", "imagin.manage")),
    ],
)
def test_the_claim_is_below_travel_and_documents(module, forbidden):
    wrong = {name for name in imports_of(module) if name.startswith(forbidden)}
    assert not wrong, f"{module} imports {wrong}"


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "domain").glob("*.py")))
def test_the_domain_needs_neither_flask_nor_the_database(module):
    names = imports_of(f"domain/{module}")
    assert not {n for n in names if n.startswith(("flask", "sqlalchemy", "werkzeug"))}
    assert not {n for n in names if n.startswith("imagin.") and not n.startswith("imagin.domain")}


# Status values compared in templates: the rule belongs to the domain, the view passes the answer.
STATUS_VALUES = re.compile(
    r"""['"](non_valide|a_corriger|valide|valide_gestionnaire|mis_en_paiement|en_cours|"""
    r"""non_effectuee|pas_de_frais|annule)['"]"""
)


# A role compared to a string in a template: Role and MANAGERS are template globals.
ROLE_COMPARED = re.compile(r"""\.role\s*(?:==|!=|in|not in)\s*[(\[]?\s*['"]""")


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html"))
)
def test_templates_decide_no_status_role_or_mode(template):
    text = (ROOT / template).read_text()
    assert not STATUS_VALUES.search(text), "a status compared in a template"
    assert not ROLE_COMPARED.search(text), "a role compared to a string"
    assert "voiture" not in text and "moto" not in text, "a transport mode"
