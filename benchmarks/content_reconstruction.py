"""Which synthetic objects a run's content autoencoder loses, by colour.

Encodes frames of the embedded synthetic dataset with the run's E_c, decodes their posterior
means with G_c, and counts, per object colour, the frames whose reconstruction has lost the
object: fewer than `--empty_share` of its pixels coloured (saturation, max - min of RGB in
[0, 1], above `--saturation`), where the real frame has at least that share. Generation draws
frame 0 from such posteriors (`content_prior="aggregate_posterior"`) and re-encodes every
generated frame, so an object the autoencoder loses gives an empty video, whatever the label:

    python benchmarks/content_reconstruction.py --model_dir=RUN --cache_dir=CACHE

Prints the coloured share of real and reconstructed frames; the share of objects that keep their
colour when the reconstruction is re-encoded again and again (`--passes`), as generation does
from frame to frame; then per colour the number of frames, the share whose object is lost, and
the object's mean RGB, real and reconstructed.
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


def nearest_colours(frames, masks):
    """Per frame, the index in `COLOURS` nearest to the mean RGB of its masked pixels."""
    palette = np.asarray(COLOURS)
    means = np.stack([((frame[mask] + 1.0) / 2.0).mean(0) if mask.any() else np.full(3, np.nan)
                      for frame, mask in zip(frames, masks)])
    return np.argmin(((means[:, None] - palette[None]) ** 2).sum(-1), axis=1), means


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
    parser.add_argument("--passes", default="1,3,9",
                        help="re-encoding passes after which to report the colours kept")
    args = parser.parse_args()
    passes = sorted(int(p) for p in args.passes.split(","))

    run = load_trained_model(args.model_dir, step=args.step)
    config = run.model_config
    data_dir = trainer.prepare_synthetic(config, args.cache_dir)
    batch = next(iter(datasets.load_clips(
        data_dir, split=args.split, frames=2, batch_size=args.frames, training=False,
        image_size=config.resolution)))
    real = np.asarray(batch["video"][:, 0])
    labels = np.asarray(batch["label"], np.int32)

    def reencode(frames):
        mean, _ = run.generator.encode_content(frames, labels)
        return np.asarray(run.generator.decode_content(mean, labels)[0])

    real_mask = coloured(real, args.saturation)
    real_share = real_mask.mean((1, 2))
    has_object = real_share >= args.empty_share
    real_colour, real_rgb = nearest_colours(real, real_mask)
    decoded, kept = real, []
    for count in range(1, passes[-1] + 1):
        decoded = reencode(decoded)
        decoded_mask = coloured(decoded, args.saturation)
        decoded_share = decoded_mask.mean((1, 2))
        lost = has_object & (decoded_share < args.empty_share)
        if count == 1:
            first_lost, first_share = lost, decoded_share
            first_rgb = nearest_colours(decoded, real_mask)[1]
        if count in passes:
            colour = nearest_colours(decoded, decoded_mask)[0]
            same = (colour == real_colour) & ~lost
            kept.append(f"{count}: {same[has_object].mean():.2f}")
    print(f"step {run.step}, {len(real)} {args.split} frames: coloured share real "
          f"{real_share.mean():.3f}, reconstructed {first_share.mean():.3f}; objects lost "
          f"{first_lost.mean():.3f}")
    print(f"objects that keep their colour (nearest of the six) after re-encoding passes "
          f"{', '.join(kept)}")
    print(f"{'colour':18} {'frames':>6} {'lost':>6}  {'object RGB real':18} reconstructed")
    for index, name in enumerate(COLOURS):
        rows = has_object & (real_colour == index)
        if rows.any():
            print(f"{str(name):18} {rows.sum():6d} {first_lost[rows].mean():6.2f}  "
                  f"{np.array2string(real_rgb[rows].mean(0), precision=2):18} "
                  f"{np.array2string(first_rgb[rows].mean(0), precision=2)}")


if __name__ == "__main__":
    main()
