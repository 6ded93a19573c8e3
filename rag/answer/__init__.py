"""Answering: an Answerer writes a draft with [n] markers over the retrieved passages (base.py: the seam;
extractive.py quotes the passages; llm.py prompts a chat model with prompts.py); condense.py makes a follow-up
question standalone before retrieval.
"""
