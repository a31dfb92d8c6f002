"""``digitd install-service``: the systemd installer (standard library only)."""
