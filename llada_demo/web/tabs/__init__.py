"""The page's tabs, one module each: layout and event wiring only (Gradio 6).

Each module's `build(...)` is called inside its `gr.Tab` by `ui.build_demo`; the plain functions the
events call live in `views.py` (and their own view modules); nothing here computes a view or touches a model.
"""
