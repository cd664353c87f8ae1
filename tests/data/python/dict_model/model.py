"""A pure-Python model under the default contract (docs/python-backend.md section 6.1): no metadata(), no numpy.

predict gets each element's bytes and returns a str, so the answer is the output 'label'. Words it does not know
get "unknown"; bytes that are not UTF-8 are refused with BadInput (HTTP 400).
"""
from sharpserve import BadInput

TABLE = {"dog": "animal", "cat": "animal", "h\u00e9ron": "bird", "oak": "tree"}


class Model:
    def load(self):
        self.table = dict(TABLE)

    def predict(self, data):
        try:
            word = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("the text is not UTF-8") from None
        return self.table.get(word.strip().lower(), "unknown")
