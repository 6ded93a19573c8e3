"""Verification: each answer sentence must be supported by the passages it cites (check.py), as judged by the
offline support scorer (support.py: facts, index, scorer, model); injection.py drops article text that
addresses the assistant.
"""
