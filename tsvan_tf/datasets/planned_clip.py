"""`PlannedClip`: one clip a source promises to produce, decided before any decoding."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class PlannedClip:
    """A unit of preparation work: which clip, which split, which class.

    Args:
        split: `"train"` or `"test"` (any split name a source defines).
        label: class index.
        source_id: a name unique within the dataset (a path relative to the source folder, or
            a generator key); it is stored in the record and in the skip list.
        actor: optional content identity (actor, subject, appearance id), -1 if unknown.
        payload: anything picklable the source needs to load the clip (a path, a seed, ...).
    """

    split: str
    label: int
    source_id: str
    actor: int = -1
    payload: object = None
