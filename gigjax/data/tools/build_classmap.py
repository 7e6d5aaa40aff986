"""Builds ``gigjax/data/classmap.json`` and ``gigjax/data/imagenet_wnids.txt`` (run once; both committed).

A development-time tool (not installed with gigjax; run it from a source checkout).

Command (from the repository root; WordNet 3.0 from Debian ``wordnet-base``, the ImageNet-1k WordNet
ids from the ``tensorflow-datasets`` 4.9.10 wheel, read with ``unzip``, nothing imported from it)::

    apt-get install wordnet-base                      # /usr/share/wordnet/{data,index}.noun
    pip download --no-deps tensorflow-datasets==4.9.10 -d /tmp/tfds
    unzip -o /tmp/tfds/tensorflow_datasets-4.9.10-py3-none-any.whl \\
        tensorflow_datasets/datasets/imagenet2012/labels.txt -d /tmp/tfds
    python -m gigjax.data.tools.build_classmap \\
        --imagenet-wnids /tmp/tfds/tensorflow_datasets/datasets/imagenet2012/labels.txt

Without ``--imagenet-wnids`` the committed ``imagenet_wnids.txt`` is used (to rebuild the map after a
policy edit); ``--check`` rebuilds in memory and exits 1 when the committed files differ.

Checks made on the way: the 1000 WordNet ids are unique and sorted (torchvision's class order), and
for every index one of the synset's WordNet lemmas agrees with ``gigjax.models.imagenet_class_names()``
at that index (so the two lists cannot be shifted against each other).

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

import argparse
import dataclasses
import json
import os
import sys

from gigjax.data.coco import COCO_CLASSES
from gigjax.data.voc import VOC_CLASSES
from gigjax.data.tools.wordnet import DEFAULT_DIR, WordNet
from gigjax.errors import GigjaxError
from gigjax.files import atomic_write

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


def read_wnids(path: str) -> tuple[str, ...]:
    """A file of 1000 WordNet ids, one a line → the tuple; checks they are unique and sorted."""
    with open(path, encoding="utf-8") as f:
        wnids = tuple(line.strip() for line in f if line.strip())
    if len(wnids) != 1000 or len(set(wnids)) != 1000:
        raise GigjaxError(f"{path}: expected 1000 distinct WordNet ids, got {len(wnids)} ({len(set(wnids))} distinct)")
    if list(wnids) != sorted(wnids):
        raise GigjaxError(f"{path}: the WordNet ids are not in sorted (torchvision) order")
    return wnids


def check_names(wordnet: WordNet, wnids, names) -> None:
    """Every ImageNet index: one of its synset's lemmas agrees with the class name at that index."""
    bad = []
    for i, (wnid, name) in enumerate(zip(wnids, names)):
        lemmas = [lemma.lower() for lemma in wordnet.synset(wnid).lemmas]
        if not any(lemma in name.lower() or name.lower() in lemma for lemma in lemmas):
            bad.append(f"{i} {wnid} {name!r} vs {lemmas[:3]}")
    if bad:
        raise GigjaxError(f"ImageNet WordNet ids disagree with gigjax's class names at {len(bad)} indices, "
                          f"e.g. {'; '.join(bad[:3])}")


def _entry(wordnet: WordNet, index_of: dict, names, wnid: str, **extra) -> dict:
    i = index_of[wnid]
    return {"index": i, "wnid": wnid, "name": names[i], **extra}


def map_class(wordnet: WordNet, rule: Rule, index_of: dict, names) -> dict:
    """One class's JSON record: ``imagenet`` (sorted by index, each with ``via``), ``excluded``,
    ``synsets``; or ``unmapped`` with its reason."""
    if rule.unmapped:
        return {"synsets": [], "imagenet": [], "excluded": [], "unmapped": rule.unmapped}
    found: dict[str, str] = {}
    for sense in rule.synsets:
        hits = [w for w in wordnet.hyponym_closure(sense) if w in index_of]
        if not hits:
            raise GigjaxError(f"rule synset {sense} has no ImageNet hyponym: list it as an addition or drop it")
        root = wordnet.synset(sense).wnid
        for wnid in hits:
            found.setdefault(wnid, f"= {sense}" if wnid == root else f"hyponym of {sense}")
    excluded = []
    for sense, reason in rule.exclude:
        wnid = wordnet.synset(sense).wnid
        if found.pop(wnid, None) is None:
            raise GigjaxError(f"excluded {sense} is not among the class's hyponyms (stale rule)")
        excluded.append(_entry(wordnet, index_of, names, wnid, reason=reason))
    for sense, reason in rule.add:
        wnid = wordnet.synset(sense).wnid
        if wnid not in index_of or wnid in found:
            raise GigjaxError(f"added {sense} is {'already mapped' if wnid in found else 'not an ImageNet class'}")
        found[wnid] = f"added: {reason}"
    imagenet = sorted((_entry(wordnet, index_of, names, w, via=via) for w, via in found.items()),
                      key=lambda e: e["index"])
    return {"synsets": [f"{s} {wordnet.synset(s).wnid}" for s in rule.synsets], "imagenet": imagenet,
            "excluded": sorted(excluded, key=lambda e: e["index"])}


def build(wordnet: WordNet, wnids, names) -> dict:
    """The whole class map as a JSON-ready dict."""
    check_names(wordnet, wnids, names)
    index_of = {w: i for i, w in enumerate(wnids)}
    out = {"version": VERSION, "policy": POLICY,
           "sources": {"wordnet": "WordNet 3.0 (Princeton), Debian package wordnet-base",
                       "imagenet": "ImageNet-1k WordNet ids in sorted order (tensorflow-datasets 4.9.10, "
                                   "datasets/imagenet2012/labels.txt) = gigjax.models.imagenet_class_names()",
                       "generator": "python -m gigjax.data.tools.build_classmap"},
           "datasets": {}}
    for dataset, (classes, aliases) in DATASETS.items():
        records, owner = [], {}
        for name in classes:
            record = {"name": name, **map_class(wordnet, RULES[aliases.get(name, name)], index_of, names)}
            for e in record["imagenet"]:
                if e["index"] in owner:
                    raise GigjaxError(f"{dataset}: ImageNet class {e['name']} is mapped to both "
                                      f"{owner[e['index']]} and {name}")
                owner[e["index"]] = name
            records.append(record)
        out["datasets"][dataset] = {"classes": records,
                                    "unmapped": [r["name"] for r in records if "unmapped" in r]}
    return out


def dumps(value, indent: str = "") -> str:
    """Stable JSON text with every flat object or list on one line (one ImageNet entry per line), so
    the committed file stays small and its diffs readable."""
    inner = indent + " "
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) and v for v in value.values()):
        body = ",\n".join(f"{inner}{json.dumps(k)}: {dumps(v, inner).lstrip()}" for k, v in value.items())
        text = "{\n" + body + "\n" + indent + "}"
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        text = "[\n" + ",\n".join(dumps(v, inner) for v in value) + "\n" + indent + "]"
    else:
        text = json.dumps(value, ensure_ascii=False)
    text = indent + text
    return text + "\n" if indent == "" else text


def _package_file(name: str) -> str:
    """A file of :mod:`gigjax.data`, the folder above this tool's."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gigjax.data.tools.build_classmap", description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", default=DEFAULT_DIR, help="folder with WordNet 3.0 data.noun/index.noun")
    parser.add_argument("--imagenet-wnids", default=None,
                        help="1000 ImageNet WordNet ids, one a line (default: the committed imagenet_wnids.txt)")
    parser.add_argument("--out", default=os.path.dirname(_package_file("classmap.json")),
                        help="folder to write classmap.json and imagenet_wnids.txt into (default: the package)")
    parser.add_argument("--check", action="store_true", help="rebuild in memory; exit 1 if the committed files differ")
    args = parser.parse_args(argv)
    from gigjax.models import imagenet_class_names

    wnids = read_wnids(args.imagenet_wnids or _package_file("imagenet_wnids.txt"))
    text = dumps(build(WordNet(args.wordnet), wnids, imagenet_class_names()))
    wnid_text = "\n".join(wnids) + "\n"
    targets = {os.path.join(args.out, "classmap.json"): text, os.path.join(args.out, "imagenet_wnids.txt"): wnid_text}
    if args.check:
        stale = [p for p, t in targets.items() if not os.path.isfile(p) or open(p, encoding="utf-8").read() != t]
        for p in stale:
            print(f"{p} is out of date: rerun python -m gigjax.data.tools.build_classmap", file=sys.stderr)
        return 1 if stale else 0
    for path, content in targets.items():
        with atomic_write(path) as f:
            f.write(content)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
