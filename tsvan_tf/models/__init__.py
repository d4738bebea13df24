"""TwoStreamVAN's models: the streams, the discriminators and the composed generators."""

from tsvan_tf.models.content_encoder import ContentEncoder
from tsvan_tf.models.content_generator import ContentGenerator
from tsvan_tf.models.image_discriminator import ImageDiscriminator
from tsvan_tf.models.motion_encoder import MotionEncoder
from tsvan_tf.models.motion_generator import MotionGenerator
from tsvan_tf.models.single_stream_van import SingleStreamVAN
from tsvan_tf.models.two_stream_van import TwoStreamVAN
from tsvan_tf.models.video_discriminator import VideoDiscriminator

__all__ = [
    "ContentEncoder",
    "ContentGenerator",
    "ImageDiscriminator",
    "MotionEncoder",
    "MotionGenerator",
    "SingleStreamVAN",
    "TwoStreamVAN",
    "VideoDiscriminator",
]
