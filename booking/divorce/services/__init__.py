"""The divorce case's services: applying, the counter, the certificate window, endings."""
