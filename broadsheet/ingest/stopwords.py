"""Function words of the languages we import; they identify a language and are never tags."""

from __future__ import annotations

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("""
        a about after again against all also an and any are as at be because been before being between both
        but by can could did do does doing down during each few for from further had has have having he her
        here hers him his how i if in into is it its itself just me more most my no nor not now of off on once
        only or other our out over own same she should so some such than that the their them then there these
        they this those through to too under until up very was we were what when where which while who whom
        why will with would you your said says say new one two three year years last week told since already
        still ago yet around many much according percent people including however including mr ms mrs""".split()),
    "de": frozenset("""
        aber alle allem allen aller als also am an ans auch auf aus bei beim bin bis bist da dabei damit dann
        das dass dem den denen der des dessen die dies diese diesem diesen dieser dieses doch dort du durch ein
        eine einem einen einer eines er es etwa für gegen hat hatte hatten hier hin ich ihm ihn ihr ihre im in
        ins ist jahr jahre jetzt kann kein keine man mehr mit muss nach nicht noch nun nur ob oder ohne rund
        sagte schon sehr sei seien sein seine seit sich sie sind so soll sollen sollte sowie über um und uns
        unter vom von vor war waren was weil wenn werden wie wird wir wo wurde wurden zu zum zur zwei""".split()),
    "es": frozenset("""
        a al algo ante antes aunque bajo bien cada como con contra cual cuando de del desde donde dos durante
        e el ella ellas ellos en entre era es esa ese eso esta este esto estos está están fue fueron ha han
        hasta hay la las le les lo los más mismo muy nada ni no nos o otra otro para pero poco por porque que
        qué se sea según ser si sido sin sobre son su sus también tanto tiene todo todos tras un una uno unos
        y ya año años este esta semana dijo ha han ciento""".split()),
    "fr": frozenset("""
        à au aussi aux avait avec ce cela ces cet cette comme dans de des deux donc du elle elles en encore
        est et été être fait il ils je la le les leur leurs lors mais même mes moins ne ni nos notre nous on
        ont ou où par pas plus pour qu que qui sa sans se selon ses si son sont sous sur ta tous tout toute
        toutes très un une vers été an ans a été y d l s n c qu’il""".split()),
}


def detect_language(text: str, default: str = "en") -> str:
    """The language whose function words make up most of `text`; ties and empty text give `default`."""
    words = [w.strip(".,;:!?\"'“”‘’«»()[]") for w in text.lower().replace("’", " ").replace("'", " ").split()]
    scores = {lang: sum(1 for w in words if w in stops) for lang, stops in STOPWORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    return best if scores[best] > 0 else default
