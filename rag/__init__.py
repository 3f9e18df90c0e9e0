"""rag: an offline assistant that answers questions about documents with checked citations."""

import os

# numpy's OpenBLAS threads keep spinning after a call and take the second core from onnxruntime (questions,
# the reader, the entailment model). One thread for numpy, `rag bench --quick` (1k chunks): warm answer
# median / p95 156 / 221 ms against 175 / 272, fused retrieval p95 8 ms against 6-46 (after multilingual
# vectors were encoded in the same process). Torch (ingest) does not use OpenBLAS. Set before numpy is
# imported; your own OPENBLAS_NUM_THREADS wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
