"""ui: the `newsdesk` command line (cli.py, the composition root), the Gradio web chat (app.py) and the pure
formatting both use (format.py).
"""
