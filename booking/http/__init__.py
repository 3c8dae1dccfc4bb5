"""The HTTP side of the API: problem answers and the mapping of validation failures."""
