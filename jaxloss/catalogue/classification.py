"""Registrations of the classification losses."""
