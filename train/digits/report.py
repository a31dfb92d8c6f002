"""Pictures for reports: training curves, confusion matrix, grid of misread digits.

Curves use matplotlib (the train extra); the evaluation pictures use OpenCV only,
so ``digitd evaluate`` works on a machine with just the edge extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt


def write_curves(history: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("loss", "val_loss"):
        if key in history:
            ax_loss.plot(range(1, len(history[key]) + 1), history[key], label=key)
    for key in ("accuracy", "val_accuracy"):
        if key in history:
            ax_acc.plot(range(1, len(history[key]) + 1), history[key], label=key)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_title("loss")
    ax_loss.legend()
    ax_acc.set_xlabel("epoch")
    ax_acc.set_title("accuracy (val = MNIST test)")
    ax_acc.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(
    labels: npt.NDArray[np.integer], predicted: npt.NDArray[np.integer], num_classes: int
) -> npt.NDArray[np.int64]:
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return cm


def draw_confusion(cm: npt.NDArray[np.int64], names: list[str], path: Path) -> None:
    """Rows: true class, columns: predicted class; counts written in the cells."""
    import cv2

    n = cm.shape[0]
    cell, margin = 44, 60
    img = np.full((margin + n * cell + 10, margin + n * cell + 10, 3), 255, np.uint8)
    row_sums = np.maximum(cm.sum(axis=1, keepdims=True), 1)
    frac = cm / row_sums
    for r in range(n):
        for c in range(n):
            shade = int(255 - 200 * frac[r, c]) if r != c else int(255 - 120 * frac[r, c])
            colour = (shade, shade, 255) if r != c and cm[r, c] else (shade, 255, shade)
            x0, y0 = margin + c * cell, margin + r * cell
            cv2.rectangle(img, (x0, y0), (x0 + cell - 1, y0 + cell - 1), colour, -1)
            cv2.rectangle(img, (x0, y0), (x0 + cell - 1, y0 + cell - 1), (200, 200, 200), 1)
            if cm[r, c]:
                text = str(int(cm[r, c]))
                cv2.putText(img, text, (x0 + 3, y0 + 27), cv2.FONT_HERSHEY_SIMPLEX, 0.38, 0, 1)
    for i, name in enumerate(names):
        short = "X" if not name.isdigit() else name
        cv2.putText(img, short, (margin + i * cell + 16, margin - 10), 0, 0.5, (0, 0, 0), 1)
        cv2.putText(img, short, (margin - 25, margin + i * cell + 28), 0, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "true \\ predicted (X = not a digit)", (5, 20), 0, 0.45, (0, 0, 0), 1)
    cv2.imwrite(str(path), img)


def draw_error_grid(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.integer],
    predicted: npt.NDArray[np.integer],
    path: Path,
    columns: int = 12,
    limit: int = 120,
) -> None:
    """Misread digits, each labelled ``true>predicted`` (X = not a digit)."""
    import cv2

    images, labels, predicted = images[:limit], labels[:limit], predicted[:limit]
    scale, pad = 3, 16
    tile_w, tile_h = 28 * scale, 28 * scale + pad
    rows = max(1, -(-len(images) // columns))
    img = np.full((rows * tile_h, columns * tile_w), 255, np.uint8)
    for i, (digit, true, pred) in enumerate(zip(images, labels, predicted, strict=True)):
        r, c = divmod(i, columns)
        big = cv2.resize(255 - digit, (28 * scale, 28 * scale), interpolation=cv2.INTER_NEAREST)
        img[r * tile_h + pad : (r + 1) * tile_h, c * tile_w : (c + 1) * tile_w] = big
        name = "X" if int(pred) >= 10 else str(int(pred))
        cv2.putText(img, f"{int(true)}>{name}", (c * tile_w + 4, r * tile_h + 12), 0, 0.4, 0, 1)
    cv2.imwrite(str(path), img)
