"""A minimal reader of the WordNet 3.0 noun database (``index.noun`` + ``data.noun``).

Used only by :mod:`gigjax.data.tools.build_classmap` when the class map is (re)generated; nothing at run
time needs WordNet. The files come with Debian's ``wordnet-base`` package (``/usr/share/wordnet``)
or Princeton's ``WordNet-3.0/dict`` folder. ImageNet's WordNet ids are ``"n" + the 8-digit synset
offset`` of WordNet 3.0, so an id here is that string (e.g. ``"n02958343"`` = car.n.01).

Format (``wndb(5WN)``): a ``data.noun`` line is ``offset lex_filenum ss_type w_cnt word lex_id …
p_cnt [pointer_symbol offset pos source/target] … | gloss``; ``~`` and ``~i`` are (instance)
hyponym pointers. An ``index.noun`` line is ``lemma pos synset_cnt p_cnt [ptr_symbol …] sense_cnt
tagsense_cnt offset …`` with offsets in sense-number order, so ``car.n.01`` is the first offset.
"""

from __future__ import annotations

import dataclasses
import os

from gigjax.errors import GigjaxError

DEFAULT_DIR = "/usr/share/wordnet"
_HYPONYM_POINTERS = ("~", "~i")


@dataclasses.dataclass(frozen=True)
class Synset:
    """One noun synset: ``wnid`` (``"n########"``), its lemmas (spaces, not underscores), gloss,
    and the wnids of its direct hyponyms."""

    wnid: str
    lemmas: tuple[str, ...]
    gloss: str
    hyponyms: tuple[str, ...]


def _parse_data_line(line: str) -> Synset:
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, w_cnt = fields[0], int(fields[3], 16)
    lemmas = tuple(fields[4 + 2 * i].replace("_", " ") for i in range(w_cnt))
    pos = 4 + 2 * w_cnt
    p_cnt = int(fields[pos])
    pointers = [fields[pos + 1 + 4 * i: pos + 5 + 4 * i] for i in range(p_cnt)]
    hyponyms = tuple("n" + target for symbol, target, kind, _ in pointers
                     if symbol in _HYPONYM_POINTERS and kind == "n")
    return Synset("n" + offset, lemmas, gloss.strip(), hyponyms)


class WordNet:
    """The noun hierarchy of a WordNet 3.0 database folder.

    Args:
      folder: the folder holding ``data.noun`` and ``index.noun``.

    Raises:
      GigjaxError: the files are missing.
    """

    def __init__(self, folder: str = DEFAULT_DIR):
        data, index = os.path.join(folder, "data.noun"), os.path.join(folder, "index.noun")
        for path in (data, index):
            if not os.path.isfile(path):
                raise GigjaxError(f"{path}: no WordNet 3.0 noun database here (apt-get install wordnet-base "
                                  f"gives /usr/share/wordnet)")
        self.synsets: dict[str, Synset] = {}
        with open(data, encoding="utf-8") as f:
            for line in f:
                if not line.startswith(" "):  # the licence header lines start with two spaces
                    s = _parse_data_line(line)
                    self.synsets[s.wnid] = s
        self.senses: dict[str, tuple[str, ...]] = {}
        with open(index, encoding="utf-8") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                fields = line.split()
                synset_cnt, p_cnt = int(fields[2]), int(fields[3])
                offsets = fields[4 + p_cnt + 2:]
                if len(offsets) != synset_cnt:
                    raise GigjaxError(f"{index}: malformed line for {fields[0]!r}")
                self.senses[fields[0]] = tuple("n" + o for o in offsets)

    def synset(self, name: str) -> Synset:
        """``"car.n.01"`` (lemma.n.sense, NLTK style) or a wnid ``"n02958343"`` → its :class:`Synset`."""
        if name in self.synsets:
            return self.synsets[name]
        lemma, pos, sense = (name.rsplit(".", 2) + ["", ""])[:3] if name.count(".") >= 2 else (name, "", "")
        offsets = self.senses.get(lemma.lower().replace(" ", "_"), ())
        if pos != "n" or not sense.isdigit() or not 1 <= int(sense) <= len(offsets):
            raise GigjaxError(f"unknown WordNet noun synset {name!r}")
        return self.synsets[offsets[int(sense) - 1]]

    def hyponym_closure(self, name: str) -> set[str]:
        """The wnids of ``name`` and of all its (instance) hyponyms, transitively."""
        seen, stack = set(), [self.synset(name).wnid]
        while stack:
            wnid = stack.pop()
            if wnid not in seen:
                seen.add(wnid)
                stack.extend(self.synsets[wnid].hyponyms)
        return seen
