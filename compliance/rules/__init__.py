"""Rules: the YAML vocabulary (model), how files are read (loader) and the schema they obey."""

from compliance.rules.model import CheckSpec, Remediation, Rule, Scope

__all__ = ["CheckSpec", "Remediation", "Rule", "Scope"]
