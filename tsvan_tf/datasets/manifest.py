"""`manifest.json`: what a prepared dataset folder holds (read by the trainer and `load_clips`)."""

import dataclasses
import json
import os
import types

from tsvan_tf.datasets import _atomic

MANIFEST_FILENAME = "manifest.json"
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Manifest:
    """The description of a prepared dataset (the `manifest.json` beside its shards).

    Everything dataset-specific that the reader needs (class order, per-class frame stride, crop)
    lives here, so the trainer needs no code per dataset.

    Args:
        source: name of the dataset source that prepared the folder (`"synthetic"`, ...).
        class_names: class names; a clip's label is the index into this tuple.
        height: frame height in pixels, the same for every clip.
        width: frame width in pixels.
        image_format: how frames are encoded in the shards, `"png"` or `"jpeg"`.
        splits: `{split: {"num_clips": int, "shards": [file names], "clips_per_class": [int],
            "min_frames_per_class": [int or None]}}`.
        frame_strides: per class, the step between the sampled frames of a window (the
            original's `every_nth`; 1 for most datasets).
        crop_size: `(height, width)` of the crop taken before resizing (random offset for
            training, centred for evaluation), or None for no crop.
        crop_max_offset: `(top, left)`, the largest random crop offset when training, or None
            for the whole margin (stored size minus crop size).
        crop_eval_offset: `(top, left)`, the crop offset for evaluation, or None for centred.
        skipped: `({"path": ..., "reason": ...}, ...)`, every source file left out and why.
        actor_names: names of the records' `actor` indices (actors, subjects, characters), or
            empty when the dataset has none.
        options: the resolved preparation options (seed, sizes, source folder, ...).
        fingerprint: a hash of `source` and `options`; a re-run with other options is refused.
        format_version: version of the record format (`FORMAT_VERSION` when written).
        data_dir: the folder the manifest was read from (not stored in the file).
    """

    source: str
    class_names: tuple
    height: int
    width: int
    image_format: str
    splits: types.MappingProxyType
    frame_strides: tuple
    crop_size: tuple = None
    crop_max_offset: tuple = None
    crop_eval_offset: tuple = None
    skipped: tuple = ()
    actor_names: tuple = ()
    options: types.MappingProxyType = dataclasses.field(default_factory=dict)
    fingerprint: str = ""
    format_version: int = FORMAT_VERSION
    data_dir: str = dataclasses.field(default=None, compare=False)

    @property
    def num_classes(self):
        """The number of classes."""
        return len(self.class_names)

    @property
    def resolution(self):
        """`(height, width)` of the stored frames."""
        return (self.height, self.width)

    def num_clips(self, split):
        """Returns the number of clips in `split` (0 for a split the dataset does not have)."""
        return self.splits.get(split, {}).get("num_clips", 0)

    def shard_paths(self, split):
        """Returns the absolute shard paths of `split` (requires `data_dir`)."""
        shards = self.splits.get(split, {}).get("shards", [])
        return [os.path.join(self.data_dir, name) for name in shards]

    def to_json_dict(self):
        """Returns the manifest as a JSON-serialisable dict (without `data_dir`)."""
        return {
            "format_version": self.format_version,
            "source": self.source,
            "class_names": list(self.class_names),
            "height": self.height,
            "width": self.width,
            "image_format": self.image_format,
            "frame_strides": list(self.frame_strides),
            "crop_size": list(self.crop_size) if self.crop_size else None,
            "crop_max_offset": list(self.crop_max_offset) if self.crop_max_offset else None,
            "crop_eval_offset": list(self.crop_eval_offset) if self.crop_eval_offset else None,
            "splits": {name: dict(info) for name, info in self.splits.items()},
            "skipped": [dict(s) for s in self.skipped],
            "actor_names": list(self.actor_names),
            "options": dict(self.options),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json_dict(cls, data, data_dir=None):
        """Builds a manifest from `to_json_dict()` output.

        Args:
            data: the parsed `manifest.json`.
            data_dir: the folder it was read from.

        Returns:
            A `Manifest`.
        """
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{data_dir or 'the manifest'} has record format version {version}; this version "
                f"of tsvan_tf reads version {FORMAT_VERSION}. Prepare the dataset again."
            )
        crop = data.get("crop_size")
        return cls(
            source=data["source"],
            class_names=tuple(data["class_names"]),
            height=int(data["height"]),
            width=int(data["width"]),
            image_format=data["image_format"],
            splits=types.MappingProxyType(dict(data["splits"])),
            frame_strides=tuple(int(s) for s in data["frame_strides"]),
            crop_size=tuple(crop) if crop else None,
            crop_max_offset=_optional_pair(data.get("crop_max_offset")),
            crop_eval_offset=_optional_pair(data.get("crop_eval_offset")),
            skipped=tuple(types.MappingProxyType(s) for s in data.get("skipped", [])),
            actor_names=tuple(data.get("actor_names", ())),
            options=types.MappingProxyType(dict(data.get("options", {}))),
            fingerprint=data.get("fingerprint", ""),
            format_version=version,
            data_dir=data_dir,
        )

    def write(self, data_dir):
        """Writes `manifest.json` into `data_dir` atomically."""
        _atomic.write_json_atomic(os.path.join(data_dir, MANIFEST_FILENAME), self.to_json_dict())


def _optional_pair(value):
    return tuple(int(v) for v in value) if value else None


def read_manifest(data_dir):
    """Reads the manifest of a prepared dataset.

    Args:
        data_dir: a folder written by `prepare_dataset` / `python -m tsvan_tf.datasets.prepare`.

    Returns:
        A frozen `Manifest` (class names, `num_classes`, `resolution`, splits, ...).

    Raises:
        ValueError: if `data_dir` holds no `manifest.json` (not prepared, or preparation did
            not finish).
    """
    path = os.path.join(data_dir, MANIFEST_FILENAME)
    if not os.path.isfile(path):
        found = sorted(os.listdir(data_dir))[:5] if os.path.isdir(data_dir) else None
        what = "does not exist" if found is None else f"holds {found or 'nothing'}"
        raise ValueError(
            f"No {MANIFEST_FILENAME} in data_dir={data_dir!r} (it {what}). Expected a folder "
            "written by `python -m tsvan_tf.datasets.prepare --dataset=NAME --output=DIR`; if a "
            "preparation was interrupted, re-run the same command to finish it."
        )
    with open(path, encoding="utf-8") as f:
        return Manifest.from_json_dict(json.load(f), data_dir=data_dir)
