"""Sharpserve's Python side: what a user's model imports, and the zygote and worker the front starts.

Importing this package stays cheap (nothing else is imported here): a user's model does `from sharpserve import
BadInput`, and the zygote imports it before the user's code.
"""


class BadInput(Exception):
    """Raised by a model's predict for a request it cannot take: the client gets HTTP 400 with the message."""
