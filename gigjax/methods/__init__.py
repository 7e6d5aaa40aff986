"""Every explanation method; importing this package fills the registry."""

from gigjax.methods import gradcam  # noqa: F401
from gigjax.methods import integrated  # noqa: F401
