"""One-shot commands for people and scripts: recognize, snapshot."""
