"""digitd on the workstation: the training pipeline, one folder per model kind.

``common/`` holds what the kinds share (MNIST files, camera simulator, fonts, printed
digits, model definitions); ``digits/`` trains and evaluates the digit model, ``wheels/``
the meter-window model; ``commands`` is the face of ``digitd train`` and ``digitd
evaluate``. Training modules never import evaluation ones. TensorFlow is imported only by
the modules that train; reading data and evaluating a .tflite model need only the edge
extra.
"""
