"""The set-up page: a small HTTP server and the live view it shows."""
