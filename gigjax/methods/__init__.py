"""Every explanation method; importing this package fills the registry."""

from gigjax.methods import gradcam  # noqa: F401
from gigjax.methods import cam  # noqa: F401
from gigjax.methods import gradcampp  # noqa: F401
from gigjax.methods import xgradcam  # noqa: F401
from gigjax.methods import layercam  # noqa: F401
from gigjax.methods import hirescam  # noqa: F401
from gigjax.methods import scorecam  # noqa: F401
from gigjax.methods import ablationcam  # noqa: F401
from gigjax.methods import guidance_cam  # noqa: F401
from gigjax.methods import fgcam  # noqa: F401
from gigjax.methods import integrated  # noqa: F401
from gigjax.methods import saliency  # noqa: F401
from gigjax.methods import eigencam  # noqa: F401
from gigjax.methods import blur_ig  # noqa: F401
from gigjax.methods import rise  # noqa: F401
from gigjax.methods import occlusion  # noqa: F401
from gigjax.methods import xrai  # noqa: F401
