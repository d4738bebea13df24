"""`ClipSkipped`: raised by a source for a clip it cannot use."""


class ClipSkipped(Exception):
    """A source file that cannot be turned into a clip (corrupt, empty, too short, unknown type).

    `prepare_dataset` catches it, prints a one-line warning, lists the file with `reason` in the
    manifest and goes on.

    Args:
        reason: a short human-readable reason, e.g. `"empty file (0 bytes)"`.
    """

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason
