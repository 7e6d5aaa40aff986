"""Fine-tuning a zoo classifier into a multi-label (e.g. PASCAL VOC) classifier, and its VOC mAP.

::

    from gigjax import finetune as ft
    from gigjax.data import open_dataset

    backbone = gigjax.load_model("resnet50", weights="resnet50.pth")
    result = ft.finetune(backbone, open_dataset("VOCdevkit/VOC2012", "train"),
                         open_dataset("VOCdevkit/VOC2012", "val"),
                         ft.FinetuneConfig(epochs=10), checkpoint="voc_r50.ckpt", log=print)
    ft.write_weights("voc_r50.npz", result.model, val_map=result.val.map)

Modules: :mod:`~gigjax.finetune.train` (:func:`finetune`), :mod:`~gigjax.finetune.config` (its
settings and result), :mod:`~gigjax.finetune.loop` (steps, checkpoints, Ctrl-C),
:mod:`~gigjax.finetune.train_step` (the jitted step and head features),
:mod:`~gigjax.finetune.average_precision` (VOC AP/mAP of scores), :mod:`~gigjax.finetune.model_ap`
(a model's mAP on records, :func:`average_precision_of`), :mod:`~gigjax.finetune.backbone` (head
replacement, trainable layers, :func:`last_stage`), :mod:`~gigjax.finetune.labels` (records →
multi-label targets), :mod:`~gigjax.finetune.data` (records → crops/features),
:mod:`~gigjax.finetune.checkpoint` (atomic resumable checkpoints), :mod:`~gigjax.finetune.weights`
(the output ``.npz`` and its ``__gigjax_meta__``). The command line is ``gigjax finetune``.
"""

from gigjax.finetune.average_precision import average_precision, mean_average_precision
from gigjax.finetune.backbone import last_stage
from gigjax.finetune.config import FinetuneConfig, FinetuneResult
from gigjax.finetune.labels import label_targets
from gigjax.finetune.model_ap import APReport, average_precision_of
from gigjax.finetune.train import finetune
from gigjax.finetune.weights import META_KEY, load_finetuned, read_meta, write_weights

__all__ = ["APReport", "FinetuneConfig", "FinetuneResult", "META_KEY", "average_precision", "average_precision_of",
           "finetune", "label_targets", "last_stage", "load_finetuned", "mean_average_precision", "read_meta",
           "write_weights"]
