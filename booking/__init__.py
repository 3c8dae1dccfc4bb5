"""Booking service for China's marriage registration offices (婚姻登记处)."""

__version__ = "0.1.0"
