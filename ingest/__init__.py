"""Ingestion: files -> documents -> chunks -> vectors in the store."""
