"""Fakes of outside services that the real clients talk to over 127.0.0.1."""
