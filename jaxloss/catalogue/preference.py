"""Registrations of the preference losses."""
