"""Draws docs/synthetic_classes.png: one training and one test clip per class of the embedded
synthetic dataset, every third frame. Run from the repository root:

    python docs/make_synthetic_classes.py
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tsvan_tf.datasets import synthetic  # noqa: E402

FRAMES = range(0, 16, 3)


def main(path="docs/synthetic_classes.png"):
    source = synthetic.SyntheticSource(seed=0, image_size=64)
    class_names, planned = source.plan()
    first = {}
    for clip in planned:
        first.setdefault((clip.split, clip.label), clip)
    columns = 2 * len(FRAMES)
    figure, axes = plt.subplots(len(class_names), columns + 1,
                                figsize=(columns + 1.5, len(class_names)),
                                gridspec_kw={"width_ratios": [2.2] + [1] * columns})
    for label, name in enumerate(class_names):
        axes[label, 0].text(0, 0.5, name, va="center", fontsize=8)
        for index, split in enumerate(synthetic.SPLITS):
            frames = source.load(first[(split, label)])
            for column, frame in enumerate(FRAMES):
                axes[label, 1 + index * len(FRAMES) + column].imshow(frames[frame])
    for axis in axes.flat:
        axis.axis("off")
    frames_text = ",".join(str(f) for f in FRAMES)
    axes[0, 1].set_title(f"train clip (frames {frames_text})", fontsize=8, loc="left")
    axes[0, 1 + len(FRAMES)].set_title(f"test clip, unseen appearance (frames {frames_text})",
                                       fontsize=8, loc="left")
    figure.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.01, wspace=0.08,
                           hspace=0.08)
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
