"""Readings out: the wire contract, the publisher with its on-disk outbox, Home Assistant
discovery, commands, credentials, the embedded broker.
"""
