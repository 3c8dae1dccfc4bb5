"""Ballots (摇号) that allot a peak day's seats fairly and verifiably."""
