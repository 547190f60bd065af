#!/usr/bin/python3
"""Generates models/text/unicode_tables.cpp: the Unicode data the tokenizer needs (developer tool).

Source: the Unicode Character Database as Debian's `unicode-data` package installs it (/usr/share/unicode; the
version is read from its files and written into the output). Tables:
  - letters (general category L*), numbers (N*) and White_Space, as sorted code-point ranges: the classes of the
    byte-level pre-tokeniser's split pattern (\\p{L}, \\p{N}, \\s);
  - canonical combining classes, full canonical decompositions, and the primary composites (pairs whose
    composition is not excluded: Full_Composition_Exclusion): what NFC and NFD need besides the Hangul arithmetic;
  - full lowercase mappings (SpecialCasing's unconditional ones, else UnicodeData's simple one): what BERT's
    normaliser does per character;
  - BERT's character classes as the `tokenizers` library sees them: control/format/private-use (Cc, Cf, Co; removed
    by its "clean text"), nonspacing marks (Mn; removed after NFD when accents are stripped) and punctuation (P*;
    split off by its pre-tokeniser). That library classifies with a Rust crate built from Unicode 8.0's data, so these
    three tables hold the code points assigned by 8.0 (DerivedAge.txt) with their 8.0 categories: today's category,
    except for the six code points whose category changed since (kCategoryIn8 below). With --check-tokenizers (needs
    the `tokenizers` package) every code point is run through the library and compared with the tables.
Also writes tests/data/text/nfc_conformance.txt: Parts 0, 2 and 3 of the official NormalizationTest.txt and every
10th line of Part 1, as "source;NFC" lines of hex code points.
Usage: /usr/bin/python3 scripts/make_unicode_tables.py [--ucd /usr/share/unicode]
"""
import argparse
import bz2
import os
import re


def ranges(cps):
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def parse_unicode_data(path):
    """code point -> (category, ccc, decomposition string); ranges (First/Last) expanded."""
    data = {}
    first = None
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            cp = int(fields[0], 16)
            name, cat, ccc, decomp = fields[1], fields[2], int(fields[3]), fields[5]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                for c in range(first, cp + 1):
                    data[c] = (cat, ccc, "")
                continue
            data[cp] = (cat, ccc, decomp)
    return data


def prop_set(path, prop):
    cps = set()
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            rng, name = [x.strip() for x in line.split(";")[:2]]
            if name != prop:
                continue
            a, _, b = rng.partition("..")
            cps.update(range(int(a, 16), int(b or a, 16) + 1))
    return cps


# Code points whose general category changed between Unicode 8.0 and today's data (UCD change history).
kCategoryIn8 = {
    0x166D: "Po",   # CANADIAN SYLLABICS CHI SIGN: So since 12.0
    0x1734: "Mn",   # HANUNOO SIGN PAMUDPOD: Mc since 14.0
    0x1885: "Lo",   # MONGOLIAN LETTER ALI GALI BALUDA: Mn since 9.0
    0x1886: "Lo",   # MONGOLIAN LETTER ALI GALI THREE BALUDA: Mn since 9.0
    0xA9BD: "Mc",   # JAVANESE CONSONANT SIGN KERET: Mn since 12.0
    0x111C9: "Po",  # SHARADA SANDHI MARK: Mn since 11.0
}


def ages(path):
    """code point -> (major, minor) of the version that assigned it."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            rng, v = [x.strip() for x in line.split(";")[:2]]
            a, _, b = rng.partition("..")
            major, minor = (int(x) for x in v.split(".")[:2])
            for c in range(int(a, 16), int(b or a, 16) + 1):
                out[c] = (major, minor)
    return out


def lowercase_mappings(data_path, special_path):
    """code point -> its full lowercase mapping, for every code point that changes."""
    out = {}
    with open(data_path) as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if fields[13]:
                out[int(fields[0], 16)] = [int(fields[13], 16)]
    with open(special_path) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(";")]
            if fields[4]:  # a condition (language or context): not applied per character
                continue
            cp, lower = int(fields[0], 16), [int(x, 16) for x in fields[1].split()]
            if lower != [cp]:
                out[cp] = lower
            else:
                out.pop(cp, None)
    return out


def check_tokenizers(control, marks, punct, lower):  # noqa: C901
    """Runs every code point through the `tokenizers` library's BERT normaliser and pre-tokeniser."""
    import unicodedata
    from tokenizers import normalizers, pre_tokenizers
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                       lowercase=False)
    low = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    bad = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        removed = clean.normalize_str(ch) == ""
        if removed != (cp in control or cp == 0xFFFD):
            bad.append(f"U+{cp:04X} control")
        # NFD by Python's own tables, so only for what they know
        # U+11938 is the one code point the library's NFD leaves whole (Unicode decomposes it); models/text/unicode.h
        # has tokenizers_nfd for that
        if unicodedata.category(ch) != "Cn" and cp != 0x11938:
            kept = "".join(x for x in unicodedata.normalize("NFD", ch) if ord(x) not in marks)
            if strip.normalize_str(ch) != kept:
                bad.append(f"U+{cp:04X} mark")
        if cp not in control and not ch.isspace() and cp not in (0, 0xFFFD):
            split = len(pre.pre_tokenize_str("a" + ch + "a")) == 3
            if split != (cp in punct or (cp < 0x80 and not ch.isalnum() and ch.isprintable() and ch != " ")):
                bad.append(f"U+{cp:04X} punctuation")
        if low.normalize_str(ch) != "".join(chr(x) for x in lower.get(cp, [cp])):
            bad.append(f"U+{cp:04X} lowercase")
    print(f"tokenizers check: {len(bad)} disagreements" + (": " + ", ".join(bad[:20]) if bad else ""))
    return not bad


def version_of(ucd):
    with open(os.path.join(ucd, "DerivedAge.txt")) as f:
        m = re.search(r"DerivedAge-(\d+\.\d+\.\d+)\.txt", f.read(400))
    return m.group(1)


def emit_ranges(name, rs):
    body = ",\n".join(", ".join(f"{{0x{a:X}, 0x{b:X}}}" for a, b in rs[i:i + 6]) for i in range(0, len(rs), 6))
    return f"const CodeRange {name}[] = {{\n{body}}};\nconst size_t {name}Count = {len(rs)};\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("--out", default="models/text/unicode_tables.cpp")
    ap.add_argument("--conformance", default="tests/data/text/nfc_conformance.txt")
    ap.add_argument("--check-tokenizers", action="store_true")
    args = ap.parse_args()
    version = version_of(args.ucd)
    data = parse_unicode_data(os.path.join(args.ucd, "UnicodeData.txt"))
    letters = ranges(c for c, (cat, _, _) in data.items() if cat.startswith("L"))
    numbers = ranges(c for c, (cat, _, _) in data.items() if cat.startswith("N"))
    space = ranges(prop_set(os.path.join(args.ucd, "PropList.txt"), "White_Space"))
    ccc = [(c, v[1]) for c, v in sorted(data.items()) if v[1] != 0]
    ccc_ranges = []
    for c, v in ccc:
        if ccc_ranges and ccc_ranges[-1][1] == c - 1 and ccc_ranges[-1][2] == v:
            ccc_ranges[-1][1] = c
        else:
            ccc_ranges.append([c, c, v])
    canon = {c: [int(x, 16) for x in v[2].split()] for c, v in data.items() if v[2] and not v[2].startswith("<")}

    def full(c):
        return [y for x in canon[c] for y in (full(x) if x in canon else [x])]

    decomp = {c: full(c) for c in canon}
    excluded = prop_set(os.path.join(args.ucd, "DerivedNormalizationProps.txt"), "Full_Composition_Exclusion")
    compose = sorted((canon[c][0], canon[c][1], c) for c in canon if len(canon[c]) == 2 and c not in excluded)

    age = ages(os.path.join(args.ucd, "DerivedAge.txt"))
    cat8 = {c: kCategoryIn8.get(c, v[0]) for c, v in data.items() if age.get(c, (99, 0)) <= (8, 0)}
    control = ranges(c for c, k in cat8.items() if k in ("Cc", "Cf", "Co") and c not in (9, 10, 13))
    marks = ranges(c for c, k in cat8.items() if k == "Mn")
    punct = ranges(c for c, k in cat8.items() if k.startswith("P"))
    lower = lowercase_mappings(os.path.join(args.ucd, "UnicodeData.txt"), os.path.join(args.ucd, "SpecialCasing.txt"))
    if args.check_tokenizers:
        expand = lambda rs: {c for a, b in rs for c in range(a, b + 1)}
        if not check_tokenizers(expand(control), expand(marks), expand(punct), lower):
            raise SystemExit(1)

    flat, index = [], []
    for c in sorted(decomp):
        index.append((c, len(flat), len(decomp[c])))
        flat.extend(decomp[c])
    assert max(len(v) for v in decomp.values()) < 256 and len(flat) < 65536

    out = [f"// Generated by scripts/make_unicode_tables.py from the Unicode Character Database {version}",
           "// (Debian's unicode-data package). Do not edit.", '#include "models/text/unicode_tables.h"', "",
           "namespace ha::text::tables {", "",
           f'const char* const kUnicodeVersion = "{version}";', "",
           emit_ranges("kLetters", letters), emit_ranges("kNumbers", numbers), emit_ranges("kWhiteSpace", space)]
    body = ",\n".join(", ".join(f"{{0x{a:X}, 0x{b:X}, {v}}}" for a, b, v in ccc_ranges[i:i + 5])
                      for i in range(0, len(ccc_ranges), 5))
    out.append(f"const CombiningRange kCombining[] = {{\n{body}}};\nconst size_t kCombiningCount = {len(ccc_ranges)};\n")
    body = ",\n".join(", ".join(f"{{0x{c:X}, {o}, {n}}}" for c, o, n in index[i:i + 5]) for i in range(0, len(index), 5))
    out.append(f"const Decomposition kDecompositions[] = {{\n{body}}};\n"
               f"const size_t kDecompositionCount = {len(index)};\n")
    body = ",\n".join(", ".join(f"0x{x:X}" for x in flat[i:i + 10]) for i in range(0, len(flat), 10))
    out.append(f"const uint32_t kDecompositionCodes[] = {{\n{body}}};\n")
    body = ",\n".join(", ".join(f"{{0x{a:X}, 0x{b:X}, 0x{c:X}}}" for a, b, c in compose[i:i + 4])
                      for i in range(0, len(compose), 4))
    out.append(f"const Composition kCompositions[] = {{\n{body}}};\nconst size_t kCompositionCount = {len(compose)};\n")
    out += [emit_ranges("kBertControl", control), emit_ranges("kBertMarks", marks),
            emit_ranges("kBertPunctuation", punct)]
    low_flat, low_index = [], []
    for c in sorted(lower):
        low_index.append((c, len(low_flat), len(lower[c])))
        low_flat.extend(lower[c])
    body = ",\n".join(", ".join(f"{{0x{c:X}, {o}, {n}}}" for c, o, n in low_index[i:i + 5])
                      for i in range(0, len(low_index), 5))
    out.append(f"const Mapping kLowercase[] = {{\n{body}}};\nconst size_t kLowercaseCount = {len(low_index)};\n")
    body = ",\n".join(", ".join(f"0x{x:X}" for x in low_flat[i:i + 10]) for i in range(0, len(low_flat), 10))
    out.append(f"const uint32_t kLowercaseCodes[] = {{\n{body}}};\n")
    out.append("}  // namespace ha::text::tables\n")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(out))

    lines, part = [], None
    with bz2.open(os.path.join(args.ucd, "NormalizationTest.txt.bz2"), "rt") as f:
        n1 = 0
        for line in f:
            if line.startswith("@Part"):
                part = line.split()[0]
                continue
            line = line.split("#")[0].strip()
            if not line or line.startswith("@"):
                continue
            cols = line.split(";")
            if part == "@Part1":
                n1 += 1
                if n1 % 10:
                    continue
            lines.append(f"{cols[0]};{cols[1]}")
    os.makedirs(os.path.dirname(args.conformance), exist_ok=True)
    with open(args.conformance, "w") as f:
        f.write(f"# NFC conformance cases from NormalizationTest.txt, Unicode {version} (Parts 0, 2, 3 and every\n"
                f"# 10th line of Part 1), written by scripts/make_unicode_tables.py: source;NFC(source)\n")
        f.write("\n".join(lines) + "\n")
    print(f"Unicode {version}: {len(letters)} letter, {len(numbers)} number, {len(space)} space ranges; "
          f"{len(ccc_ranges)} combining ranges; {len(index)} decompositions; {len(compose)} compositions; "
          f"{len(lower)} lowercase mappings; BERT classes {len(control)}/{len(marks)}/{len(punct)} ranges; "
          f"{len(lines)} conformance lines")


if __name__ == "__main__":
    main()
