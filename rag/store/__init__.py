"""The store: one directory holding the catalog (catalog.py), the vectors (vectors.py), the BM25 index
(bm25.py) and the manifest (manifest.py), written under one lock (locks.py), all behind `Store` (store.py).
"""
