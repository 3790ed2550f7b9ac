"""Registrations of the generative losses."""
