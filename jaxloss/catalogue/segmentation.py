"""Registrations of the segmentation losses."""
