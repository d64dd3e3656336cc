"""The typed core every room talks in: findings and their statuses, rules, waivers, and the snapshot
envelope with its JSON Schemas (``schemas/``).

Values here are plain and immutable where they can be, so a finding judged once reads the same in
every report, and a snapshot written by one mode can be re-judged by another.
"""
