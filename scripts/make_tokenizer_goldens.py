#!/usr/bin/env python3
"""Writes the tokenizer test files (developer tool; the `tokenizers` library from PyPI, in .venv-peers).

The released Mamba language models use GPT-NeoX's tokenizer.json, which cannot be downloaded here. So we train
byte-level BPE tokenizers locally with `tokenizers` in NeoX's configuration (NFC normaliser, ByteLevel
pre-tokeniser with its split pattern and no prefix space, ByteLevel decoder, <|endoftext|> and <|padding|>
special tokens, and the whitespace runs of 2..24 spaces NeoX adds as normalised added tokens), on text in many
scripts, and record what the library gives:
  tests/data/text/neox_style.json     the tokenizer (vocabulary 1,200), merges written as "a b" strings
  tests/data/text/neox_pairs.json     the same tokenizer saved with merges as [a, b] pairs (newer files)
  tests/data/text/goldens.jsonl       one line per case: {"text", "ids", "tokens", "decoded"}; texts in Latin with
                                      accents (precomposed and decomposed: NFC), CJK, Hangul jamo, emoji sequences,
                                      digits, whitespace runs, contractions, added tokens inside text, ...
  tests/data/text/decode.jsonl        {"ids", "decoded"}: random id sequences, whose bytes are often not UTF-8
BERT's WordPiece the same way (BertNormalizer, BertPreTokenizer, WordPiece model and decoder), in three
configurations, and the same cases plus BERT's own hostile ones (controls, U+FFFD, marks, special casing, the
characters whose class changed since Unicode 8.0, words longer than the per-word limit, special tokens in text):
  tests/data/text/bert_uncased.json   lowercase, accents stripped, CJK spaced; TemplateProcessing [CLS] $A [SEP]
  tests/data/text/bert_cased.json     cased, accents kept, CJK not spaced, BertProcessing, 12 characters per word
  tests/data/text/bert_vocab/         the uncased vocabulary as vocab.txt + tokenizer_config.json (as older BERT
                                      checkpoints ship it); its goldens come from transformers' BertTokenizerFast
  tests/data/text/bert_goldens.jsonl  {"tokenizer", "text", "ids", "tokens", "decoded"}
Usage: .venv-peers/bin/python scripts/make_tokenizer_goldens.py [--out tests/data/text]
"""
import argparse
import json
import os
import random

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

CASES = [
    "Hello, world! This is a test.",
    "The quick brown fox jumps over the lazy dog 1234567890 times.",
    "don't you're we've they'll I'm she'd it's DON'T YOU'RE 'S 'tis",
    "Café naïve résumé coöperate Ångström façade jalapeño",
    "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030angstro\u0308m",  # decomposed: NFC composes them
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af",  # Hangul jamo: NFC makes syllables
    "한국어 텍스트와 日本語のテキスト、中文文本。",
    "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✨",
    "Numbers: ٣٤٥ ১২৩ ⅣⅨ ½ ² 3.14159 1,000,000",
    "Русский текст, Ελληνικά, עברית, العربية, हिन्दी, ไทย",
    "  leading spaces and trailing spaces   ",
    "tabs\tand\nnew\nlines\r\n\r\nand   many     spaces      here",
    "a  b   c    d                         e",
    "mixed \u00a0nbsp\u3000ideographic\u2003em \u0085next-line \u001cfile-separator",
    "x<|endoftext|>y <|endoftext|> <|padding|>z",
    "code: def f(x):\n    return x ** 2  # comment\n\n",
    "URLs https://example.com/a?b=c&d=e and emails someone@example.org",
    "Zero\u200bwidth\u200djoiner\u200cnon-joiner",
    "Math ∑∫√∞≠≤≥ ∀x∈ℝ: x²≥0; arrows →⇒↔",
    "Ligatures ﬁ ﬂ and fullwidth ＡＢＣ１２３ (NFC keeps them)",
    "Ω\u2126 K\u212a Å\u212b",  # singletons: NFC maps OHM, KELVIN, ANGSTROM signs
    "",
    " ",
    "\n\n\n",
    "'",
    "''s",
    "1 22 333 4444 55555",
    "end with space ",
]

CORPUS_EXTRA = [
    "The history of the Mamba architecture begins with state space models.",
    "Les modèles de langue apprennent à prédire le mot suivant dans une phrase.",
    "Die Katze schläft auf dem Sofa, während draußen die Sonne scheint.",
    "El niño comió una manzana y después jugó al fútbol con sus amigos.",
    "機械学習は人工知能の一分野です。深層学習はその中でも重要です。",
    "자연어 처리는 컴퓨터 과학의 한 분야입니다.",
    "Москва — столица России, крупнейший город страны.",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
    "def forward(self, x):\n        return self.proj(x) + x\n",
    "    for i in range(10):\n        print(i, i * i)\n",
]


BERT_CASES = [
    "NUL\x00here repl\ufffdchar vt\x0bff\x0cnel\x85 zw\u200bsp bidi\u202eover private\ue000use",
    "İstanbul Straße ΣΟΦΟΣ ǅemal ﬁnance",
    "Ñandú CAFÉ Crème brûlée ØRESUND Łódź",
    "\u0301leading mark and e\u0301\u0323 stacked",
    "[CLS] inside [SEP] and [unk] [MASK][PAD]x",
    "a中b日本語한국어テスト㐀𠀀",
    "«quotes» — dash… ¿qué? ¡sí! (brackets) [x] {y} 「z」",
    "class quirks: ᙭ 𑇉 ᢅᢆ ᜴ ꦽ 𑤸",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "don't I'm you're we've it's, x . y ? z !",
    "$5.00 + 3 = 8; 50% ^caret ~tilde `back` |pipe| <lt> =eq",
]


def corpus(extra=()):
    rnd = random.Random(0)
    lines = CASES + CORPUS_EXTRA + list(extra)
    for _ in range(200):
        yield " ".join(rnd.sample(lines, 3))


def build(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    tok.add_tokens([AddedToken(" " * n, normalized=True) for n in range(24, 1, -1)])
    return tok


def build_bert(lowercase, strip_accents, chinese, template, max_chars):
    from tokenizers.trainers import WordPieceTrainer
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=max_chars))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=chinese,
                                                strip_accents=strip_accents, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = WordPieceTrainer(vocab_size=900, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(corpus(BERT_CASES), trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if template:
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                           special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    else:
        tok.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    return tok


def write_bert(out):
    from transformers import BertTokenizerFast
    cases = CASES + BERT_CASES
    rows = []
    configs = {"bert_uncased.json": dict(lowercase=True, strip_accents=None, chinese=True, template=True,
                                          max_chars=100),
               "bert_cased.json": dict(lowercase=False, strip_accents=False, chinese=False, template=False,
                                       max_chars=12)}
    for name, cfg in configs.items():
        tok = build_bert(**cfg)
        tok.save(os.path.join(out, name))
        tok = Tokenizer.from_file(os.path.join(out, name))
        for text in cases:
            enc = tok.encode(text)
            rows.append({"tokenizer": name, "text": text, "ids": enc.ids, "tokens": enc.tokens,
                         "decoded": tok.decode(enc.ids, skip_special_tokens=False)})
        if name == "bert_uncased.json":
            vocab_dir = os.path.join(out, "bert_vocab")
            os.makedirs(vocab_dir, exist_ok=True)
            inv = {i: t for t, i in tok.get_vocab(with_added_tokens=True).items()}
            with open(os.path.join(vocab_dir, "vocab.txt"), "w") as f:
                f.write("".join(inv[i] + "\n" for i in range(len(inv))))
            with open(os.path.join(vocab_dir, "tokenizer_config.json"), "w") as f:
                json.dump({"do_lower_case": True, "tokenize_chinese_chars": True, "strip_accents": None,
                           "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                           "mask_token": "[MASK]", "tokenizer_class": "BertTokenizer"}, f, indent=1)
            fast = BertTokenizerFast(vocab_file=os.path.join(vocab_dir, "vocab.txt"), do_lower_case=True)
            for text in cases:
                ids = fast(text)["input_ids"]
                rows.append({"tokenizer": "bert_vocab/vocab.txt", "text": text, "ids": ids,
                             "tokens": fast.convert_ids_to_tokens(ids),
                             "decoded": fast.backend_tokenizer.decode(ids, skip_special_tokens=False)})
    with open(os.path.join(out, "bert_goldens.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/text")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tok = build(1200)
    path = os.path.join(args.out, "neox_style.json")
    tok.save(path)
    spec = json.load(open(path))
    merges = spec["model"]["merges"]
    # the same tokenizer in both merge spellings: "a b" strings (NeoX's file) and [a, b] pairs (newer files)
    if merges and isinstance(merges[0], list):
        spec["model"]["merges"] = [" ".join(m) for m in merges]
        json.dump(spec, open(path, "w"), ensure_ascii=False)
    pairs = json.loads(json.dumps(spec))
    pairs["model"]["merges"] = [m.split(" ") for m in spec["model"]["merges"]]
    json.dump(pairs, open(os.path.join(args.out, "neox_pairs.json"), "w"), ensure_ascii=False)
    tok = Tokenizer.from_file(path)
    with open(os.path.join(args.out, "goldens.jsonl"), "w") as f:
        for text in CASES:
            enc = tok.encode(text)
            decoded = tok.decode(enc.ids, skip_special_tokens=False)
            f.write(json.dumps({"text": text, "ids": enc.ids, "tokens": enc.tokens, "decoded": decoded},
                               ensure_ascii=False) + "\n")
    rnd = random.Random(1)
    n = tok.get_vocab_size(with_added_tokens=True)
    with open(os.path.join(args.out, "decode.jsonl"), "w") as f:
        for _ in range(60):
            ids = [rnd.randrange(n) for _ in range(rnd.randrange(1, 8))]
            f.write(json.dumps({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)},
                               ensure_ascii=False) + "\n")
    print(f"wrote {args.out}: vocabulary {n}, {len(CASES)} encode cases, 60 decode cases")
    print(f"wrote {write_bert(args.out)} WordPiece cases")


if __name__ == "__main__":
    main()
