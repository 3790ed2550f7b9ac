"""Registrations of the regression losses."""
