"""Policy-as-code compliance checker for deployment governance."""

__version__ = "0.1.0"
