"""The shipped int8 digit model and its card (package data: digits.tflite, digits.card.json)."""
