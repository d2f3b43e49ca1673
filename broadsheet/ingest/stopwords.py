"""Function words of the languages we import; they identify a language and are never tags."""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: dict[str, frozenset[str]] = {
    "en": word_set(
        """
        a about according after again against ago all already also an and any are around as at be because been
        before being between both but by can could did do does doing down during each few for from further had
        has have having he her here hers him his how however i if in including into is it its itself just last
        many me more most mr mrs ms much my new no nor not now of off on once one only or other our out over own
        people percent said same say says she should since so some still such than that the their them then
        there these they this those three through to told too two under until up very was we week were what when
        where which while who whom why will with would year years yet you your
        """
    ),
    "de": word_set(
        """
        aber alle allem allen aller als also am an ans auch auf aus bei beim bin bis bist da dabei damit dann
        das dass dem den denen der des dessen die dies diese diesem diesen dieser dieses doch dort du durch ein
        eine einem einen einer eines er es etwa für gegen hat hatte hatten hier hin ich ihm ihn ihr ihre im in
        ins ist jahr jahre jetzt kann kein keine man mehr mit muss nach nicht noch nun nur ob oder ohne rund
        sagte schon sehr sei seien sein seine seit sich sie sind so soll sollen sollte sowie um und uns unter
        vom von vor war waren was weil wenn werden wie wir wird wo wurde wurden zu zum zur zwei über
        """
    ),
    "es": word_set(
        """
        a al algo ante antes aunque año años bajo bien cada ciento como con contra cual cuando de del desde dijo
        donde dos durante e el ella ellas ellos en entre era es esa ese eso esta este esto estos está están fue
        fueron ha han hasta hay la las le les lo los mismo muy más nada ni no nos o otra otro para pero poco por
        porque que qué se sea según semana ser si sido sin sobre son su sus también tanto tiene todo todos tras
        un una uno unos y ya
        """
    ),
    "fr": word_set(
        """
        a an ans au aussi aux avait avec c ce cela ces cet cette comme d dans de des deux donc du elle elles en
        encore est et fait il ils je l la le les leur leurs lors mais mes moins même n ne ni nos notre nous on
        ont ou où par pas plus pour qu que qui qu’il s sa sans se selon ses si son sont sous sur ta tous tout
        toute toutes très un une vers y à été être
        """
    ),
}


def detect_language(text: str, default: str = "en") -> str:
    """The language whose function words make up most of `text`; ties and empty text give `default`."""
    words = [w.strip(".,;:!?\"'“”‘’«»()[]") for w in text.lower().replace("’", " ").replace("'", " ").split()]
    scores = {lang: sum(1 for w in words if w in stops) for lang, stops in STOPWORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    return best if scores[best] > 0 else default
