"""Which synthetic objects a run's content autoencoder loses, by colour.

Encodes frames of the embedded synthetic dataset with the run's E_c, decodes their posterior
means with G_c, and counts, per object colour, the frames whose reconstruction has lost the
object: fewer than `--empty_share` of its pixels coloured (saturation, max - min of RGB in
[0, 1], above `--saturation`), where the real frame has at least that share. Generation draws
frame 0 from such posteriors (`content_prior="aggregate_posterior"`) and re-encodes every
generated frame, so an object the autoencoder loses gives an empty video, whatever the label:

    python benchmarks/content_reconstruction.py --model_dir=RUN --cache_dir=CACHE

Prints the coloured share of real and reconstructed frames, then per colour the number of
frames, the share whose object is lost, and the object's mean RGB, real and reconstructed.
"""

import argparse

import numpy as np

from tsvan_tf import datasets
from tsvan_tf import trainer
from tsvan_tf.datasets.synthetic import COLOURS
from tsvan_tf.datasets.synthetic import SPLITS
from tsvan_tf.trained_model import load_trained_model


def coloured(frames, saturation):
    """Boolean `(..., height, width)`: pixels of `frames` (in [-1, 1]) above `saturation`."""
    rgb = (frames + 1.0) / 2.0
    return rgb.max(-1) - rgb.min(-1) > saturation


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--step", type=int, default=None, help="checkpoint step (latest)")
    parser.add_argument("--cache_dir", default=None,
                        help="where the synthetic dataset is prepared (default: the user cache)")
    parser.add_argument("--split", default="train", choices=SPLITS)
    parser.add_argument("--frames", type=int, default=512, help="frames to reconstruct")
    parser.add_argument("--saturation", type=float, default=0.35)
    parser.add_argument("--empty_share", type=float, default=0.02)
    args = parser.parse_args()

    run = load_trained_model(args.model_dir, step=args.step)
    config = run.model_config
    data_dir = trainer.prepare_synthetic(config, args.cache_dir)
    batch = next(iter(datasets.load_clips(
        data_dir, split=args.split, frames=2, batch_size=args.frames, training=False,
        image_size=config.resolution)))
    real = np.asarray(batch["video"][:, 0])
    labels = np.asarray(batch["label"], np.int32)
    mean, _ = run.generator.encode_content(real, labels)
    decoded = np.asarray(run.generator.decode_content(mean, labels)[0])
    real_mask, decoded_mask = coloured(real, args.saturation), coloured(decoded, args.saturation)
    real_share, decoded_share = real_mask.mean((1, 2)), decoded_mask.mean((1, 2))
    print(f"step {run.step}, {len(real)} {args.split} frames: coloured share real "
          f"{real_share.mean():.3f}, reconstructed {decoded_share.mean():.3f}; objects lost "
          f"{np.mean((decoded_share < args.empty_share) & (real_share >= args.empty_share)):.3f}")
    colours = np.asarray(COLOURS)
    rows = {}
    for index in np.flatnonzero(real_share >= args.empty_share):
        mask = real_mask[index]
        object_rgb = (real[index][mask] + 1.0) / 2.0
        nearest = int(np.argmin(((colours - object_rgb.mean(0)) ** 2).sum(1)))
        rows.setdefault(nearest, []).append((decoded_share[index] < args.empty_share,
                                             object_rgb.mean(0),
                                             (decoded[index][mask] + 1.0).mean(0) / 2.0))
    print(f"{'colour':18} {'frames':>6} {'lost':>6}  {'object RGB real':18} reconstructed")
    for nearest in sorted(rows):
        lost, real_rgb, decoded_rgb = (np.asarray(v) for v in zip(*rows[nearest]))
        print(f"{str(COLOURS[nearest]):18} {len(lost):6d} {lost.mean():6.2f}  "
              f"{np.array2string(real_rgb.mean(0), precision=2):18} "
              f"{np.array2string(decoded_rgb.mean(0), precision=2)}")


if __name__ == "__main__":
    main()
