"""A language labeller in the shape of a research team's model: load() builds its tables, predict(data) answers.

It is small on purpose (a few hundred words per language); a real one holds gigabytes of Python objects built
by load(), which is exactly where one frozen copy in Sharpserve's zygote pays off.
"""

from sharpserve import BadInput

_WORDS = {
    "__label__en": "the and of to in is that it was for on are with as his they be at one have this from or had by",
    "__label__fr": "le la les de des et un une est que pour dans qui pas sur au avec je vous il elle nous sont bonjour",
    "__label__de": "der die das und ist nicht ein eine ich sie es zu mit den von dem auf für sich guten morgen wie",
    "__label__it": "il la di che e un una per non sono con mi ti lo gli le buongiorno vorrei caffè grazie",
    "__label__es": "el la de que y en un una los se del las por con no para es buenos días gracias hola",
}


class Model:
    def load(self):
        # The expensive part: in a real model, gigabytes read from disk into Python objects.
        self.table = {}
        for label, words in _WORDS.items():
            for word in words.split():
                self.table.setdefault(word, label)

    def predict(self, data):
        """data is the request body as bytes, as Flask's request.data; the answer is the label text."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("the body is not UTF-8 text")
        scores = {}
        for word in text.lower().split():
            label = self.table.get(word.strip(".,!?;:"))
            if label is not None:
                scores[label] = scores.get(label, 0) + 1
        return max(scores, key=scores.get) if scores else "__label__unknown"

    def warmup(self):
        return [b"Bonjour, je voudrais un cafe", b"the cat sat on the mat"]
