"""The ground floor: errors and exit codes, time, task ids, globs, secret masking, terminal
sanitising and safe file writes.

Everything above uses these, so they import nothing else of the package; a defect here (a secret
prefix left unmasked, a half-written file) would be everywhere at once, which is why they are small
and tested on their own.
"""
