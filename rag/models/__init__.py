"""Models behind small seams: embedders (embedding.py: the Embedder protocol and factory; minilm.py, the bundled
model on onnxruntime; openai_embed.py) and the chat client (chat.py), with the call rules they share (calls.py).
"""
