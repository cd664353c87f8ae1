"""The service as a research team hands it over: a Flask app around a model class.

    gunicorn -c gunicorn.conf.py -w 8 label_service:app

POST /labelservice/ with a text body answers the label as text/plain. Sharpserve serves the same class without
this file: see README.md.
"""

from flask import Flask, Response, request

from model import Model

app = Flask(__name__)
model = Model()
model.load()


@app.route("/labelservice/", methods=["POST"])
def labelservice():
    return Response(model.predict(request.data), mimetype="text/plain")
