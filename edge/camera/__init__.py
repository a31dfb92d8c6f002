"""Frames in: cameras, streams, video files and picture folders, and the reconnecting stream
the daemon reads.
"""
