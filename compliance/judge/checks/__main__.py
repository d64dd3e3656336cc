"""``python -m compliance.judge.checks``: rewrite the parameter manifest after adding or changing a check kind."""

from compliance.judge.registry import MANIFEST, write_manifest

write_manifest()
print(f"wrote {MANIFEST}")
