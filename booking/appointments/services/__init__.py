"""The appointment's services: booking, changes, the desk, every status change."""
