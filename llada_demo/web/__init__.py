"""The page: Gradio layout and wiring (`ui`), its event functions (`views`), pure HTML (`render`), plots,
export (JSON, HTML replay, GIF) and chat. It sees runs only as `Trace`s of frozen `Step`s and never
imports torch (tests/test_layout.py checks, in a fresh interpreter).
"""
