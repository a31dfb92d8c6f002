"""What the camera sees to digits: image handling, locating, normalising, the models and the
reader.
"""
