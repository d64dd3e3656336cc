"""The runbook's vocabulary, shared by its parser (``sources.runbook_parse``) and the drift check
(``judge.checks.runbook_sync``): which headings are its sections and how heading words compare.

Kept apart from the parser so that importing the check registry (every ``rules validate``) does not
import the Markdown parser, which only a collection that reads the runbook needs.
"""

from __future__ import annotations

SECTION_LEVEL = 2  # the runbook's sections are `##` headings
SCOPE = "scope"
CANONICAL = "canonical automation"
VALIDATION = "validation requirements"
AUTOMATION_SUFFIX = "automation"  # "Canonical Automation", "API Stack (CloudFormation) Automation"


def norm(text: str) -> str:
    """A heading's words as compared: case and runs of white space do not matter, words do."""
    return " ".join(text.split()).casefold()
