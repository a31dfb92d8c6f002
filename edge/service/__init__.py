"""The daemon: its loop, the decision when a reading is trustworthy, systemd notification, the
crops it collects.
"""
