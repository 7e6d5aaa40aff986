"""The dataset interface every reader implements: a sized, indexable sequence of :class:`Record`."""

from __future__ import annotations

import abc

from gigjax.data.records import Record


class Dataset(abc.ABC):
    """An annotated image collection.

    Attributes:
      name: what was opened (a TFDS name with its split, a folder or a JSON path); stored with
        evaluation results so a resumed run can check it reads the same data.
      family: ``"voc"``, ``"coco"``, ``"imagenet"`` or ``"custom"`` — which class map applies when an
        ImageNet classifier explains the dataset's classes.
      class_names: the dataset's classes; record labels index them.
    """

    name: str
    family: str
    class_names: tuple[str, ...]

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of images."""

    @abc.abstractmethod
    def __getitem__(self, index: int) -> Record:
        """Reads image ``index`` (0 ≤ index < len) with its annotations."""

    def image_id(self, index: int) -> str:
        """The :attr:`Record.image_id` of image ``index`` (readers override this to skip the pixels)."""
        return self[index].image_id

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} images, {len(self.class_names)} classes)"
