"""Schedules and sensors that keep the lake current."""
