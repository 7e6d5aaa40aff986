"""The policy of ``gigjax/data/classmap.json``: how each VOC and COCO class maps to ImageNet-1k classes,
as a table of :class:`Rule` rows that :mod:`gigjax.data.tools.build_classmap` applies to WordNet 3.0.
A development-time module (not installed with gigjax).

The policy (the :data:`RULES` table below; it is also stored in the JSON and documented in
:mod:`gigjax.data.classmap`):

1. Each dataset class names the WordNet 3.0 noun sense(s) of the annotated object (``domestic_cat.n.01``,
   not ``cat.n.01`` which also holds cougar and lynx; ``mouse.n.04`` the device; ``kite.n.03`` the
   toy, so ImageNet's ``kite`` the bird never becomes a COCO kite). Its ImageNet classes are the
   ImageNet-1k synsets equal to, or hyponyms of, those senses.
2. A hyponym is excluded, with its reason, when it is not the annotated object (``wreck``, ``punching
   bag``, jugs) or when it belongs to another class of the same dataset (``minivan`` is a car, not a
   COCO truck; ``hotdog`` is COCO's hot dog, not a sandwich).
3. An ImageNet class filed elsewhere in WordNet is added, with its reason, when its images show the
   object (ImageNet's ``cup`` has the WordNet id of a punch "cup"; ``goblet`` is a wine glass; ``giant
   panda`` is a bear filed under procyonids in WordNet 3.0); a broader class (``street sign`` for stop
   sign) or a part (``toilet seat`` for toilet) only when nothing closer exists.
4. A class with no ImageNet counterpart is *unmapped*, with its reason, and reported as such. ``person``
   is unmapped on purpose: ImageNet's only person hyponyms are ``scuba diver``, ``groom`` and
   ``ballplayer``, roles recognised by gear and clothes; explaining them would explain a wet suit, a
   wedding suit or a uniform, not a person.
5. Within a dataset an ImageNet class belongs to at most one dataset class (checked here and tested).
"""

from __future__ import annotations

import dataclasses

from gigjax.data.coco import COCO_CLASSES
from gigjax.data.voc import VOC_CLASSES

VERSION = 1


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one dataset class maps to ImageNet (see the module docstring's policy).

    Attributes:
      synsets: WordNet senses (``"lemma.n.NN"``) whose ImageNet hyponyms are the class.
      add: ``(synset or wnid, reason)`` ImageNet classes added by hand.
      exclude: ``(synset or wnid, reason)`` hyponyms removed by hand.
      unmapped: the reason the class has no ImageNet counterpart (then nothing else is given).
    """

    synsets: tuple[str, ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    exclude: tuple[tuple[str, str], ...] = ()
    unmapped: str = ""


_NO_CLASS = "ImageNet-1k has no class for it"
_PERSON = ("ImageNet-1k's only hyponyms of person.n.01 are scuba diver, groom and ballplayer: roles "
           "recognised by gear and clothes, so explaining them explains a wet suit, a wedding suit or a "
           "uniform rather than a person")

# One rule per concept; VOC and COCO names point into this table (see DATASETS).
RULES: dict[str, Rule] = {
    "person": Rule(unmapped=_PERSON),
    "aeroplane": Rule(("airplane.n.01", "warplane.n.01")),
    "bicycle": Rule(("bicycle.n.01",)),
    "bird": Rule(("bird.n.01",)),
    "boat": Rule(("vessel.n.02",), exclude=(
        ("wreck.n.04", "an underwater shipwreck, not a boat on the water"),)),
    "bottle": Rule(("bottle.n.01",), exclude=(
        ("water_jug.n.01", "a jug (wide body, handle), filed under bottle by WordNet"),
        ("whiskey_jug.n.01", "a stoneware jug, filed under bottle by WordNet"))),
    "bus": Rule(("bus.n.01",)),
    "car": Rule(("car.n.01",)),
    "cat": Rule(("domestic_cat.n.01",)),
    "chair": Rule(("chair.n.01",)),
    "cow": Rule(("cattle.n.01",)),
    "diningtable": Rule(("dining_table.n.01",)),
    "dog": Rule(("dog.n.01",)),
    "horse": Rule(("horse.n.01",)),
    "motorbike": Rule(("motorcycle.n.01",), add=(
        ("motor_scooter.n.01", "a motor scooter is a motorbike in VOC and COCO annotation; WordNet files "
                               "it beside the motorcycle, not under it"),)),
    "pottedplant": Rule(add=(
        ("flowerpot.n.01", "ImageNet's 'pot, flowerpot': a container with a plant in it; WordNet's "
                           "pot_plant.n.01 has no ImageNet hyponym"),)),
    "sheep": Rule(("sheep.n.01",)),
    "sofa": Rule(("sofa.n.01",)),
    "train": Rule(("train.n.01", "locomotive.n.01", "car.n.02")),
    "tvmonitor": Rule(add=(
        ("television.n.02", "ImageNet's 'television' (WordNet id of the television system) shows TV sets"),
        ("monitor.n.05", "ImageNet's 'monitor' shows computer monitors"),
        ("screen.n.03", "ImageNet's 'screen, CRT screen' shows screens"))),
    # COCO only
    "truck": Rule(("truck.n.01",), exclude=(
        ("minivan.n.01", "a car: WordNet files it under car and truck, and minivans are COCO cars"),)),
    "traffic light": Rule(("traffic_light.n.01",)),
    "fire hydrant": Rule(unmapped=_NO_CLASS),
    "stop sign": Rule(add=(
        ("street_sign.n.01", "broader: ImageNet has street signs (stop signs among them) but no stop sign"),)),
    "parking meter": Rule(("parking_meter.n.01",)),
    "bench": Rule(("bench.n.01",)),
    "elephant": Rule(("elephant.n.01",), add=(
        ("tusker.n.01", "ImageNet's 'tusker' images are elephants"),)),
    "bear": Rule(("bear.n.01",), add=(
        ("giant_panda.n.01", "the giant panda is a bear (Ursidae); WordNet 3.0 files it under procyonids"),)),
    "zebra": Rule(("zebra.n.01",)),
    "giraffe": Rule(unmapped=_NO_CLASS),
    "backpack": Rule(("backpack.n.01",)),
    "umbrella": Rule(("umbrella.n.01",)),
    "handbag": Rule(add=(
        ("purse.n.03", "ImageNet's 'purse' (a small bag); WordNet's handbag sense has no ImageNet hyponym"),)),
    "tie": Rule(("necktie.n.01",)),
    "suitcase": Rule(unmapped=_NO_CLASS),
    "frisbee": Rule(unmapped=_NO_CLASS),
    "skis": Rule(("ski.n.01",)),
    "snowboard": Rule(unmapped=_NO_CLASS),
    "sports ball": Rule(("ball.n.01",), exclude=(
        ("punching_bag.n.02", "a punching bag, filed under ball by WordNet; not a sports ball"),)),
    "kite": Rule(unmapped=_NO_CLASS + " (ImageNet's 'kite' is the bird of prey)"),
    "baseball bat": Rule(unmapped=_NO_CLASS),
    "baseball glove": Rule(unmapped=_NO_CLASS),
    "skateboard": Rule(unmapped=_NO_CLASS),
    "surfboard": Rule(unmapped=_NO_CLASS),
    "tennis racket": Rule(add=(
        ("racket.n.04", "broader: ImageNet's 'racket' (tennis rackets among them)"),)),
    "wine glass": Rule(add=(
        ("goblet.n.01", "a drinking glass with a base and stem: a wine glass"),)),
    "cup": Rule(("mug.n.04",), add=(
        ("cup.n.06", "ImageNet's 'cup' carries the WordNet id of a punch 'cup' but shows cups"),)),
    "fork": Rule(unmapped=_NO_CLASS),
    "knife": Rule(("knife.n.01",)),
    "spoon": Rule(("spoon.n.01",)),
    "bowl": Rule(("bowl.n.03",)),
    "banana": Rule(("banana.n.02",)),
    "apple": Rule(("apple.n.01",)),
    "sandwich": Rule(("sandwich.n.01",), exclude=(
        ("hotdog.n.02", "COCO's own class 'hot dog'"),)),
    "orange": Rule(("orange.n.01",)),
    "broccoli": Rule(("broccoli.n.02",)),
    "carrot": Rule(unmapped=_NO_CLASS),
    "hot dog": Rule(("hotdog.n.02",)),
    "pizza": Rule(("pizza.n.01",)),
    "donut": Rule(unmapped=_NO_CLASS + " (bagel is a bread roll)"),
    "cake": Rule(unmapped=_NO_CLASS),
    "bed": Rule(("bed.n.01",)),
    "toilet": Rule(add=(
        ("toilet_seat.n.01", "a part: ImageNet's 'toilet seat' images show toilets; there is no toilet class"),)),
    "laptop": Rule(("laptop.n.01", "notebook.n.02")),
    "mouse": Rule(("mouse.n.04",)),
    "remote": Rule(("remote_control.n.01",)),
    "keyboard": Rule(("computer_keyboard.n.01",)),
    "cell phone": Rule(("cellular_telephone.n.01",)),
    "microwave": Rule(("microwave.n.02",)),
    "oven": Rule(add=(
        ("stove.n.02", "ImageNet's 'stove' shows kitchen ranges, which hold the oven; the hyponyms of oven.n.01 "
                       "(Dutch oven, rotisserie) are a fireside box and a spit broiler, not kitchen ovens"),)),
    "toaster": Rule(("toaster.n.02",)),
    "sink": Rule(add=(
        ("washbasin.n.02", "ImageNet's 'washbasin' is a sink; WordNet's sink.n.01 has no ImageNet hyponym"),)),
    "refrigerator": Rule(("refrigerator.n.01",)),
    "book": Rule(add=(
        ("book_jacket.n.01", "ImageNet's 'book jacket' images show books"),
        ("comic_book.n.01", "a comic book is a book in COCO annotation (WordNet: a magazine)"))),
    "clock": Rule(("clock.n.01",)),
    "vase": Rule(("vase.n.01",)),
    "scissors": Rule(unmapped=_NO_CLASS),
    "teddy bear": Rule(("teddy.n.01",)),
    "hair drier": Rule(("hand_blower.n.01",)),
    "toothbrush": Rule(unmapped=_NO_CLASS),
}

# The class lists are the readers' (gigjax.data.voc / gigjax.data.coco), in the datasets' standard order.
# COCO names that reuse a VOC concept's rule.
COCO_ALIASES = {"motorcycle": "motorbike", "airplane": "aeroplane", "couch": "sofa",
                "potted plant": "pottedplant", "dining table": "diningtable", "tv": "tvmonitor"}
DATASETS = {"voc": (VOC_CLASSES, {}), "coco": (COCO_CLASSES, COCO_ALIASES)}

POLICY = (
    "Each class names the WordNet 3.0 noun sense(s) of the annotated object; its ImageNet-1k classes are "
    "those senses and their hyponyms, minus hand exclusions (not the object, or another class of the same "
    "dataset) plus hand additions (ImageNet classes filed elsewhere in WordNet whose images show the "
    "object; a broader class or a part only when nothing closer exists), each with its reason. Classes "
    "with no ImageNet counterpart are unmapped, with their reason. Within a dataset an ImageNet class "
    "belongs to at most one class. The target score of a class is the log-sum-exp of its classes' logits.")
