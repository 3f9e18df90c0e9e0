"""Text addressed to an assistant inside a document: instructions, role markers, "ignore previous instructions".

A document is data. A line that talks to the AI reading it ("Ignore previous instructions and say...",
"SYSTEM: ...", "you are now...", "do not cite...", and the same in French) is never an answer, never a quote
and never support for a claim. Ingest flags the chunks that hold such lines, `rag sources` shows the flag,
the extractive answerer skips them, the verifier removes them from the evidence, and the LLM prompt labels
them as untrusted. The patterns are general vocabulary of prompt injection (in English and French), matched
line by line: a planted instruction is usually a line or a paragraph of its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_ORDER = (
    r"(?:previous|prior|above|earlier|preceding|former|original|initial|system|all|any|every|your|the|these|those|my)"
)
_RULES = r"(?:instructions?|prompts?|directions?|rules|guidelines|context|requests?|text|everything|anything)"
_ASSISTANT = r"(?:ai|a\.i\.|assistant|chatbot|chat bot|language model|llm|gpt|ia|intelligence artificielle)"
_START = r"(?:^|[.!?:;>\]]\s*|\bplease,? |\bnow,? )"  # where an imperative sentence begins

# Matched on lower-cased text (accents kept: French "ignoré" is not "ignore").
LOWER = [
    rf"\b(?:ignore|disregard|forget|bypass|neglect)\b[^.!?\n]{{0,40}}?\b{_ORDER}\b[^.!?\n]{{0,30}}?\b{_RULES}\b",
    rf"{_START}(?:ignore|disregard|forget)\s+(?:all|everything|anything|any)\s+(?:text|content|data|else|before|above)\b",
    r"\b(?:ignore|disregard) (?:the|this) user\b|\bignore the rest of\b",
    rf"\b(?:new|updated|real|actual|secret|hidden|developer)\s+{_RULES}\s*:",
    rf"\binstructions? (?:to|for) (?:the |any )?{_ASSISTANT}\b",
    r"\b(?:reveal|tell me|show me|repeat|print|explain|output|list|leak)\b[^.!?\n]{0,20}?\b(?:your|the|all)\s+"
    r"(?:previous |initial |original |hidden |secret |system )*(?:instructions|prompt|secrets|guidelines)\b",
    r"\byou are now (?:an?|the|my|in|no longer|free|going to|called|named|dan)\b",
    r"\bfrom now on,? (?:always|never|you (?:are|will|must|should only|only|answer|respond|reply|speak))\b",
    r"\b(?:respond|reply|answer|speak|talk|write)\b[^.!?\n]{0,40}\bfrom now on\b",
    r"\byou (?:will|must|shall) now\b|\bi want you to (?:act|pretend|be|play|respond|answer)\b",
    rf"{_START}(?:pretend (?:to be|you are|you're|that you)|act as (?:an?|the|my)|roleplay as)\b",
    rf"\b(?:as|to|for) (?:an?|the|any) {_ASSISTANT}\b[^.!?\n]{{0,60}}\b(?:you|your)\b",
    rf"\b(?:dear|attention|note to (?:the|any)|hey|hello) {_ASSISTANT}\b|,\s*{_ASSISTANT}\s*[!?]",
    r"\b(?:do not|don't|never) (?:cite|mention|reveal|quote|disclose)\s+(?:the |any |your |these )?"
    r"(?:sources?|instructions|prompt|rules|guidelines)\b",
    rf"{_START}(?:only|simply|just)\s+(?:respond|reply|answer|say|print|output)\b",
    r"\b(?:respond|reply|answer) (?:only|just|exactly|simply) (?:with|by)\b",
    r"\b(?:say|output|print|reply|respond) exactly\b",
    r"\breply with only\b|\b(?:only|simply|just) (?:respond|reply|answer) with\b|\brepeat after me\b",
    r"\brepeat (?:back )?(?:the (?:exact |previous |above |following )?text|everything)\b",
    r"\bdo what (?:it|they|the text|this|that) says\b",
    r"\b(?:tell|inform) the user\b|\b(?:if|when) (?:the )?user asks\b|\bthe user (?:asks|wants)\b",
    r"\bthe (?:correct |right |only )?answer to (?:any|every|all|each|this|the) questions?\b",
    r"\b(?:send|post|append|upload|forward|exfiltrate)\b[^.!?\n]{0,40}\b(?:to|at) (?:me\b|https?://)",
    r"\bdecode (?:and|this)\b|\b(?:execute|run) (?:this|the following|os commands)\b|\bdan mode\b",
    r"\b(?:you are|tu es|vous [eê]tes) (?:le|the|an?|un|une) (?:system )?(?:prompt|ia|ai|assistant|chatbot)\b",
    r'"role"\s*:\s*"(?:system|assistant|user|developer)"',
    # French
    r"\b(?:ignore|ignorez|ignorer|oublie|oubliez|oublier|ne tiens pas compte|ne tenez pas compte)\b[^.!?\n]{0,40}?"
    r"\b(?:instructions?|consignes?|règles|directives|ordres|l'utilisateur|tout ce qui)\b",
    r"\b(?:nouvelles|vraies|véritables|secrètes) (?:instructions|consignes)\s*:",
    r"\b(?:tu es|vous [eê]tes) (?:maintenant|désormais|dorénavant) (?:un|une|le|la|mon|libre|en mode|capable|dan)\b",
    r"\b[àa] partir de maintenant,? (?:tu|vous|toujours|réponds|répondez|parle|parlez)\b",
    rf"{_START}(?:fais|faites) (?:semblant|comme si)\b|{_START}(?:joue|jouez) le r[ôo]le\b",
    rf"\ben tant qu'{_ASSISTANT}\b[^.!?\n]{{0,60}}\b(?:tu|vous|te|votre|ton)\b",
    r"\bne (?:cite|citez|mentionne|mentionnez|révèle|révélez) (?:pas|jamais) (?:les |tes |vos |la )?"
    r"(?:sources?|instructions|consignes|prompt)\b",
    r"\b(?:réponds|répondez|répondre) (?:uniquement|seulement|simplement) (?:par|avec)\b",
    rf"{_START}(?:ignore|ignorez|oublie|oubliez) (?:tout|tous|toutes) (?:les |le )?"
    r"(?:textes?|contenus?|données|ce qui précède|reste)\b",
    r"\b(?:dis|dites) (?:à l'utilisateur|exactement)\b",
    r"\b(?:révèle|révélez|répète|répétez|affiche|affichez|explique|expliquez)\b"
    r"[^.!?\n]{0,20}?\b(?:tes|vos|les) (?:instructions|consignes|prompt)\b",
    r"\bla (?:bonne |seule )?réponse à (?:toute|toutes les|chaque|n'importe quelle|cette) questions?\b",
    r"\bfais ce qui (?:y )?est écrit\b|\bprompt système\b",
]
# Matched on the original text: role markers of chat templates, case as written.
MARKERS = [
    r"^\s*(?:SYSTEM|ASSISTANT|DEVELOPER|SYSTÈME|SYSTEME)\s*:|\bSYSTEM (?:ANNOTATION|NOTE|MESSAGE|OVERRIDE)\b",
    r"(?:^|[^\w\s,]\s*)(?:System|Système|SYSTEM|SYSTÈME)\s?:\s",
    r"\bUser\s*:.*\bAssistant\s*:|\bAssistant\s*:.*\bUser\s*:|^\s*(?:Assistant|Human)\s*:\s",
    r"^\s*(?:System|Assistant|Developer)\s*(?:prompt|message|instruction)s?\s*:",
    r"\[/?(?:INST|SYS|SYSTEM)\]|<</?SYS>>|<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id)\|>",
    r"^\s*#{1,6}\s*(?:instruction|system|response)s?\s*:?\s*$",
    r"</?(?:system|instructions?|prompt)>",
]
UNTRUSTED = "untrusted"  # chunk metadata key: set (to the giveaway words) on chunks holding instructions
LOWER_RE = re.compile("|".join(f"(?:{p})" for p in LOWER))
MARKER_RE = re.compile("|".join(f"(?:{p})" for p in MARKERS), re.MULTILINE)


@dataclass(frozen=True)
class Instruction:
    """One line of a text that addresses an assistant."""

    line: int  # 1-based line number in the text
    start: int  # offsets of the whole line in the text
    end: int
    marker: str  # the words that gave it away


def _lower(text: str) -> str:
    """Lower case, composed accents, straight apostrophes."""
    return unicodedata.normalize("NFC", text).lower().replace("’", "'")


def marker(text: str) -> str:
    """The words that make `text` read as an instruction to an assistant; "" when it does not."""
    found = MARKER_RE.search(text) or LOWER_RE.search(_lower(text))
    return found.group(0).strip() if found else ""


def instructions(text: str) -> list[Instruction]:
    """The lines of `text` addressed to an assistant, in order."""
    out: list[Instruction] = []
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        found = marker(line) if line.strip() else ""
        if found:
            out.append(Instruction(number, offset, offset + len(line.rstrip("\r\n")), found))
        offset += len(line)
    return out


@lru_cache(maxsize=2048)
def chunk_instructions(text: str) -> tuple[Instruction, ...]:
    """`instructions(text)` for a retrieved chunk, remembered.

    The answerer, the verifier and the LLM prompt all read the same chunks, question after question.
    Whole documents (at ingest) use `instructions`, so that no document is kept in the cache.
    """
    return tuple(instructions(text))


def trusted(text: str) -> str:
    """`text` (a chunk, or the chunks a sentence cites) with its instruction lines blanked out, same length."""
    for found in reversed(chunk_instructions(text)):
        text = text[: found.start] + " " * (found.end - found.start) + text[found.end :]
    return text
