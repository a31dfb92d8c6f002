"""The digit model (handwriting, auto mode): its augmentation, pens and negatives, training,
and its evaluation on MNIST, printed and meter digits and real sudoku photos."""
