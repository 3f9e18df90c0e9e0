"""Answerers: retrieved sources in, an answer with [n] citations out. One module per backend, one factory."""

from rag.answerers.base import Answerer, AnswerRequest, is_refusal, refusal
from rag.answerers.factory import ANSWERERS, get_answerer

__all__ = ["ANSWERERS", "AnswerRequest", "Answerer", "get_answerer", "is_refusal", "refusal"]
