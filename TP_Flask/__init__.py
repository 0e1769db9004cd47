"""TP_Flask: the interactive prediction page, JSON API and monitoring page (see README.md)."""
