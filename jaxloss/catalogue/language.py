"""Registrations of the language losses."""
