"""Judging a snapshot: change records and indexed joins (``engine``), the registry of check kinds and
the checks themselves (``checks/``), worklog evidence parsing, waiver application.

Pure functions of the snapshot and the rules: no network, no clock, no mode. The same snapshot and
rules always give the same findings, which is what makes ``evaluate --snapshot`` a replay.
"""
