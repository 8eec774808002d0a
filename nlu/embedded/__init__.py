"""The embedded (in-process, scikit-learn) NLU backend."""

from nlu.embedded.parser import EmbeddedParser, default_parser

__all__ = ["EmbeddedParser", "default_parser"]
