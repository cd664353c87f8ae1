"""A scikit-learn text classifier under the default contract (docs/python-backend.md section 6.1).

load() trains a TF-IDF + logistic regression pipeline on a few inline sentences (fixed random_state, so every load
gives the same model); predict returns the predicted label as a str: "weather" or "food". It needs Debian's
python3-sklearn (under /usr/bin/python3).
"""
from sharpserve import BadInput

SENTENCES = [
    ("it is raining and the wind is cold", "weather"),
    ("sunny skies and a warm afternoon", "weather"),
    ("snow is falling on the mountains tonight", "weather"),
    ("a storm with thunder and heavy rain", "weather"),
    ("the forecast says clouds and fog tomorrow", "weather"),
    ("fresh bread with butter and cheese", "food"),
    ("a bowl of pasta with tomato sauce", "food"),
    ("grilled fish with lemon and rice", "food"),
    ("chocolate cake and a cup of coffee", "food"),
    ("a salad of apples, nuts and cheese", "food"),
]


class Model:
    def load(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        texts = [text for text, _ in SENTENCES]
        labels = [label for _, label in SENTENCES]
        self.pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(random_state=0))
        self.pipeline.fit(texts, labels)

    def predict(self, data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("the text is not UTF-8") from None
        return str(self.pipeline.predict([text])[0])

    def predict_batch(self, items):
        texts = []
        for data in items:
            try:
                texts.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                raise BadInput("a text is not UTF-8") from None
        return [str(label) for label in self.pipeline.predict(texts)]
