"""digitd on the workstation: MNIST data, model definitions, training, evaluation.

TensorFlow is imported only by the modules that train; reading data and
evaluating a .tflite model need only the edge extra.
"""
