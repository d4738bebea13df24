"""Atomic file writes: write to a temporary file beside the target, then rename over it."""

import json
import os
import tempfile

TEMP_SUFFIX = ".partial"


def temp_path_for(path):
    """Returns a unique temporary path in the directory of `path` (same file system, so the
    final `os.replace` is atomic). The name ends with `TEMP_SUFFIX` so leftovers of a killed run
    can be recognised and removed."""
    directory, name = os.path.split(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=directory)
    os.close(fd)
    os.chmod(temp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
    return temp


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path, data):
    """Writes `data` as indented JSON to `path` atomically (readers see the old file or the new
    one, never a partial one)."""
    temp = temp_path_for(path)
    try:
        with open(temp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def remove_stale_temp_files(directory):
    """Deletes the temporary files a killed writer left in `directory`.

    Returns:
        The number of files removed.
    """
    removed = 0
    for name in os.listdir(directory):
        if name.startswith(".") and name.endswith(TEMP_SUFFIX):
            os.remove(os.path.join(directory, name))
            removed += 1
    return removed
