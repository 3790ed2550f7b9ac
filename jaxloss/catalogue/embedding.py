"""Registrations of the embedding losses."""
