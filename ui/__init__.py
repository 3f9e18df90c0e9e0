"""The web UI (`rag ui`): an adapter over `rag/` — `ui.app.build_app(engine, settings)`, `ui.app.launch(...)`."""
