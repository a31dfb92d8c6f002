"""The daemon: its loop (which asks vision's decider whether a reading is trustworthy),
systemd notification, the crops it collects.
"""
