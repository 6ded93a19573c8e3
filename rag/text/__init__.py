"""Text rules every stage shares, each in one place: sentences (sentences.py), [n] markers (markers.py),
word lists and folding (words.py), cl100k tokens (tokens.py).
"""
