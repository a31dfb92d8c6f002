"""What the camera sees to digits: image handling, locating, normalising, the models and the
reader; and the decision (pure logic) whether a reading is good enough to publish.
"""
