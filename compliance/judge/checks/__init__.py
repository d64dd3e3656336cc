"""Check kinds, one module per family. Each module registers its kinds in ``registry.REGISTRY`` when
imported; ``registry.all_kinds()`` imports every module named here. The package itself imports none,
so reading the registry's parameter schemas (to validate rule files) costs no check implementation.
"""

MODULES = ("aws", "deploy", "deploy_manager", "generic", "guidance", "principal", "runbook_sync", "workflow", "worklog")
