"""How fast the motion stream learns the label's motion on its own (the README's idealised test).

Loads a run's generator (its content autoencoder is kept frozen), then trains only the motion
encoder and decoder on one next-frame MSE, on the synthetic dataset, and reports how far the
predicted frame moves along each translation class's direction. This isolates the motion stream
from the rest of the objective (no discriminator, no content steps, no KL unless asked):

    python benchmarks/motion_learnability.py --model_dir=RUN                     # README's rows
    python benchmarks/motion_learnability.py --model_dir=RUN --nojoint           # TwoStreamVAN(-C)
    python benchmarks/motion_learnability.py --model_dir=RUN --code=zero --target=frame

`--code`: the motion code of the trained prediction: `prior` (N(0, I) noise, as in generation),
`zero` (the label and the real history only) or `posterior` (E_m's sample, which sees the real
difference; `--kl_weight` and `--prior_weight` then add the motion KL and the MSE of the prior-code
pass, as the trainer's `prediction_kl_weight` and `prediction_prior_reconstruction_weight` do, per
unit of the pixel loss). `--train_timestep=1` trains on frame 1 only (no history). `--target`:
`content_decoding` (G_c's decoding of frame t, free of the autoencoder's error) or `frame` (the
real frame t). `--nojoint` rebuilds the motion decoder without the joint product (its weights then
start fresh); `--trajectory_label_scale` overrides the run's factor on the label at the trajectory
FC (the weights are kept).

Prints, every `--report_every` steps: the prediction's MSE to the content decoding of frame 4,
that of copying the decoding of frame 3 (the baseline), and for `move_right`, `move_left`,
`move_up` and `move_down` the mean global shift (px per frame) of the prediction relative to the
decoding of frame 3, projected on the class's direction ("along"), with the trained code and with
the code at zero; and, as "no history", the shift of frame 1 predicted from frame 0 with a zero
code, where the ConvLSTM history is still its initial state: only there does the label alone
have to produce the motion, as it must when generation starts (at frame 4 the real history of
frames 0-3 already shows the motion).
"""

import argparse
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tsvan_tf import datasets
from tsvan_tf import losses
from tsvan_tf import trainer
from tsvan_tf.config import ModelConfig
from tsvan_tf.datasets.synthetic import TRANSLATION_DIRECTIONS
from tsvan_tf.models import TwoStreamVAN
from tsvan_tf.trained_model import build_generator
from tsvan_tf.trained_model import variables_trackable

EVAL_TIMESTEP = 4


def global_shift(before, after):
    """Least-squares global translation `(dx, dy)` taking image `before` to `after` (linearised,
    periodic gradients): solves `after - before = -(dx * d/dx + dy * d/dy) before`. Sub-pixel,
    unlike `metrics.global_motion.frame_shifts` (whole pixels), since the shifts here are ~0.1 px."""
    grad_x = (np.roll(before, -1, 1) - np.roll(before, 1, 1)) / 2
    grad_y = (np.roll(before, -1, 0) - np.roll(before, 1, 0)) / 2
    system = np.stack([grad_x.ravel(), grad_y.ravel()], 1)
    return -np.linalg.lstsq(system, (after - before).ravel(), rcond=None)[0]


def _load_generator(model_dir, checkpoint, nojoint, label_scale):
    with open(os.path.join(model_dir, trainer.CONFIG_FILE)) as f:
        config = ModelConfig.from_dict(json.load(f)["model"])
    if nojoint:
        config = config.replace(joint=False)
    if label_scale is not None:
        config = config.replace(trajectory_label_scale=label_scale)
    generator = TwoStreamVAN(config, name="generator")
    build_generator(generator, config)
    path = checkpoint or tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    if path is None:
        raise SystemExit(f"error: no checkpoint in {model_dir}/checkpoints")
    tf.train.Checkpoint(generator=variables_trackable(generator)).read(path).expect_partial()
    return generator, config, path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--checkpoint", default=None, help="a checkpoint path (default: latest)")
    parser.add_argument("--steps", type=int, default=640)
    parser.add_argument("--report_every", type=int, default=80)
    parser.add_argument("--code", choices=("prior", "zero", "posterior"), default="prior")
    parser.add_argument("--target", choices=("content_decoding", "frame"),
                        default="content_decoding")
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--frame_stride", type=int, default=None)
    parser.add_argument("--nojoint", action="store_true")
    parser.add_argument("--train_timestep", type=int, default=0,
                        help="train on this t only (1: no history); 0 draws t per step")
    parser.add_argument("--kl_weight", type=float, default=0.0,
                        help="with --code=posterior: the motion KL's weight per unit of MSE")
    parser.add_argument("--prior_weight", type=float, default=0.0,
                        help="with --code=posterior: the weight of the prior-code pass's MSE")
    parser.add_argument("--trajectory_label_scale", type=float, default=None,
                        help="override the run's factor on the label at the trajectory FC")
    parser.add_argument("--cache_dir", default=None)
    args = parser.parse_args()
    if args.code != "posterior" and (args.kl_weight or args.prior_weight):
        parser.error("--kl_weight and --prior_weight apply to --code=posterior only")

    generator, config, path = _load_generator(args.model_dir, args.checkpoint, args.nojoint,
                                              args.trajectory_label_scale)
    if args.train_timestep and not 1 <= args.train_timestep <= config.frames - 2:
        parser.error(f"--train_timestep must be 0 (random) or in [1, {config.frames - 2}] (the "
                     f"frames minus 2); received {args.train_timestep}")
    data_dir = trainer.prepare_synthetic(config, args.cache_dir)
    class_names = datasets.read_manifest(data_dir).class_names
    tracked = [(class_names.index(name), np.array(direction, float))
               for name, direction in TRANSLATION_DIRECTIONS.items()]

    def clips(batch_size, seed):
        return datasets.load_clips(data_dir, split="train", frames=config.frames,
                                   batch_size=batch_size, training=True,
                                   image_size=config.resolution, seed=seed,
                                   frame_stride=args.frame_stride)

    train_batches = iter(clips(args.batch_size, seed=5))
    probe = next(iter(clips(96, seed=11)))
    variables = generator.motion_decoder_variables + generator.motion_encoder_variables
    optimizer = keras.optimizers.Adam(args.learning_rate, beta_1=0.5)
    dim = config.motion_dim

    def forward(videos, labels, timestep, code, training):
        batch = tf.shape(videos)[0]
        noise = tf.random.normal((batch, dim)) if code == "posterior" else tf.zeros((batch, dim))
        prior = tf.zeros((batch, dim)) if code == "zero" else tf.random.normal((batch, dim))
        out = generator.prediction_forward(videos, labels, timestep, noise, prior,
                                           training=training)
        prediction = out["x_tilde"] if code == "posterior" else out["x_p"]
        mean, _ = generator.encode_content(out["previous"], labels)
        previous_decoding = generator.decode_content(mean, labels)[0]
        return prediction, out, previous_decoding

    @tf.function(jit_compile=True)
    def train_step(videos, labels, timestep):
        with tf.GradientTape() as tape:
            prediction, out, _ = forward(videos, labels, timestep, args.code, True)
            target = out["target_decoding"] if args.target == "content_decoding" \
                else out["target"]
            loss = tf.reduce_mean(tf.square(prediction - target))
            if args.code == "posterior":
                loss += args.prior_weight * tf.reduce_mean(tf.square(out["x_p"] - target)) \
                    + args.kl_weight * losses.kl_divergence(out["motion_mean"],
                                                            out["motion_log_var"])
        gradients = tape.gradient(loss, variables)
        # Without the posterior code, E_m's posterior head takes no part and gets no gradient.
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
        return loss

    @tf.function
    def evaluate(videos, labels):
        timestep = tf.constant(EVAL_TIMESTEP)
        prediction, out, previous_decoding = forward(videos, labels, timestep, args.code, False)
        zero_code = forward(videos, labels, timestep, "zero", False)[0]
        # Frame 1 from frame 0: the history is still its initial state, so only the label moves.
        first, _, first_previous = forward(videos, labels, tf.constant(1), "zero", False)
        return (prediction, zero_code, out["target_decoding"], previous_decoding, first,
                first_previous)

    def report(step, start):
        prediction, zero_code, target, previous, first, first_previous = (
            t.numpy() for t in evaluate(probe["video"], probe["label"]))
        labels = probe["label"].numpy()
        along = {}
        for name, before, after in (("trained code", previous, prediction),
                                    ("zero code", previous, zero_code),
                                    ("no history", first_previous, first)):
            means = [np.mean([global_shift(before[i], after[i]) @ direction
                              for i in np.flatnonzero(labels == k)])
                     for k, direction in tracked]
            along[name] = " / ".join(f"{m:+.2f}" for m in means)
        print(f"step {step:5d}  mse {np.mean((prediction - target) ** 2):.4f}  copy baseline "
              f"{np.mean((previous - target) ** 2):.4f}  along right/left/up/down: "
              + "  ".join(f"{k} {v}" for k, v in along.items())
              + f"  ({time.time() - start:.0f} s)", flush=True)

    print(f"checkpoint {path}; code={args.code} target={args.target} joint={config.joint} "
          f"lr={args.learning_rate} frame_stride={args.frame_stride} kl_weight={args.kl_weight} "
          f"prior_weight={args.prior_weight} train_timestep={args.train_timestep or 'random'} "
          f"trajectory_label_scale={config.trajectory_label_scale}",
          flush=True)
    start = time.time()
    report(0, start)
    rng = np.random.default_rng(0)
    for step in range(1, args.steps + 1):
        batch = next(train_batches)
        timestep = args.train_timestep or int(rng.integers(1, config.frames - 1))
        train_step(batch["video"], batch["label"], tf.constant(timestep))
        if step % args.report_every == 0 or step == args.steps:
            report(step, start)


if __name__ == "__main__":
    main()
