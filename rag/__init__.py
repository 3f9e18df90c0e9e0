"""rag: an offline assistant that answers questions about documents with checked citations."""

__version__ = "0.1.0"
