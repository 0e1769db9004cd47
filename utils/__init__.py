"""The engine every TP folder stands on.

Importing ``utils`` (or any of its modules) never imports torch, tensorflow or
scikit-learn, and never touches the disk or the network: serving code must stay inside a
512 MB budget and a serverless bundle. Framework code is imported inside the functions
that need it.
"""

__version__ = "0.1.0"
