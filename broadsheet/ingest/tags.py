"""Tags from an article's own text: its main places, people, organisations and topics.

Deterministic and offline: capitalised name phrases (with people's surnames folded into their full
names), country adjectives counted toward their country, and the most repeated topic nouns, scored
by frequency with extra weight for the headline and first paragraph.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from broadsheet.ingest.article import RawArticle, block_text
from broadsheet.ingest.dates import MONTHS, WEEKDAY_NAMES
from broadsheet.ingest.stopwords import STOPWORDS, word_set
from broadsheet.urls import slugify

MAX_TAGS = 8
_RELEASE_WIRES = {"PRNewswire", "GlobeNewswire", "Business Wire", "ACCESSWIRE", "Newswire"}
# Built-in alias table; a site extends or overrides it with `tag_aliases` in site.toml.
DEFAULT_ALIASES: dict[str, str] = {
    "u-s": "united-states", "us": "united-states", "usa": "united-states", "u-s-a": "united-states",
    "america": "united-states", "united-states-of-america": "united-states",
    "u-k": "united-kingdom", "uk": "united-kingdom", "britain": "united-kingdom",
    "great-britain": "united-kingdom", "eu": "european-union", "e-u": "european-union",
    "un": "united-nations", "u-n": "united-nations", "kiev": "kyiv", "nato": "nato",
    "uae": "united-arab-emirates", "u-a-e": "united-arab-emirates",
    "deutschland": "germany", "espana": "spain", "españa": "spain", "frankreich": "france",
}  # fmt: skip
_DEMONYMS = {
    "russian": "Russia", "ukrainian": "Ukraine", "american": "United States", "british": "United Kingdom",
    "chinese": "China", "german": "Germany", "french": "France", "spanish": "Spain", "italian": "Italy",
    "iranian": "Iran", "israeli": "Israel", "palestinian": "Palestine", "japanese": "Japan",
    "indian": "India", "mexican": "Mexico", "canadian": "Canada", "turkish": "Turkey", "polish": "Poland",
    "syrian": "Syria", "iraqi": "Iraq", "saudi": "Saudi Arabia", "egyptian": "Egypt", "korean": "Korea",
    "brazilian": "Brazil", "zambian": "Zambia", "nigerian": "Nigeria", "kenyan": "Kenya",
    "belarusian": "Belarus", "estonian": "Estonia", "european": "European Union", "dutch": "Netherlands",
}  # fmt: skip
_TITLES = {
    "president", "vice", "prime", "minister", "mayor", "governor", "secretary", "senator", "sen", "rep",
    "gov", "chancellor", "king", "queen", "prince", "princess", "pope", "judge", "justice", "chief", "ceo",
    "director", "spokesman", "spokeswoman", "spokesperson", "commissioner", "councilman", "councilwoman",
    "chair", "chairman", "chairwoman", "general", "gen", "col", "lt", "sgt", "dr", "mr", "mrs", "ms",
    "prof", "sir", "lord", "officer", "manager", "captain", "capt", "deputy", "ambassador", "chef",
    "präsident", "bürgermeister", "ministerin", "presidente", "ministro", "alcalde", "maire", "ministre",
}  # fmt: skip
_OFFICES = {
    "foreign",
    "defense",
    "defence",
    "interior",
    "finance",
    "home",
    "health",
    "economy",
    "state",
    "city",
    "county",
    "region",
    "regional",
    "transport",
    "energy",
    "trade",
    "executive",
    "operating",
}
# AP-style state and title abbreviations: "Mich." in a dateline is not a tag.
_ABBREVIATIONS = word_set(
    """
    ala ariz ark calif colo conn del fla ga ill ind kan ky la md mass mich minn miss mo mont neb nev okla ore pa
    tenn vt va wash wis wyo gov sen rep dr st mt ft lt gen col sgt jr sr inc corp co ltd
    """
)
_CONNECTORS = {"of", "de", "del", "la", "von", "van", "der", "du", "des", "da", "di", "for"}
_GENERIC = word_set(
    """
    about according added after afternoon against already also although among another area areas around article
    because before between billion city close closely comment comments company cost costs could dozens during
    early eight evening expected first five four government high however hundreds including just large last late
    like little local long made major make many might million month months more morning most news next night
    nine number official officials only other over part parts people percent plan plans recent recently report
    reported said says seven several should since small some something spokesman spokeswoman state statement
    still story such take their there these thing things those though thousand three time today told tomorrow
    took under week weekend weeks well where whether which while within without would year years yesterday
    """
)
_WORD = re.compile(r"(?<![\w'’-])[a-zà-öø-ÿ][a-zà-öø-ÿ-]{3,}(?![\w'’-])")
_TOKEN = re.compile(r"(?:[A-Za-zÀ-ÖØ-öø-ÿ]\.){2,}|[\w][\w'’-]*", re.UNICODE)
_AFFIX = re.compile(r"-(based|born|owned|led|backed|made|style|bound|area)$|['’]s$")
_SENTENCE_BREAK = re.compile(r"[.!?:;“”\"«»()\[\]—–]\s*$|^\s*$")


def merged_aliases(site_aliases: Mapping[str, str] | None) -> dict[str, str]:
    table = {slugify(k, fallback="x"): slugify(v, fallback="x") for k, v in DEFAULT_ALIASES.items()}
    for key, value in (site_aliases or {}).items():
        table[slugify(str(key), fallback="x")] = slugify(str(value), fallback="x")
    return table


def normalise(tags: Iterable[str], aliases: Mapping[str, str]) -> list[str]:
    """Slugs with aliases resolved (following chains, safe against cycles), in order, without repeats."""
    out: list[str] = []
    for tag in tags:
        slug = slugify(tag, fallback="tag")
        path = [slug]
        while slug in aliases:
            slug = aliases[slug]
            if slug in path:  # a cycle in a site's table: settle on its alphabetically first name
                slug = min(path[path.index(slug) :])
                break
            path.append(slug)
        if slug not in out:
            out.append(slug)
    return out


def _phrases(text: str, weight: float, stops: frozenset[str]) -> Iterable[tuple[str, float, bool, bool]]:
    """(phrase, weight, at_sentence_start, possessive) for each run of capitalised words in `text`."""
    run: list[str] = []
    run_start = False
    previous_end = 0
    sentence_start = True
    possessive = False  # the previous token ended in 's, so a name run cannot continue past it
    run_possessive = False

    def emit() -> Iterable[tuple[str, float, bool, bool]]:
        for part in _split_titles(run):
            yield " ".join(part), weight, run_start and part[0] == run[0], run_possessive

    for m in _TOKEN.finditer(text):
        gap = text[previous_end : m.start()]
        raw = m.group()
        token = _AFFIX.sub("", re.sub(r"['’]s$", "", raw))
        breaks = bool(gap.strip()) or not gap or possessive
        if run and (breaks and previous_end) or (run and gap.count(" ") > 1):
            yield from emit()
            run = []
        possessive = token != raw
        starts = sentence_start or bool(_SENTENCE_BREAK.search(text[: m.start()][-3:])) if m.start() else True
        abbreviation = text[m.end() : m.end() + 1] == "." and token.lower() in _ABBREVIATIONS
        capital = token[:1].isupper() and token.lower() not in stops and not abbreviation
        if capital:
            if not run:
                run_start = starts
            run.append(token.rstrip(".") if not re.fullmatch(r"(?:\w\.){2,}", token) else token)
            run_possessive = possessive
        elif run and token.lower() in _CONNECTORS:
            run.append(token)
        elif run:
            yield from emit()
            run = []
        previous_end = m.end()
        sentence_start = False
    if run:
        yield from emit()


def _split_titles(tokens: list[str]) -> list[list[str]]:
    """ "Moscow Mayor Sergei Sobyanin" -> [Moscow], [Sergei Sobyanin]; connectors at the edges drop."""
    parts: list[list[str]] = [[]]
    for i, token in enumerate(tokens):
        low = token.lower().rstrip(".")
        is_office = low in _OFFICES and i + 1 < len(tokens) and tokens[i + 1].lower().rstrip(".") in _TITLES
        if low in _TITLES or is_office:
            parts.append([])
        else:
            parts[-1].append(token)
    result = []
    for part in parts:
        while part and part[0].lower() in _CONNECTORS:
            part = part[1:]
        while part and part[-1].lower() in _CONNECTORS:
            part = part[:-1]
        if part:
            result.append(part)
    return result


def extract_tags(
    article: RawArticle, aliases: Mapping[str, str] | None = None, *, limit: int = MAX_TAGS
) -> tuple[str, ...]:
    table = merged_aliases(aliases)
    stops = frozenset().union(*STOPWORDS.values())
    title = article.title or ""
    body = [block_text(b) for b in article.blocks]
    texts = [(t, 2.0 if i == 0 else 1.0) for i, t in enumerate(body)]
    if article.dateline:  # "GRAND RAPIDS, Mich." -> a place the story is about
        place = article.dateline.split(",")[0]
        texts.append((f"in {place.title() if place.isupper() else place}.", 2.0))
    everything = " ".join(t for t, _ in texts)
    lowercase_words = {w for w in re.findall(r"\b[a-zà-öø-ÿ][\w'’-]*", everything)}
    release = article.distributor in _RELEASE_WIRES  # a release's issuer is what it is about
    outlets = (*article.authors, "" if release else article.source or "", article.distributor or "", "Reuters", "AP")
    excluded = {slugify(n, fallback="x") for n in outlets}
    months_days = set(MONTHS) | set(WEEKDAY_NAMES)
    # Capitalised words seen mid-sentence are names; at a sentence start they may just be capitalised.
    mid_sentence = {
        _AFFIX.sub("", m.group()).lower() for m in re.finditer(r"(?<=[\w,] )[A-ZÀ-ÖØ-Þ][\w'’-]*", everything)
    }

    scores: Counter[str] = Counter()
    names: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    for text, weight in texts:
        for phrase, w, at_start, possessive in _phrases(text, weight, stops):
            words = phrase.split()
            if len(words) == 1:
                low = phrase.lower()
                if low in months_days or low in stops or len(phrase) < 2:
                    continue
                if low in lowercase_words or (at_start and low not in mid_sentence and not possessive):
                    continue
                if low in _DEMONYMS:
                    phrase, w = _DEMONYMS[low], w * 0.5
            key = slugify(phrase, fallback="x")
            if key in excluded or key in months_days:
                continue
            scores[key] += w
            names.setdefault(key, phrase)
            first_seen.setdefault(key, len(first_seen))
    for key, name in names.items():
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", title, re.IGNORECASE):
            scores[key] += 3
    _fold_surnames(scores, names)
    entities = sorted((k for k, s in scores.items() if s >= 2), key=lambda k: (-scores[k], first_seen[k]))
    topics = _topics(title, texts, stops, {w for k in entities for w in k.split("-")})
    chosen = normalise([names[k] for k in entities[: max(limit - 2, 0)]], table)
    for tag in normalise(topics, table) + normalise([names[k] for k in entities[limit - 2 :]], table):
        if len(chosen) >= limit:
            break
        if tag not in chosen:
            chosen.append(tag)
    return tuple(chosen[:limit])


def _fold_surnames(scores: Counter[str], names: dict[str, str]) -> None:
    """Count "Putin" toward "Vladimir Putin" and "Tidewater" toward "Tidewater Air"."""
    longer = [k for k in names if 2 <= len(names[k].split()) <= 4 and all(w[:1].isupper() for w in names[k].split())]
    for key in list(scores):
        if len(names[key].split()) != 1:
            continue
        word = names[key].lower()
        owners = [p for p in longer if names[p].split()[-1].lower() == word] or [
            p for p in longer if names[p].split()[0].lower() == word
        ]
        if len(owners) == 1:
            scores[owners[0]] += scores.pop(key)


def _singular(word: str) -> str:
    if len(word) <= 4 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _topics(title: str, texts: list[tuple[str, float]], stops: frozenset[str], taken: set[str]) -> list[str]:
    """Repeated common nouns, those in the headline first: "drones", "budget", "smelter"."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    in_title: set[str] = set()
    for text, weight in [(title, 3.0), *texts]:
        for word in _WORD.findall(text.lower() if text is title else text):
            if word in stops or word in _GENERIC or re.search(r"(ed|ly)$", word):
                continue
            stem = _singular(word)
            counts[stem] += weight
            forms.setdefault(stem, Counter())[word] += 1
            if text is title:
                in_title.add(stem)
    ranked = sorted(
        (s for s, c in counts.items() if c >= 4 and s not in taken), key=lambda s: (s not in in_title, -counts[s], s)
    )
    # The plural names a topic ("drones", "batteries") whenever the text uses it.
    return [max(sorted(forms[s]), key=lambda f: (f != s, forms[s][f])) for s in ranked[:3]]
