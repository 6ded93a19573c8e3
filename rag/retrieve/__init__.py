"""Retrieval: a question -> passages, from dense vectors and BM25 fused, filtered by source, author and date,
recent articles preferred when asked (retriever.py, with the Reranker seam).
"""
