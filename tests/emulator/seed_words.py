"""Word pools for the synthetic library: names, titles, journals, folders, in many scripts."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Anna", "John", "Maria", "Wei", "Jürgen", "Éric", "Hélène", "Søren", "Bjørn", "José", "Łukasz",
    "Zoë", "Ingrid", "Олег", "Наталья", "伟", "芳", "Hiroshi", "Ayşe", "Nuño", "Siobhán", "Pål",
    "Matthias", "Chloé", "David", "Sarah", "Tomáš", "Andrés", "Małgorzata", "Kateřina",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Müller", "Lefèvre", "Ødegård", "Núñez", "Wójcik", "Dvořák", "Çelik", "O'Brien",
    "van der Berg", "de la Cruz", "Smith-Jones", "Иванов", "Смирнова", "王", "李", "田中",
    "Papadopoulos", "Nguyễn", "García", "Schröder", "Åberg", "Doe", "Roe", "Kowalski", "Brown",
    "Öztürk", "Jensen", "Fernández", "Weiß",
)  # fmt: skip
_ADJECTIVES = (
    "Robust", "Scalable", "Bayesian", "Distributed", "Efficient", "Stochastic", "Adaptive", "Sparse",
    "Probabilistic", "Hierarchical", "Differential", "Incremental",
)  # fmt: skip
_NOUNS = (
    "inference", "synchronization", "storage", "learning", "estimation", "compression", "retrieval",
    "consensus", "indexing", "simulation", "annotation", "backup",
)  # fmt: skip
_PLURALS = ("networks", "graphs", "libraries", "proteins", "markets", "galaxies", "documents", "citations")
_FIELDS = ("genomics", "astronomy", "economics", "linguistics", "cloud computing", "ecology")
_FOREIGN_TITLES = (
    "Über die Stabilität verteilter Systeme",
    "Étude comparée des méthodes d'indexation",
    "Søgning i store tekstsamlinger",
    "深度学习在医学图像分析中的应用",
    "О методах сжатия научных данных",
    "Análisis de redes de citación en España",
    "Zur Geschichte der Bibliotheken in Köln",
    "Ελληνικά κείμενα και ψηφιακή επιμέλεια",
)  # fmt: skip
_ODD_TITLES = (
    "Input/output behaviour of {p}",
    "{A} {n}: a survey",
    "Why do {p} fail?",
    '"{A}" {n} considered harmful',
    "C:\\Data\\{p} revisited",
    "<{n}> tags | pipes * stars",
    "{A} vs. {n}: what's new?",
    "Is {n} NP-hard? Yes/No",
)  # fmt: skip
LONG_TITLE_PARTS = (
    "Über die Konvergenz stochastischer Verfahren",
    "an extensive empirical évaluation",
    "with applications to São Paulo's ecosystems",
    "针对大规模文献库的增量备份方法",
    "и их применение в библиотеках",
    "across twelve heterogeneous corpora",
    "a longitudinal perspective (2012–2024)",
)  # fmt: skip
SOURCES = (
    "Nature", "Communications of the ACM", "Physical Review Letters", "PLOS ONE",
    "Journal of Documentation", "Zeitschrift für Naturforschung", "Revue française de sociologie",
    "Вестник Московского университета", "中国科学", "Proceedings of the VLDB Endowment",
)  # fmt: skip
PUBLISHERS = ("Springer", "Elsevier", "ACM", "IEEE", "Wiley", "De Gruyter", "Éditions du Seuil", "MIT Press")
CITIES = ("Berlin", "København", "São Paulo", "New York", "Zürich", "北京", "Москва", "Paris")
KEYWORDS = (
    "machine learning", "backup", "bibliometrics", "Zitationsanalyse", "réseaux", "сети", "数据",
    "open access", "reproducibility", "metadata", "synchronisation", "digital libraries",
)  # fmt: skip
TAGS = ("to-read", "important", "chapter-2", "à lire", "wichtig", "важно", "重要", "reviewed", "2019 course")
ABSTRACT_SENTENCES = (
    "We present a new method for the problem.",
    "Our results improve on the state of the art by 12%.",
    "Nous montrons que l'approche est robuste.",
    "Die Ergebnisse werden ausführlich diskutiert.",
    "The data set contains 10,000 documents — see the appendix.",
    "Результаты подтверждают гипотезу.",
    "实验结果表明该方法有效。",
    "Limitations & future work are discussed.",
)  # fmt: skip
FILE_STEMS = ("paper", "main", "fulltext", "1-s2.0-S0022283600", "Übersicht: Teil 1?", "draft v2 (final)", "論文")
FOLDER_NAMES = (
    "To read", "Thesis", "Chapter 2", "Methods", "Bibliothèque", "Übersichten", "Reading group: 2019",
    "Важное", "参考文献", "Old/Archive", "Reviews*", "Ideas?",
)  # fmt: skip
GROUP_NAMES = ("Lab reading list", "Équipe de recherche", "Doktorandenkolloquium", "研究小组", "Open science")


def title(rng: random.Random) -> str:
    """A plausible title: plain English mostly, some foreign, some with file-name-hostile characters."""
    roll = rng.random()
    adjective, noun, plural = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_PLURALS)
    if roll < 0.12:
        return rng.choice(_FOREIGN_TITLES)
    if roll < 0.24:
        return rng.choice(_ODD_TITLES).format(A=adjective, n=noun, p=plural)
    if roll < 0.6:
        return f"{adjective} {noun} for {plural} in {rng.choice(_FIELDS)}"
    if roll < 0.8:
        return f"On the {noun} of {plural}"
    return f"{adjective} {noun} of {plural}: towards {rng.choice(_ADJECTIVES).lower()} methods"

# For the export's tests: every document type and field of the reference, and the values that are hard to export.
EXPORT_TYPES = (
    "magazine_article", "statute", "newspaper_article", "computer_program", "hearing", "television_broadcast",
    "encyclopedia_article", "case", "film", "bill",
)  # fmt: skip
EXPORT_NOTES = (
    "<p>First reading: strong method.</p><p>Second reading &amp; doubts: the proof of lemma 2?</p>",
    "Summary line one\nline two of the same paragraph\n\nA second paragraph.",
    "<b>Important:</b> see <i>section 3</i><br/>and the appendix",
)  # fmt: skip
EXPORT_FILE_STEMS = ("Smith & Jones  notes", "R&D  report <draft>", "chapter #2  & more", "Ødegård & Weiß  (2019)")
EXPORT_GENRES = ("Master's thesis", "PhD thesis", "Technical note", "Documentary", "Working paper")
EXPORT_MEDIA = ("DVD", "CD-ROM", "Online video", "Microfilm")
EXPORT_CODES = ("U.S. Code", "BGBl. I", "Code civil")
EXPORT_CONTEXTS = ("Journal", "Preprint", "Lecture notes")
EXPORT_SOURCE_TYPES = ("article", "misc", "inproceedings")
