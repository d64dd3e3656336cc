"""The words an outcome is said in (``pass``, ``fail``, ``unsettled``), apart from the grammar that finds
them: the check modules name these at import, and must not pay for compiling the grammar to do so."""

PASS, FAIL = "pass", "fail"
UNSETTLED = "unsettled"  # a detail's signal: an outcome stated as not final
