"""pytest configuration shared by every test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

# absl flags are unparsed under pytest; reading one would raise UnparsedFlagAccessError.
# Tests override flags with absl.testing.flagsaver.
flags.FLAGS.mark_as_parsed()
