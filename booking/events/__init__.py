"""Wedding events: collective, charity and memorial weddings, their sign-ups and waitlists."""
