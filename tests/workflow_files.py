"""Reading the workflows users copy as GitHub reads them, and the workflow/action schemas check-jsonschema
vendors: shared by the workflow, target and action tests (helpers live here, not in a test module)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

WORKFLOWS = Path(__file__).parent.parent / ".github" / "workflows"


class _Yaml12ishLoader(yaml.SafeLoader):
    """PyYAML follows YAML 1.1, where a bare ``on`` is the boolean true; GitHub reads it as a key."""


_Yaml12ishLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12ishLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12ishLoader)


def vendored_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for one of the schemas check-jsonschema vendors (``github-workflows``, ``github-actions``)."""
    ref = resources.files("check_jsonschema.builtin_schemas.vendor") / f"{name}.json"
    schema = json.loads(ref.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
