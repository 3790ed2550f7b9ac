"""Registrations of the divergence losses."""
