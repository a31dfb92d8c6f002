"""What every model kind's training shares: the MNIST IDX files (and their download), the
28x28 digit sets, the camera simulator, fonts and the meter faces drawn with them, printed
digits, generated meter photos and scenes, the model definitions, seeded parallel chunks and
a quiet TensorFlow import."""
