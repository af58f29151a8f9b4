"""Sensors and schedules that start pipeline runs."""
