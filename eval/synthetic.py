"""A seeded synthetic news corpus in French and English, and questions whose answer document is known.

Document `i` depends only on (seed, i): a corpus of n documents is the first n documents of any larger
one, so the 1k, 10k and 100k corpora share text, and vectors cached for one serve the others. Each
document reports one deal by a company whose name no other document uses, so a question about that
company has exactly one answer document.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

SYLLABLES = (
    "ka lo ra ve ni tor sa mi qua dex zen dra vo li ta ne ro ga fi pel mar cor ly sto".split()
)  # 24: three of them and a sector give 24**3 * len(SECTORS) distinct company names
SECTORS = ("Robotics", "Systems", "Labs", "Energy", "Capital", "Networks", "Health", "Motors", "Data", "Foods")
NAME_STEP = 7919  # a prime, so i -> i * NAME_STEP mod NAME_SPACE is one-to-one over the name space
NAME_SPACE = len(SYLLABLES) ** 3 * len(SECTORS)
FIRST = "Marie Jean Sophie Pierre Claire Thomas Camille Nicolas Laura David Emma Lucas Sarah Hugo Anna Paul".split()
LAST = "Martin Bernard Dubois Laurent Moreau Lefebvre Garnier Chen Patel Kowalski Novak Rossi Silva Meyer".split()
CITIES_EN = ("Paris", "London", "Berlin", "Montreal", "Lyon", "Amsterdam", "Geneva", "Boston", "Toronto", "Madrid")
CITIES_FR = ("Paris", "Londres", "Berlin", "Montréal", "Lyon", "Amsterdam", "Genève", "Boston", "Toronto", "Madrid")
MONTHS_EN = "January February March April May June July August September October November December".split()
MONTHS_FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
ANALYSTS = ("Morgan Stanley", "Goldman Sachs", "BNP Paribas", "Société Générale", "Barclays", "UBS", "Natixis")


@dataclass(frozen=True)
class Question:
    """A question whose answer lies in one known document."""

    id: str
    question: str
    language: str
    doc_id: str
    answer: str  # the figure as the answer document writes it


@dataclass(frozen=True)
class Deal:
    """The facts of one document."""

    doc_id: str
    language: str
    buyer: str
    target: str
    stake: int
    billions: float
    day: int
    month: int
    year: int
    ceo: str
    city: int  # index into CITIES_EN / CITIES_FR
    revenue_millions: int
    employees: int


def company_name(code: int) -> str:
    """The company name of a code in [0, NAME_SPACE)."""
    code, sector = divmod(code, len(SECTORS))
    a, rest = divmod(code, len(SYLLABLES) ** 2)
    b, c = divmod(rest, len(SYLLABLES))
    return f"{(SYLLABLES[a] + SYLLABLES[b] + SYLLABLES[c]).capitalize()} {SECTORS[sector]}"


def buyer_name(seed: int, i: int) -> str:
    """The buying company of document i: distinct for every i below NAME_SPACE."""
    return company_name((i * NAME_STEP + seed * 104729 + 4099) % NAME_SPACE)


def money(billions: float, language: str) -> str:
    """'$14.3 billion' or '14,3 milliards de dollars'."""
    if language == "fr":
        return f"{billions:.1f}".replace(".", ",") + " milliards de dollars"
    return f"${billions:.1f} billion"


def grouped(value: int, language: str) -> str:
    """'12,500' or '12 500' (a narrow no-break space, as French typesetting has it)."""
    return f"{value:,}".replace(",", "\u202f") if language == "fr" else f"{value:,}"


def millions(value: int, language: str) -> str:
    """'$1,812 million' or '1 812 millions de dollars'."""
    if language == "fr":
        return f"{grouped(value, 'fr')} millions de dollars"
    return f"${grouped(value, 'en')} million"


def date(deal: Deal) -> str:
    """'June 12, 2025' or '12 juin 2025'."""
    if deal.language == "fr":
        return f"{deal.day} {MONTHS_FR[deal.month - 1]} {deal.year}"
    return f"{MONTHS_EN[deal.month - 1]} {deal.day}, {deal.year}"


def make_deal(seed: int, i: int) -> Deal:
    """The facts of document i."""
    rng = random.Random(f"{seed}:{i}")
    language = rng.choice(("en", "fr"))
    return Deal(
        doc_id=f"syn-{i:06d}",
        language=language,
        buyer=buyer_name(seed, i),
        target=company_name(rng.randrange(NAME_SPACE)),
        stake=rng.randrange(5, 100),
        billions=round(rng.uniform(0.2, 60.0), 1),
        day=rng.randrange(1, 29),
        month=rng.randrange(1, 13),
        year=rng.randrange(2015, 2026),
        ceo=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        city=rng.randrange(len(CITIES_EN)),
        revenue_millions=rng.randrange(40, 9000),
        employees=rng.randrange(50, 90000),
    )


def _facts_en(d: Deal) -> list[str]:
    return [
        f"{d.buyer} announced on {date(d)} that it had acquired {d.stake}% of {d.target} for "
        f"{money(d.billions, 'en')}, the largest deal in the company's history.",
        f"The transaction values {d.target} at about {money(d.billions * 100 / d.stake, 'en')}. "
        f'{d.ceo}, chief executive of {d.buyer}, said the investment would "change the pace of everything '
        f'we build" and that both teams would keep working from {CITIES_EN[d.city]}.',
        f"Last year {d.buyer} reported revenue of {millions(d.revenue_millions, 'en')} and employed "
        f"{grouped(d.employees, 'en')} people.",
    ]


def _facts_fr(d: Deal) -> list[str]:
    return [
        f"{d.buyer} a annoncé le {date(d)} avoir acquis {d.stake}% de {d.target} pour "
        f"{money(d.billions, 'fr')}, la plus grosse opération de son histoire.",
        f"La transaction valorise {d.target} à environ {money(d.billions * 100 / d.stake, 'fr')}. "
        f"{d.ceo}, directeur général de {d.buyer}, a déclaré que cet investissement allait « changer le "
        f"rythme de tout ce que nous construisons » et que les deux équipes resteraient à {CITIES_FR[d.city]}.",
        f"L'an dernier, {d.buyer} a réalisé un chiffre d'affaires de {millions(d.revenue_millions, 'fr')} "
        f"et employait {grouped(d.employees, 'fr')} personnes.",
    ]


def _filler_en(d: Deal, rng: random.Random) -> str:
    other, person = company_name(rng.randrange(NAME_SPACE)), f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    analyst, year = rng.choice(ANALYSTS), rng.randrange(2015, 2026)
    return rng.choice(
        (
            f"Analysts at {analyst} expect the deal to weigh on margins for {rng.randrange(2, 6)} quarters before "
            f"it adds to earnings. Shares of {d.buyer} rose {rng.randrange(1, 15)}% in early trading.",
            f"Regulators in {rng.choice(CITIES_EN)} must still approve the purchase, which is expected to close "
            f"within {rng.randrange(3, 13)} months. {other} was also said to be interested in {d.target}.",
            f"Companies spent {money(rng.uniform(50, 400), 'en')} on similar acquisitions in {year}, according "
            f"to {analyst}, against {money(rng.uniform(20, 200), 'en')} a year earlier.",
            f"{d.target} was founded {rng.randrange(3, 30)} years ago in {rng.choice(CITIES_EN)} and counts "
            f"{grouped(rng.randrange(10, 50000), 'en')} customers. It lost {millions(rng.randrange(5, 900), 'en')} "
            f"in {year}.",
            f'{person}, who ran {other} until {year}, called the price "steep but defensible" in an interview. '
            f"{other} itself raised {millions(rng.randrange(20, 3000), 'en')} in {MONTHS_EN[rng.randrange(12)]}.",
            f"The deal follows a hiring spree: {d.buyer} added {grouped(rng.randrange(100, 9000), 'en')} engineers "
            f"over {rng.randrange(2, 5)} years and opened offices in {rng.choice(CITIES_EN)} and "
            f"{rng.choice(CITIES_EN)}.",
            f'Asked about the price, {d.ceo.split()[0]} said {d.buyer} had "paid for the team, not the '
            f'revenue". Critics noted that debt at {d.buyer} reached {millions(rng.randrange(100, 20000), "en")}.',
            f"Rival {other} answered on {MONTHS_EN[rng.randrange(12)]} {rng.randrange(1, 29)}, {year} with a "
            f"{money(rng.uniform(0.1, 9), 'en')} plan of its own, led by {person}.",
        )
    )


def _filler_fr(d: Deal, rng: random.Random) -> str:
    other, person = company_name(rng.randrange(NAME_SPACE)), f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    analyst, year = rng.choice(ANALYSTS), rng.randrange(2015, 2026)
    return rng.choice(
        (
            f"Les analystes de {analyst} s'attendent à ce que l'opération pèse sur les marges pendant "
            f"{rng.randrange(2, 6)} trimestres. L'action {d.buyer} a gagné {rng.randrange(1, 15)}% en début de séance.",
            f"Les autorités de {rng.choice(CITIES_FR)} doivent encore approuver l'achat, qui devrait être finalisé "
            f"d'ici {rng.randrange(3, 13)} mois. {other} se serait aussi intéressé à {d.target}.",
            f"Les entreprises ont dépensé {money(rng.uniform(50, 400), 'fr')} en acquisitions similaires en {year}, "
            f"selon {analyst}, contre {money(rng.uniform(20, 200), 'fr')} un an plus tôt.",
            f"{d.target} a été fondée il y a {rng.randrange(3, 30)} ans à {rng.choice(CITIES_FR)} et compte "
            f"{grouped(rng.randrange(10, 50000), 'fr')} clients. Elle a perdu "
            f"{millions(rng.randrange(5, 900), 'fr')} en {year}.",
            f"{person}, qui a dirigé {other} jusqu'en {year}, a jugé le prix « élevé mais défendable ». "
            f"{other} a elle-même levé {millions(rng.randrange(20, 3000), 'fr')} en {MONTHS_FR[rng.randrange(12)]}.",
            f"L'opération suit une vague d'embauches : {d.buyer} a recruté {grouped(rng.randrange(100, 9000), 'fr')} "
            f"ingénieurs en {rng.randrange(2, 5)} ans et ouvert des bureaux à {rng.choice(CITIES_FR)} et à "
            f"{rng.choice(CITIES_FR)}.",
            f"Interrogé sur le prix, {d.ceo.split()[0]} a affirmé que {d.buyer} avait « payé pour l'équipe, pas "
            f"pour le chiffre d'affaires ». La dette de {d.buyer} atteint "
            f"{millions(rng.randrange(100, 20000), 'fr')}.",
            f"Son concurrent {other} a répondu le {rng.randrange(1, 29)} {MONTHS_FR[rng.randrange(12)]} {year} "
            f"par un plan de {money(rng.uniform(0.1, 9), 'fr')}, piloté par {person}.",
        )
    )


def document_text(seed: int, i: int) -> tuple[Deal, str]:
    """Document i: its facts, and its text (title line, then paragraphs)."""
    deal = make_deal(seed, i)
    rng = random.Random(f"{seed}:{i}:text")
    fr = deal.language == "fr"
    paragraphs = _facts_fr(deal) if fr else _facts_en(deal)
    filler = _filler_fr if fr else _filler_en
    # Between 2 and 9 paragraphs of context, so that documents differ in length as news does.
    paragraphs += [filler(deal, rng) for _ in range(rng.randrange(2, 10))]
    title = (
        f"{deal.buyer} rachète {deal.stake}% de {deal.target}"
        if fr
        else f"{deal.buyer} buys {deal.stake}% of {deal.target}"
    )
    return deal, title + "\n\n" + "\n\n".join(paragraphs) + "\n"


def write_corpus(directory: Path, n_docs: int, seed: int) -> list[Deal]:
    """Write documents 0..n_docs-1 into `directory`: .md with front matter, .txt with a sidecar for the id."""
    directory.mkdir(parents=True, exist_ok=True)
    deals = []
    for i in range(n_docs):
        deal, text = document_text(seed, i)
        title, _, body = text.partition("\n\n")
        if i % 2 == 0:
            front = f'---\nid: {deal.doc_id}\ntitle: "{title}"\nlanguage: {deal.language}\n---\n'
            (directory / f"{deal.doc_id}.md").write_text(front + f"# {title}\n\n{body}", encoding="utf-8")
        else:
            (directory / f"{deal.doc_id}.txt").write_text(text, encoding="utf-8")
            (directory / f"{deal.doc_id}.txt.meta.yaml").write_text(f"id: {deal.doc_id}\n", encoding="utf-8")
        deals.append(deal)
    return deals


def questions(deals: list[Deal], n: int, seed: int) -> list[Question]:
    """`n` seeded questions, in either language, each about one document's deal."""
    rng = random.Random(f"{seed}:questions:{len(deals)}")
    out = []
    for deal in rng.sample(deals, min(n, len(deals))):
        language = rng.choice(("en", "fr"))
        kind = rng.randrange(3)
        if kind == 0:
            q = (
                f"Combien {deal.buyer} a-t-il payé pour sa participation dans {deal.target} ?"
                if language == "fr"
                else f"How much did {deal.buyer} pay for its stake in {deal.target}?"
            )
            answer = money(deal.billions, deal.language)
        elif kind == 1:
            q = (
                f"Quelle part de {deal.target} {deal.buyer} a-t-il achetée ?"
                if language == "fr"
                else f"What share of {deal.target} did {deal.buyer} buy?"
            )
            answer = f"{deal.stake}%"
        else:
            q = f"Qui dirige {deal.buyer} ?" if language == "fr" else f"Who is the chief executive of {deal.buyer}?"
            answer = deal.ceo
        out.append(Question(f"q-{deal.doc_id}", q, language, deal.doc_id, answer))
    return out


def documents_for_chunks(target_chunks: int, seed: int, chunk_size: int, chunk_overlap: int) -> int:
    """How many documents give about `target_chunks` chunks, estimated from tiktoken lengths of a sample."""
    from llama_index.core.utils import get_tokenizer

    tokenize = get_tokenizer()  # points tiktoken at the BPE files llama-index ships: nothing is downloaded
    lengths = [len(tokenize(document_text(seed, i)[1])) for i in range(50)]
    step = max(1, chunk_size - chunk_overlap)
    # With the default settings this lands within a few percent of what ingest makes (tiktoken and the
    # model's own word pieces differ; French splits finer); the benchmark reports the actual count.
    per_doc = sum(max(1, math.ceil((n - chunk_overlap) / step)) for n in lengths) / len(lengths)
    return max(1, round(target_chunks / per_doc))
