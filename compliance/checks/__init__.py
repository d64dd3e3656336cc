"""Check kinds. Importing this package registers every kind in ``registry.REGISTRY``."""

from compliance.checks import (  # noqa: F401
    aws,
    deploy,
    deploy_manager,
    generic,
    guidance,
    workflow,
    worklog,
)
