"""Registrations of the detection losses."""
