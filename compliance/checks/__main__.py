"""``python -m compliance.checks``: rewrite the parameter manifest after adding or changing a check kind."""

from compliance.checks.registry import MANIFEST, write_manifest

write_manifest()
print(f"wrote {MANIFEST}")
