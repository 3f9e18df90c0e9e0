"""The Gradio chat UI: an adapter over `rag/` (arrives with its own issue)."""
