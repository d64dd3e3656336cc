"""What the user hands us: ``compliance.yaml`` (targets), rule files and waiver files, read with their
positions so every problem is reported as ``file:line:col: message``.

It sits above ``judge/`` because a rule file is validated against the check vocabulary the judge
registers (the schema is generated from the registry, as in Cloud Custodian), never against a
hand-kept copy.
"""
