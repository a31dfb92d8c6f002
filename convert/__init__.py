"""digitd conversion: Keras model -> full-int8 .tflite, model card, accuracy gate."""
