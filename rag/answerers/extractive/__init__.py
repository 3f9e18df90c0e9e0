"""The extractive answerer: question analysis, candidate sentences, named features, a learned scorer."""

from rag.answerers.extractive.answerer import ExtractiveAnswerer
from rag.answerers.extractive.question import analyze, question_type

__all__ = ["ExtractiveAnswerer", "analyze", "question_type"]
