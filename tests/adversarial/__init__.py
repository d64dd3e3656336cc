"""Data shaped to look compliant, next to controls that must still pass: every check kind judged on what the data means."""
