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

The policy it applies is the table of :mod:`gigjax.data.tools.classmap_policy`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from gigjax.data.tools.classmap_policy import DATASETS, POLICY, RULES, VERSION, Rule
from gigjax.data.tools.wordnet import DEFAULT_DIR, WordNet
from gigjax.errors import GigjaxError
from gigjax.files import atomic_write


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
